-- Deletions past their root table's retention window that still have soft-deleted rows,
-- oldest first, skipping held deletions and deletions with a held row. $1: the maximum number
-- of deletions; $2: deletions to skip.
SELECT d.deletion_id
FROM (
    -- the row events of deletes, restores and purges are all in batches
    SELECT b.deletion_id,
           min(b.occurred_at) FILTER (WHERE b.operation = 'delete') AS deleted_at,
           (array_agg(b.table_name ORDER BY b.event_id)
                FILTER (WHERE b.operation = 'delete' AND b.via_constraint IS NULL))[1] AS root_table,
           coalesce(sum(pg_catalog.cardinality(b.keys)) FILTER (WHERE b.operation = 'delete'), 0)
             - coalesce(sum(pg_catalog.cardinality(b.keys)) FILTER (WHERE b.operation IN ('restore', 'purge')), 0)
             AS rows_left
    FROM softdelete.event_batches b
    WHERE b.deletion_id IS NOT NULL
    GROUP BY b.deletion_id
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
