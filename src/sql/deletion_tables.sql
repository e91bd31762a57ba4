-- Tables that deletion $1 soft-deleted rows in, parents first (their events come first).
-- Reads the batches directly: the events view would expand every key of the deletion.
SELECT coalesce(pg_catalog.to_regclass(b.table_name)::oid, 0::oid), b.table_name
FROM softdelete.event_batches b
WHERE b.deletion_id = $1 AND b.operation = 'delete'
GROUP BY b.table_name
ORDER BY min(b.event_id)
