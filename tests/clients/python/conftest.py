"""Connection settings and superuser helpers shared by the Python client suites.

scripts/clients.sh sets the CLIENTS_* variables. The defaults match the cluster that script
starts, so the suites also run by hand against a cluster kept by
`KEEP_CLUSTER=1 bash scripts/clients.sh`.

The application role must be an ordinary LOGIN role: superusers and BYPASSRLS roles are not
subject to row-level security, so they would see soft-deleted rows and hide the behaviour
under test. The superuser connection is the way to see every row, deleted or not.
"""

import os

import psycopg
import pytest
from psycopg.rows import dict_row

HOST = os.environ.get("CLIENTS_HOST", "127.0.0.1")
PORT = int(os.environ.get("CLIENTS_PORT", "54356"))
DATABASE = os.environ.get("CLIENTS_DATABASE", "softdelete_clients")
APP_USER = os.environ.get("CLIENTS_APP_USER", "softdelete_app")
ADMIN_USER = os.environ.get("CLIENTS_ADMIN_USER", "postgres")


def connect(user):
    """Open an autocommit psycopg connection to the test database as `user`."""
    return psycopg.connect(host=HOST, port=PORT, dbname=DATABASE, user=user, autocommit=True)


@pytest.fixture(scope="session")
def admin():
    """Superuser connection, which sees soft-deleted rows because it bypasses row-level security."""
    with connect(ADMIN_USER) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_softdelete")
        yield conn


@pytest.fixture(scope="session")
def app_connection(admin):
    """Plain psycopg connection as the application role, for DDL the role owns."""
    with connect(APP_USER) as conn:
        is_superuser, bypasses_rls = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert not is_superuser, f"{APP_USER} must not be a superuser"
        assert not bypasses_rls, f"{APP_USER} must not have BYPASSRLS"
        yield conn


def create_managed_table(admin, app_connection, table, ddl):
    """Create `table` as the application role with `ddl`, then enable soft deletion on it.

    Any earlier copy of the table is dropped first, so that every test starts empty, because
    TRUNCATE is rejected on managed tables. enable() runs as the superuser, which the extension allows
    besides the table owner.
    """
    admin.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    app_connection.execute(ddl)
    admin.execute("SELECT softdelete.enable(%s)", (table,))


def stored_rows(admin, table, where="true", params=()):
    """Return every stored row of `table` as dicts, soft-deleted ones included, ordered by id."""
    with admin.cursor(row_factory=dict_row) as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
        return cursor.fetchall()
