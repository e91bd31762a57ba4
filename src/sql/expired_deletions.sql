-- Deletions whose rows are past their table's retention window, oldest first, skipping held
-- deletions and deletions with a held row. $1: the maximum number of deletions.
SELECT e.deletion_id
FROM softdelete.events e
JOIN softdelete.managed_tables m ON m.relid = pg_catalog.to_regclass(e.table_name)
WHERE e.operation = 'delete'
  AND m.retention IS NOT NULL
  AND e.occurred_at < pg_catalog.now() - m.retention
  AND NOT EXISTS (SELECT FROM softdelete.legal_holds h WHERE h.deletion_id = e.deletion_id)
  AND NOT EXISTS (SELECT FROM softdelete.legal_holds h
                   JOIN softdelete.events d ON d.table_name = h.table_name AND d.key = h.key
                  WHERE d.deletion_id = e.deletion_id AND d.operation = 'delete')
  AND NOT EXISTS (SELECT FROM softdelete.events x
                   WHERE x.deletion_id = e.deletion_id AND x.operation IN ('restore', 'purge'))
GROUP BY e.deletion_id
ORDER BY min(e.occurred_at), e.deletion_id
LIMIT $1
