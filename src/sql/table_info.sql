SELECT c.relkind::text,
       c.relpersistence::text,
       n.nspname::text,
       c.relispartition,
       c.relrowsecurity,
       c.relforcerowsecurity,
       EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = $1
