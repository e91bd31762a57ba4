-- The primary-key columns of $1 in key order: name, schema-qualified type name (for casts
-- in SQL text that must not depend on search_path), and whether the type is built in.
SELECT a.attname::text,
       pg_catalog.format('%I.%I', tn.nspname, t.typname),
       tn.nspname = 'pg_catalog'
FROM pg_catalog.pg_index i
CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
WHERE i.indrelid = $1 AND i.indisprimary
ORDER BY k.position
