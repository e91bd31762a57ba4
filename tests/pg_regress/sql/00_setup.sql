-- Installs the extension and the roles that several test files share.
\set SHOW_CONTEXT never
CREATE EXTENSION pg_softdelete;
SELECT extname, extversion IS NOT NULL AS has_version, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pg_softdelete';
CREATE ROLE app_rw NOLOGIN;
CREATE ROLE app_ro NOLOGIN;
CREATE ROLE auditor NOLOGIN;
GRANT softdelete_viewer TO auditor;
GRANT USAGE, CREATE ON SCHEMA public TO app_rw, app_ro, auditor;
