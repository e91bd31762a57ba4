-- softdelete.restore() and softdelete.purge(): key forms, return values, NOTICEs, unique conflicts and the events they write.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA restore_purge;
SET search_path = restore_purge, public;
-- The NOTICEs of restore() name the deletion id, which comes from a sequence that all test
-- files share. Starting the sequence at a fixed value keeps the ids the same whatever ran before.
SELECT setval('softdelete.deletion_seq', 8000) AS deletion_seq_start \gset

CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL UNIQUE);
CREATE TABLE tags (name text PRIMARY KEY);
CREATE TABLE playlist_tracks (playlist_id int, track_id int, position int NOT NULL, PRIMARY KEY (playlist_id, track_id));
CREATE TABLE labels (region text, number int, name text NOT NULL, PRIMARY KEY (region, number));
SET softdelete.notices = off;
SELECT softdelete.enable('documents');
SELECT softdelete.enable('tags');
SELECT softdelete.enable('playlist_tracks');
SELECT softdelete.enable('labels');
RESET softdelete.notices;
INSERT INTO documents VALUES (1, 'Roadmap'), (2, 'Budget'), (3, 'Hiring'), (4, 'Minutes'), (5, 'Plan A'), (6, 'Plan B');
INSERT INTO tags VALUES ('urgent'), ('later');
INSERT INTO playlist_tracks SELECT p, t, t FROM generate_series(1, 3) p, generate_series(1, 3) t;
INSERT INTO labels VALUES ('eu', 7, 'seven'), ('us', 1, 'one'), ('us', 2, 'two');

-- Returns the rows of documents with their deletion state.
CREATE FUNCTION document_states()
RETURNS TABLE (id int, title text, deleted boolean, deleted_by text, has_deletion_id boolean)
LANGUAGE sql STABLE AS $$
    SELECT id, title, deleted_at IS NOT NULL, deleted_by, deletion_id IS NOT NULL
    FROM restore_purge.documents ORDER BY id
$$;

-- Single-column keys: a plain value, a jsonb object, a one-element array. restore() returns the
-- number of rows it restored, clears all three marker columns and reports the deletion.
DELETE FROM documents WHERE id = 1;
DELETE FROM documents WHERE id = 2;
DELETE FROM documents WHERE id = 3;
SELECT softdelete.restore('documents', 1);
SELECT softdelete.restore('documents', '{"id": 2}'::jsonb);
SELECT softdelete.restore('documents', ARRAY[3]);
SELECT * FROM document_states() WHERE id <= 3;
-- A text key, as a text value and as a jsonb string.
DELETE FROM tags WHERE name = 'urgent';
DELETE FROM tags WHERE name = 'later';
SELECT softdelete.restore('tags', 'urgent'::text);
SELECT softdelete.restore('tags', '"later"'::jsonb);
SELECT name, deleted_at IS NOT NULL AS deleted FROM tags ORDER BY name;

-- restore() of an active row is rejected (55000) and changes nothing.
SELECT softdelete.restore('documents', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM document_states() WHERE id = 1;

-- purge() removes a deleted row for real and returns 1.
DELETE FROM documents WHERE id = 4;
SELECT softdelete.purge('documents', 4);
SELECT count(*) AS rows_with_id_4 FROM documents WHERE id = 4;
-- A purged row cannot be purged or restored again: its key is gone (P0002).
SELECT softdelete.purge('documents', 4);
\echo :LAST_ERROR_SQLSTATE
SELECT softdelete.restore('documents', 4);
\echo :LAST_ERROR_SQLSTATE
-- purge() of an active row is rejected (55000), so a wrong key cannot erase live data.
SELECT softdelete.purge('documents', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM document_states() WHERE id = 5;

-- Composite keys: an array, a row, a jsonb object (in any key order) and a jsonb array.
DELETE FROM playlist_tracks WHERE (playlist_id, track_id) = (1, 1);
DELETE FROM playlist_tracks WHERE (playlist_id, track_id) = (1, 2);
DELETE FROM playlist_tracks WHERE (playlist_id, track_id) = (1, 3);
DELETE FROM playlist_tracks WHERE (playlist_id, track_id) = (2, 1);
SELECT softdelete.restore('playlist_tracks', ARRAY[1, 1]);
SELECT softdelete.restore('playlist_tracks', ROW(1, 2));
SELECT softdelete.restore('playlist_tracks', '{"track_id": 3, "playlist_id": 1}'::jsonb);
SELECT softdelete.restore('playlist_tracks', '[2, 1]'::jsonb);
DELETE FROM playlist_tracks WHERE (playlist_id, track_id) IN ((2, 2), (2, 3));
SELECT softdelete.purge('playlist_tracks', ROW(2, 2));
SELECT softdelete.purge('playlist_tracks', '{"playlist_id": 2, "track_id": 3}'::jsonb);
SELECT playlist_id, track_id, deleted_at IS NOT NULL AS deleted FROM playlist_tracks ORDER BY 1, 2;
-- A composite key of a text and an int column.
DELETE FROM labels WHERE region = 'eu';
DELETE FROM labels WHERE region = 'us' AND number = 1;
SELECT softdelete.restore('labels', ROW('eu'::text, 7));
SELECT softdelete.purge('labels', '{"region": "us", "number": 1}'::jsonb);
SELECT region, number, deleted_at IS NOT NULL AS deleted FROM labels ORDER BY 1, 2;

-- restore() brings back every row that the same DELETE statement deleted, and nothing that
-- another statement deleted.
DELETE FROM playlist_tracks WHERE playlist_id = 3 AND track_id <= 2;
DELETE FROM playlist_tracks WHERE playlist_id = 3 AND track_id = 3;
SELECT softdelete.restore('playlist_tracks', ARRAY[3, 1]);
SELECT playlist_id, track_id, deleted_at IS NOT NULL AS deleted FROM playlist_tracks WHERE playlist_id = 3 ORDER BY 1, 2;
-- After one row of a deletion is purged, restoring another row brings back the rest.
DELETE FROM documents WHERE id IN (5, 6);
SELECT softdelete.purge('documents', 5);
SELECT softdelete.restore('documents', 6);
SELECT * FROM document_states() WHERE id >= 5;

-- A restore that would duplicate an active unique value fails with 23505, naming the
-- index, and changes nothing: the row stays deleted with its markers, and no event is written.
INSERT INTO documents VALUES (7, 'Retro');
DELETE FROM documents WHERE id = 7;
SELECT deleted_at AS deleted_at_7, deleted_by AS deleted_by_7, deletion_id AS deletion_id_7
FROM documents WHERE id = 7 \gset
INSERT INTO documents VALUES (8, 'Retro');
SELECT softdelete.restore('documents', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT deleted_at = :'deleted_at_7' AS same_deleted_at, deleted_by = :'deleted_by_7' AS same_deleted_by,
       deletion_id = :deletion_id_7 AS same_deletion_id
FROM documents WHERE id = 7;
SELECT count(*) AS restore_events FROM softdelete.events
WHERE table_name = 'restore_purge.documents' AND key = '{"id": 7}' AND operation = 'restore';
-- Once the conflicting row is deleted, the restore succeeds and writes exactly one event.
DELETE FROM documents WHERE id = 8;
SELECT softdelete.restore('documents', 7);
SELECT * FROM document_states() WHERE id IN (7, 8);
SELECT operation, deletion_id = :deletion_id_7 AS same_deletion FROM softdelete.events
WHERE table_name = 'restore_purge.documents' AND key = '{"id": 7}' ORDER BY event_id;

-- Every delete, restore and purge wrote one event per row. Deletion numbers count from the
-- start of this file.
SELECT operation, table_name, key, deletion_id - :deletion_seq_start AS deletion_number, actor, role_name
FROM softdelete.events
WHERE table_name LIKE 'restore_purge.%'
ORDER BY event_id;

DROP SCHEMA restore_purge CASCADE;
