-- Deletions past their root table's retention window that still have soft-deleted rows,
-- oldest first, skipping held deletions and deletions with a held row. $1: the maximum number
-- of deletions; $2: deletions to skip.
SELECT d.deletion_id
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
  AND NOT (d.deletion_id = ANY ($2))
  AND m.retention IS NOT NULL
  AND d.deleted_at < pg_catalog.now() - m.retention
  AND NOT EXISTS (SELECT FROM softdelete.legal_holds h WHERE h.deletion_id = d.deletion_id)
  AND NOT EXISTS (SELECT FROM softdelete.legal_holds h
                   JOIN softdelete.events x ON x.table_name = h.table_name AND x.key = h.key
                  WHERE x.deletion_id = d.deletion_id AND x.operation = 'delete')
ORDER BY d.deleted_at, d.deletion_id
LIMIT $1
