-- Expired deletions with their root table, size, the time retention made them purgeable and
-- whether a legal hold keeps them.
SELECT e.deletion_id,
       (array_agg(e.table_name ORDER BY e.event_id) FILTER (WHERE e.via_constraint IS NULL))[1],
       count(*),
       min(e.occurred_at + m.retention),
       EXISTS (SELECT FROM softdelete.legal_holds h WHERE h.deletion_id = e.deletion_id)
         OR EXISTS (SELECT FROM softdelete.legal_holds h
                     JOIN softdelete.events d ON d.table_name = h.table_name AND d.key = h.key
                    WHERE d.deletion_id = e.deletion_id AND d.operation = 'delete')
FROM softdelete.events e
JOIN softdelete.managed_tables m ON m.relid = pg_catalog.to_regclass(e.table_name)
WHERE e.operation = 'delete'
  AND m.retention IS NOT NULL
  AND e.occurred_at < pg_catalog.now() - m.retention
  AND NOT EXISTS (SELECT FROM softdelete.events x
                   WHERE x.deletion_id = e.deletion_id AND x.operation IN ('restore', 'purge'))
GROUP BY e.deletion_id
ORDER BY min(e.occurred_at), e.deletion_id
