-- Schema, table, column, constraint and index names that need quoting, through every function of the extension.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA quoting;
CREATE SCHEMA "Odd Schema";
SET search_path = quoting, public;
-- The NOTICEs of restore() name the deletion id, which comes from a sequence that all test
-- files share. Starting the sequence at a fixed value keeps the ids the same whatever ran before.
SELECT setval('softdelete.deletion_seq', 3000) AS deletion_seq_start \gset

-- A single-column key "Id" and a unique column whose name and constraint name contain
-- double quotes, a hyphen and a semicolon.
CREATE TABLE "Odd Schema"."Weird ""name""" (
    "Id" int PRIMARY KEY,
    "E-mail ""primary""" text NOT NULL CONSTRAINT "uniq ""mail"";" UNIQUE
);
-- A composite key over a text and an int column, and a unique index with an odd name.
CREATE TABLE "Odd Schema"."semi;colon 'quote" (
    "Part A" text,
    "part;b" int,
    "Nick Name" text NOT NULL,
    PRIMARY KEY ("Part A", "part;b")
);
CREATE UNIQUE INDEX "nick 'idx'; --" ON "Odd Schema"."semi;colon 'quote" ("Nick Name");

SELECT softdelete.enable('"Odd Schema"."Weird ""name"""');
SELECT softdelete.enable('"Odd Schema"."semi;colon ''quote"');
SELECT relid FROM softdelete.managed_tables
WHERE relid IN ('"Odd Schema"."Weird ""name"""'::regclass, '"Odd Schema"."semi;colon ''quote"'::regclass)
ORDER BY relid::text;
SELECT indexrelid::regclass AS index_name, pg_get_expr(indpred, indrelid) AS predicate
FROM pg_index
WHERE indrelid IN ('"Odd Schema"."Weird ""name"""'::regclass, '"Odd Schema"."semi;colon ''quote"'::regclass)
ORDER BY indexrelid::regclass::text;

INSERT INTO "Odd Schema"."Weird ""name""" VALUES (1, 'a@example.test'), (2, 'b@example.test'), (3, 'c@example.test');
INSERT INTO "Odd Schema"."semi;colon 'quote" VALUES ('x''y', 1, 'Ann'), ('x''y', 2, 'Bob'), ('z;', 1, 'Cy');

-- DELETE marks the rows. Each row is deleted by a statement of its own, because restore()
-- brings back every row of the statement that deleted the row it is given.
DELETE FROM "Odd Schema"."Weird ""name""" WHERE "Id" = 1 RETURNING "Id", deleted_at IS NOT NULL AS deleted;
DELETE FROM "Odd Schema"."Weird ""name""" WHERE "E-mail ""primary""" = 'b@example.test';
DELETE FROM "Odd Schema"."semi;colon 'quote" WHERE "Nick Name" = 'Ann' RETURNING "Part A", "part;b";
DELETE FROM "Odd Schema"."semi;colon 'quote" WHERE "Part A" = 'z;';

-- The unique indexes over active rows let deleted values be reused.
INSERT INTO "Odd Schema"."Weird ""name""" VALUES (4, 'a@example.test');
INSERT INTO "Odd Schema"."Weird ""name""" VALUES (5, 'a@example.test');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO "Odd Schema"."Weird ""name""" VALUES (5, 'a@example.test')
    ON CONFLICT ("E-mail ""primary""") DO NOTHING;
INSERT INTO "Odd Schema"."semi;colon 'quote" VALUES ('new', 1, 'Ann');

-- restore() and purge() find rows by keys in every form.
SELECT softdelete.restore('"Odd Schema"."Weird ""name"""', 2);
SELECT softdelete.purge('"Odd Schema"."Weird ""name"""', '{"Id": 1}'::jsonb);
SELECT softdelete.restore('"Odd Schema"."semi;colon ''quote"', '{"Part A": "z;", "part;b": 1}'::jsonb);
SELECT softdelete.purge('"Odd Schema"."semi;colon ''quote"', ROW('x''y'::text, 1));
-- Restoring row 1 now fails (P0002) because it was purged.
SELECT softdelete.restore('"Odd Schema"."Weird ""name"""', 1);
\echo :LAST_ERROR_SQLSTATE

SELECT "Id", "E-mail ""primary""", deleted_at IS NOT NULL AS deleted FROM "Odd Schema"."Weird ""name""" ORDER BY "Id";
SELECT "Part A", "part;b", "Nick Name", deleted_at IS NOT NULL AS deleted
FROM "Odd Schema"."semi;colon 'quote" ORDER BY 1, 2;

-- Events name the table as a quoted, schema-qualified name and key the row by column names.
SELECT operation, table_name, key FROM softdelete.events
WHERE table_name LIKE '"Odd Schema".%'
ORDER BY event_id;
SELECT table_name, active_rows, deleted_rows FROM softdelete.tables
WHERE table_name IN ('"Odd Schema"."Weird ""name"""'::regclass, '"Odd Schema"."semi;colon ''quote"'::regclass)
ORDER BY table_name::text;

-- The event trigger finds the table of a policy by its quoted name: a permissive policy of the
-- owner replaces softdelete_allow, and dropping it brings softdelete_allow back.
CREATE POLICY "nick ""policy""" ON "Odd Schema"."semi;colon 'quote" USING ("Nick Name" <> '');
SELECT polname FROM pg_policy WHERE polrelid = '"Odd Schema"."semi;colon ''quote"'::regclass ORDER BY 1;
DROP POLICY "nick ""policy""" ON "Odd Schema"."semi;colon 'quote";
SELECT polname FROM pg_policy WHERE polrelid = '"Odd Schema"."semi;colon ''quote"'::regclass ORDER BY 1;

-- TRUNCATE is rejected, and its message quotes the table name.
TRUNCATE "Odd Schema"."Weird ""name""";
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM "Odd Schema"."Weird ""name""";

-- purge() of an active row is rejected. Its key is given here as a text array.
SELECT softdelete.purge('"Odd Schema"."semi;colon ''quote"', ARRAY['x''y', '2']);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM "Odd Schema"."semi;colon 'quote" WHERE "Part A" = 'x''y' AND "part;b" = 2;

-- disable() puts the odd constraint and index names back.
SELECT softdelete.disable('"Odd Schema"."Weird ""name"""', drop_columns => true);
SELECT softdelete.disable('"Odd Schema"."semi;colon ''quote"');
SELECT conrelid::regclass AS table_name, conname, contype FROM pg_constraint
WHERE connamespace = '"Odd Schema"'::regnamespace
ORDER BY conrelid::regclass::text, conname;
SELECT indexrelid::regclass AS index_name, pg_get_expr(indpred, indrelid) AS predicate
FROM pg_index
WHERE indrelid IN ('"Odd Schema"."Weird ""name"""'::regclass, '"Odd Schema"."semi;colon ''quote"'::regclass)
ORDER BY indexrelid::regclass::text;
SELECT attrelid::regclass AS table_name, attname FROM pg_attribute
WHERE attrelid IN ('"Odd Schema"."Weird ""name"""'::regclass, '"Odd Schema"."semi;colon ''quote"'::regclass)
  AND attnum > 0 AND NOT attisdropped
ORDER BY attrelid::regclass::text, attnum;
SELECT count(*) AS managed FROM softdelete.managed_tables WHERE relid::text LIKE '"Odd Schema".%';

DROP SCHEMA "Odd Schema" CASCADE;
DROP SCHEMA quoting CASCADE;
