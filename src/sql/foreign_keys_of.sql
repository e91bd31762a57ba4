-- Foreign keys declared on $1 (or a partitioned table it belongs to) whose referenced table
-- is managed, with the referenced table's name.
SELECT con.conname::text,
       con.confrelid,
       pg_catalog.format('%I.%I', n.nspname, c.relname),
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.position),
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
              ORDER BY k.position)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.confrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND (con.conrelid = $1 OR con.conrelid IN (SELECT relid FROM pg_catalog.pg_partition_ancestors($1)))
ORDER BY con.conname
