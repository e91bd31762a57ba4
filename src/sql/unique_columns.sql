-- Unique indexes of $1 other than the primary key whose keys are plain columns, with those
-- columns in index order.
SELECT ic.relname::text,
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE k.position <= i.indnkeyatts
              ORDER BY k.position)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = $1 AND i.indisunique AND NOT i.indisprimary
  AND NOT (0 = ANY (i.indkey::int2[]))
ORDER BY ic.relname
