-- Unique constraints over active rows: reuse of deleted values, duplicates, the primary key and INSERT ... ON CONFLICT.
\set SHOW_CONTEXT never
\set QUIET off
CREATE SCHEMA uniqueness;
SET search_path = uniqueness, public;
SELECT setval('softdelete.deletion_seq', 5000) AS deletion_seq_start \gset

CREATE TABLE users (
    id int PRIMARY KEY,
    email text NOT NULL CONSTRAINT users_email_key UNIQUE,
    name text NOT NULL,
    team text,
    badge text,
    CONSTRAINT users_team_name_key UNIQUE (team, name)
);
SET softdelete.notices = off;
SELECT softdelete.enable('users');
RESET softdelete.notices;
INSERT INTO users (id, email, name, team) VALUES (1, 'ann@example.test', 'Ann', 'red'), (2, 'bob@example.test', 'Bob', 'red');
GRANT USAGE ON SCHEMA uniqueness TO app_rw;
GRANT SELECT, INSERT, UPDATE (email, name, team), DELETE ON users TO app_rw;

-- Returns every row with its deletion state, for checks after each statement.
CREATE FUNCTION all_users()
RETURNS TABLE (id int, email text, name text, team text, deleted boolean)
LANGUAGE sql STABLE AS $$
    SELECT id, email, name, team, deleted_at IS NOT NULL FROM uniqueness.users ORDER BY id
$$;

-- An active duplicate still fails with 23505, naming the original constraint.
INSERT INTO users (id, email, name) VALUES (3, 'ann@example.test', 'Ann Two');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM all_users();

-- The value of a deleted row can be reused, by any role that may insert.
DELETE FROM users WHERE id = 1;
INSERT INTO users (id, email, name, team) VALUES (3, 'ann@example.test', 'Ann', 'red');
SET ROLE app_rw;
DELETE FROM users WHERE id = 3;
INSERT INTO users (id, email, name, team) VALUES (4, 'ann@example.test', 'Ann', 'red');
-- The new row is now the active holder of the value.
INSERT INTO users (id, email, name) VALUES (5, 'ann@example.test', 'Ann Five');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Several deleted rows share the value beside one active row.
SELECT * FROM all_users();
SELECT email, count(*) FILTER (WHERE deleted) AS deleted, count(*) FILTER (WHERE NOT deleted) AS active
FROM all_users() GROUP BY email ORDER BY email;

-- Multi-column unique constraints work the same way.
INSERT INTO users (id, email, name, team) VALUES (6, 'bob2@example.test', 'Bob', 'red');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM users WHERE id = 2;
INSERT INTO users (id, email, name, team) VALUES (6, 'bob2@example.test', 'Bob', 'red');

-- An UPDATE may take over a deleted row's value, but not an active row's.
INSERT INTO users (id, email, name) VALUES (7, 'cy@example.test', 'Cy');
UPDATE users SET email = 'bob@example.test' WHERE id = 7;
UPDATE users SET email = 'ann@example.test' WHERE id = 7;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM all_users();

-- The primary key stays unique over all rows: the key of a deleted row cannot be reused.
INSERT INTO users (id, email, name) VALUES (1, 'new1@example.test', 'New One');
\echo :LAST_ERROR_SQLSTATE
SET ROLE app_rw;
INSERT INTO users (id, email, name) VALUES (2, 'new2@example.test', 'New Two');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM all_users();

-- ON CONFLICT (email) arbitrates among active rows: it updates the active row that has the
-- value and never a deleted one.
INSERT INTO users (id, email, name) VALUES (8, 'ann@example.test', 'Ann (upserted)')
    ON CONFLICT (email) DO UPDATE SET name = excluded.name;
INSERT INTO users (id, email, name) VALUES (8, 'ann@example.test', 'Ann (ignored)')
    ON CONFLICT (email) DO NOTHING;
-- A value that only deleted rows hold is no conflict: the row is inserted.
DELETE FROM users WHERE id = 7;
INSERT INTO users (id, email, name) VALUES (9, 'bob@example.test', 'Bob (new)')
    ON CONFLICT (email) DO UPDATE SET name = excluded.name;
SELECT * FROM all_users();

-- The statement may name the predicate itself.
INSERT INTO users (id, email, name) VALUES (10, 'bob@example.test', 'Bob (again)')
    ON CONFLICT (email) WHERE deleted_at IS NULL DO UPDATE SET name = excluded.name;
-- ON CONFLICT over two columns of a converted constraint: (red, Bob) is held by active row 6
-- and deleted row 2, and only row 6 is updated.
INSERT INTO users (id, email, name, team) VALUES (11, 'bob11@example.test', 'Bob', 'red')
    ON CONFLICT (team, name) DO UPDATE SET email = excluded.email;
-- ON CONFLICT without a target: an active duplicate is skipped, a deleted one is no conflict.
INSERT INTO users (id, email, name) VALUES (12, 'bob@example.test', 'Bob (skipped)')
    ON CONFLICT DO NOTHING;
INSERT INTO users (id, email, name) VALUES (12, 'cy@example.test', 'Cy (new)')
    ON CONFLICT DO NOTHING;
SELECT * FROM all_users();

-- The same statements work for a role that is subject to row-level security.
SET ROLE app_rw;
INSERT INTO users (id, email, name) VALUES (13, 'cy@example.test', 'Cy (by app_rw)')
    ON CONFLICT (email) DO UPDATE SET name = excluded.name;
INSERT INTO users (id, email, name) VALUES (13, 'cy@example.test', 'Cy (ignored)')
    ON CONFLICT (email) DO NOTHING;
-- ON CONFLICT on the primary key of a deleted row finds that row. The policy that hides deleted
-- rows rejects updating it (42501), so a deleted row cannot be revived this way.
INSERT INTO users (id, email, name) VALUES (1, 'one@example.test', 'One')
    ON CONFLICT (id) DO UPDATE SET name = excluded.name;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO users (id, email, name) VALUES (1, 'one@example.test', 'One')
    ON CONFLICT (id) DO NOTHING;
RESET ROLE;
SELECT * FROM all_users();

-- NOTE: ON CONFLICT ON CONSTRAINT cannot name a converted constraint: enable() replaced it by
-- a unique index of the same name, which PostgreSQL does not accept there (42704). Name the
-- columns instead, as above.
INSERT INTO users (id, email, name) VALUES (14, 'ann@example.test', 'Ann (by name)')
    ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
-- The primary key is still a constraint and can be named.
INSERT INTO users (id, email, name) VALUES (1, 'x@example.test', 'X')
    ON CONFLICT ON CONSTRAINT users_pkey DO NOTHING;
SELECT count(*) AS rows FROM users WHERE id = 14;

-- restore() of a row whose value an active row now has fails with 23505 (restore_purge.sql
-- covers this in detail).
SELECT softdelete.restore('users', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM all_users();

DROP SCHEMA uniqueness CASCADE;
