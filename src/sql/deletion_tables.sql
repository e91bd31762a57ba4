-- Tables that deletion $1 soft-deleted rows in, parents first (their events come first).
SELECT coalesce(pg_catalog.to_regclass(e.table_name)::oid, 0::oid), e.table_name
FROM softdelete.events e
WHERE e.deletion_id = $1 AND e.operation = 'delete'
GROUP BY e.table_name
ORDER BY min(e.event_id)
