-- Schema of the soak test (tests/soak/test.sh). soak_item is managed by pg_softdelete. The
-- soak_* log tables record, independently of the extension's audit trail, what the workload
-- did, so that the checks can compare the two.
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;

CREATE TABLE soak_item (id bigint PRIMARY KEY, code text NOT NULL UNIQUE, payload text);
CREATE SEQUENCE soak_item_id_seq OWNED BY soak_item.id;
SELECT softdelete.enable('soak_item');

-- Every row ever inserted and every row physically removed, written by row triggers in the
-- transaction that made the change. A soft delete is an UPDATE, so it fires no DELETE trigger.
CREATE TABLE soak_inserted (id bigint PRIMARY KEY);
CREATE TABLE soak_removed (id bigint PRIMARY KEY);
CREATE FUNCTION soak_log_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    INSERT INTO soak_inserted VALUES (NEW.id);
    RETURN NULL;
END
$$;
CREATE FUNCTION soak_log_remove() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    INSERT INTO soak_removed VALUES (OLD.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER soak_log_insert AFTER INSERT ON soak_item FOR EACH ROW EXECUTE FUNCTION soak_log_insert();
CREATE TRIGGER soak_log_remove AFTER DELETE ON soak_item FOR EACH ROW EXECUTE FUNCTION soak_log_remove();

-- What the restore and purge scripts did: one row per successful call with the number of rows
-- it reported, and one row per expected error.
CREATE TABLE soak_call (call_id bigserial PRIMARY KEY, operation text NOT NULL, target bigint NOT NULL, rows bigint NOT NULL);
CREATE TABLE soak_expected_error (error_id bigserial PRIMARY KEY, operation text NOT NULL, sqlstate text NOT NULL);

-- The application role: row-level security applies to it, so it never sees deleted rows.
CREATE ROLE soak_app NOLOGIN;
GRANT SELECT, INSERT, DELETE ON soak_item TO soak_app;
GRANT USAGE ON SEQUENCE soak_item_id_seq TO soak_app;

-- Raises an error when the current role sees a soft-deleted row or two rows with one code.
-- Runs with the caller's privileges, so row-level security applies to its queries.
CREATE FUNCTION soak_assert_visible(target_code text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    visible bigint;
BEGIN
    SELECT count(*) INTO visible FROM soak_item WHERE code = target_code;
    IF visible > 1 THEN
        RAISE EXCEPTION 'role % sees % active rows with code %', current_user, visible, target_code;
    END IF;
    IF EXISTS (SELECT FROM soak_item WHERE code = target_code AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'role % sees a soft-deleted row with code %', current_user, target_code;
    END IF;
    RETURN visible;
END
$$;

-- 2,000 rows with codes 1 to 2,000. The workload inserts codes 1 to 3,000, so most inserts
-- hit an active code (ON CONFLICT DO NOTHING) or reuse the code of a deleted row.
INSERT INTO soak_item SELECT nextval('soak_item_id_seq'), 'code-' || g, 'initial' FROM generate_series(1, 2000) g;
