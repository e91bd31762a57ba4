-- Deletions past their root table's retention window that still have soft-deleted rows, with
-- the number of those rows, the time retention made them purgeable and whether a legal hold
-- keeps them.
SELECT d.deletion_id,
       d.root_table,
       d.rows_left,
       d.deleted_at + m.retention,
       EXISTS (SELECT FROM softdelete.legal_holds h WHERE h.deletion_id = d.deletion_id)
         OR EXISTS (SELECT FROM softdelete.legal_holds h
                     JOIN softdelete.events x ON x.table_name = h.table_name AND x.key = h.key
                    WHERE x.deletion_id = d.deletion_id AND x.operation = 'delete')
FROM (
    SELECT e.deletion_id,
           min(e.occurred_at) FILTER (WHERE e.operation = 'delete') AS deleted_at,
           (array_agg(e.table_name ORDER BY e.event_id)
                FILTER (WHERE e.operation = 'delete' AND e.via_constraint IS NULL))[1] AS root_table,
           count(*) FILTER (WHERE e.operation = 'delete')
             - count(*) FILTER (WHERE e.operation IN ('restore', 'purge')) AS rows_left
    FROM softdelete.events e
    WHERE e.deletion_id IS NOT NULL AND e.operation IN ('delete', 'restore', 'purge')
    GROUP BY e.deletion_id
) d
JOIN softdelete.managed_tables m ON m.table_name = d.root_table
WHERE d.rows_left > 0
  AND m.retention IS NOT NULL
  AND d.deleted_at < pg_catalog.now() - m.retention
ORDER BY d.deleted_at, d.deletion_id
