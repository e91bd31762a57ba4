-- Foreign keys that reference $1 (or a partitioned table it belongs to), with their effective
-- ON DELETE rule: the DBA's override from softdelete.foreign_key_overrides, else the declared one.
SELECT con.conname::text,
       con.conrelid,
       pg_catalog.format('%I.%I', n.nspname, c.relname),
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.position),
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
              ORDER BY k.position),
       coalesce(o.on_delete,
                CASE con.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                                     WHEN 'd' THEN 'set default' WHEN 'r' THEN 'restrict'
                                     ELSE 'no action' END),
       CASE con.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                            WHEN 'd' THEN 'set default' WHEN 'r' THEN 'restrict'
                            ELSE 'no action' END,
       c.relowner,
       con.condeferred,
       {set_columns}
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN softdelete.foreign_key_overrides o
       ON o.child_table = con.conrelid::pg_catalog.regclass AND o.constraint_name = con.conname
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND (con.confrelid = $1 OR con.confrelid IN (SELECT relid FROM pg_catalog.pg_partition_ancestors($1)))
ORDER BY con.conname, con.conrelid
