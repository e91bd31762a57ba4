SELECT ic.relname::text                                   AS index_name,
       con.conname::text                                  AS constraint_name,
       coalesce(con.condeferrable, false)                 AS deferrable,
       pg_catalog.pg_get_constraintdef(con.oid)           AS constraint_definition,
       pg_catalog.pg_get_indexdef(i.indexrelid)           AS index_definition,
       i.indpred IS NOT NULL                              AS partial,
       (SELECT pg_catalog.string_agg(fk.conname::text || ' on ' || fk.conrelid::regclass::text, ', ')
          FROM pg_catalog.pg_constraint fk
         WHERE fk.contype = 'f' AND fk.conindid = i.indexrelid) AS referenced_by
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint con
       ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype = 'u'
WHERE i.indrelid = $1
  AND i.indisunique
  AND NOT i.indisprimary
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint x
                   WHERE x.conindid = i.indexrelid AND x.contype = 'x')
ORDER BY ic.relname
