// pg_softdelete through node-postgres (pg), run by node's built-in test runner.
//
// node-postgres sends a query without parameters over the simple query protocol and a query
// with parameters, or with a name, over the extended protocol (Parse, Bind, Execute). A soft
// delete must report the DELETE command tag and row count of a hard delete over both.
//
// scripts/clients.sh sets the CLIENTS_* variables. The defaults match the cluster it starts, so
// the suite also runs by hand against a cluster kept by `KEEP_CLUSTER=1 bash scripts/clients.sh`.

'use strict';

const assert = require('node:assert/strict');
const { after, before, beforeEach, test } = require('node:test');
const { Client } = require('pg');

const connection = {
  host: process.env.CLIENTS_HOST || '127.0.0.1',
  port: Number(process.env.CLIENTS_PORT || 54356),
  database: process.env.CLIENTS_DATABASE || 'softdelete_clients',
};
const APP_USER = process.env.CLIENTS_APP_USER || 'softdelete_app';
const ADMIN_USER = process.env.CLIENTS_ADMIN_USER || 'postgres';
const TABLE = 'node_item';

// The application role is an ordinary LOGIN role, subject to row-level security. The superuser
// bypasses it and sees soft-deleted rows.
let app;
let admin;

async function connect(user) {
  const client = new Client({ ...connection, user });
  await client.connect();
  return client;
}

before(async () => {
  admin = await connect(ADMIN_USER);
  await admin.query('CREATE EXTENSION IF NOT EXISTS pg_softdelete');
  app = await connect(APP_USER);
  const role = await app.query(
    'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
  );
  assert.equal(role.rows[0].rolsuper, false, `${APP_USER} must not be a superuser`);
  assert.equal(role.rows[0].rolbypassrls, false, `${APP_USER} must not have BYPASSRLS`);
});

after(async () => {
  await app?.end();
  await admin?.end();
});

// Every test starts from an empty managed table, created again because TRUNCATE is rejected on
// managed tables. enable() runs as the superuser, which the extension allows besides the owner.
beforeEach(async () => {
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await app.query(`
    CREATE TABLE ${TABLE} (
      id integer PRIMARY KEY,
      name text NOT NULL
    )`);
  await admin.query('SELECT softdelete.enable($1)', [TABLE]);
  await app.query(`
    INSERT INTO ${TABLE} (id, name)
    VALUES (1, 'red'), (2, 'green'), (3, 'blue'), (4, 'red'), (5, 'red')`);
});

async function visibleIds(client = app) {
  const result = await client.query(`SELECT id FROM ${TABLE} ORDER BY id`);
  return result.rows.map((row) => row.id);
}

async function deletedIds() {
  const result = await admin.query(
    `SELECT id FROM ${TABLE} WHERE deleted_at IS NOT NULL ORDER BY id`,
  );
  return result.rows.map((row) => row.id);
}

test('simple-protocol delete reports rowCount', async () => {
  const result = await app.query(`DELETE FROM ${TABLE} WHERE name = 'red'`);

  assert.equal(result.command, 'DELETE');
  assert.equal(result.rowCount, 3);
  assert.deepEqual(result.rows, []);
  assert.deepEqual(await visibleIds(), [2, 3]);
  assert.deepEqual(await deletedIds(), [1, 4, 5]);
});

test('parameterised delete reports rowCount', async () => {
  const result = await app.query(`DELETE FROM ${TABLE} WHERE name = $1 AND id > $2`, ['red', 1]);

  assert.equal(result.command, 'DELETE');
  assert.equal(result.rowCount, 2);
  assert.deepEqual(await visibleIds(), [1, 2, 3]);
  assert.deepEqual(await deletedIds(), [4, 5]);
});

test('named prepared delete executed twice', async () => {
  const query = { name: 'delete-node-item', text: `DELETE FROM ${TABLE} WHERE id = $1` };

  const first = await app.query({ ...query, values: [2] });
  assert.equal(first.command, 'DELETE');
  assert.equal(first.rowCount, 1);

  const second = await app.query({ ...query, values: [3] });
  assert.equal(second.command, 'DELETE');
  assert.equal(second.rowCount, 1);

  const again = await app.query({ ...query, values: [3] });
  assert.equal(again.command, 'DELETE');
  assert.equal(again.rowCount, 0);

  assert.deepEqual(await visibleIds(), [1, 4, 5]);
  assert.deepEqual(await deletedIds(), [2, 3]);
});

test('named prepared delete with generic plan', async () => {
  // A fresh connection, because a prepared statement name belongs to one session. With
  // force_generic_plan, PostgreSQL plans the statement once without its parameter values.
  const client = await connect(APP_USER);
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    const query = { name: 'delete-node-item-generic', text: `DELETE FROM ${TABLE} WHERE id = $1` };
    for (const id of [1, 2, 3]) {
      const result = await client.query({ ...query, values: [id] });
      assert.equal(result.command, 'DELETE');
      assert.equal(result.rowCount, 1, `row count of the delete of id ${id}`);
    }

    const plans = await client.query(
      'SELECT generic_plans FROM pg_prepared_statements WHERE name = $1',
      [query.name],
    );
    assert.equal(Number(plans.rows[0].generic_plans), 3);
    assert.deepEqual(await visibleIds(client), [4, 5]);
  } finally {
    await client.end();
  }
  assert.deepEqual(await deletedIds(), [1, 2, 3]);
});

test('delete returning gives stored rows', async () => {
  const result = await app.query(
    `DELETE FROM ${TABLE} WHERE id = ANY($1) RETURNING id, name, deleted_at, deleted_by, deletion_id`,
    [[1, 3]],
  );

  assert.equal(result.command, 'DELETE');
  assert.equal(result.rowCount, 2);
  const rows = [...result.rows].sort((left, right) => left.id - right.id);
  assert.deepEqual(
    rows.map((row) => [row.id, row.name]),
    [
      [1, 'red'],
      [3, 'blue'],
    ],
  );
  for (const row of rows) {
    assert.ok(row.deleted_at instanceof Date, `deleted_at of id ${row.id} is ${row.deleted_at}`);
    assert.equal(row.deleted_by, APP_USER);
    assert.notEqual(row.deletion_id, null);
  }
  assert.equal(rows[0].deletion_id, rows[1].deletion_id);
});

test('delete of deleted row gives rowCount 0', async () => {
  const first = await app.query(`DELETE FROM ${TABLE} WHERE id = $1 RETURNING id`, [2]);
  assert.equal(first.rowCount, 1);
  const stored = await admin.query(`SELECT deleted_at, deletion_id FROM ${TABLE} WHERE id = 2`);

  const simple = await app.query(`DELETE FROM ${TABLE} WHERE id = 2`);
  assert.equal(simple.command, 'DELETE');
  assert.equal(simple.rowCount, 0);

  const extended = await app.query(`DELETE FROM ${TABLE} WHERE id = $1 RETURNING id`, [2]);
  assert.equal(extended.command, 'DELETE');
  assert.equal(extended.rowCount, 0);
  assert.deepEqual(extended.rows, []);

  // A second DELETE does not mark the row again, so the first deletion is kept.
  const storedAfter = await admin.query(
    `SELECT deleted_at, deletion_id FROM ${TABLE} WHERE id = 2`,
  );
  assert.deepEqual(storedAfter.rows, stored.rows);
});

test('deleted rows hidden from app only', async () => {
  await app.query(`DELETE FROM ${TABLE} WHERE id IN (1, 2)`);

  assert.deepEqual(await visibleIds(), [3, 4, 5]);
  const byId = await app.query(`SELECT * FROM ${TABLE} WHERE id = $1`, [1]);
  assert.equal(byId.rowCount, 0);
  const count = await app.query(`SELECT count(*)::int AS total FROM ${TABLE}`);
  assert.equal(count.rows[0].total, 3);

  const stored = await admin.query(
    `SELECT id, name, deleted_at, deleted_by FROM ${TABLE} ORDER BY id`,
  );
  assert.equal(stored.rowCount, 5);
  for (const row of stored.rows) {
    const deleted = row.id === 1 || row.id === 2;
    assert.equal(row.deleted_at instanceof Date, deleted, `deleted_at of id ${row.id}`);
    assert.equal(row.deleted_by, deleted ? APP_USER : null, `deleted_by of id ${row.id}`);
  }
});

test('multi-statement simple query', async () => {
  const results = await app.query(
    `DELETE FROM ${TABLE} WHERE id = 1; DELETE FROM ${TABLE} WHERE name = 'red'; SELECT 1 AS one`,
  );

  assert.equal(results.length, 3);
  assert.equal(results[0].command, 'DELETE');
  assert.equal(results[0].rowCount, 1);
  assert.equal(results[1].command, 'DELETE');
  assert.equal(results[1].rowCount, 2);
  assert.equal(results[2].command, 'SELECT');
  assert.deepEqual(await deletedIds(), [1, 4, 5]);
});

test('rolled back delete leaves row active', async () => {
  await app.query('BEGIN');
  const result = await app.query(`DELETE FROM ${TABLE} WHERE id = $1`, [3]);
  assert.equal(result.rowCount, 1);
  assert.deepEqual(await visibleIds(), [1, 2, 4, 5]);
  await app.query('ROLLBACK');

  assert.deepEqual(await visibleIds(), [1, 2, 3, 4, 5]);
  assert.deepEqual(await deletedIds(), []);
});

test('marker columns rejected for app', async () => {
  const writes = [
    ['deleted_at', 'now()'],
    ['deleted_by', "'someone'"],
    ['deletion_id', '1'],
  ];
  for (const [column, value] of writes) {
    await assert.rejects(
      app.query(`UPDATE ${TABLE} SET ${column} = ${value} WHERE id = $1`, [1]),
      (error) => {
        assert.equal(error.code, '42501', `SQLSTATE of writing ${column}`);
        return true;
      },
    );
  }
  await assert.rejects(
    app.query(`INSERT INTO ${TABLE} (id, name, deleted_at) VALUES (6, 'cyan', now())`),
    (error) => {
      assert.equal(error.code, '42501', 'SQLSTATE of inserting deleted_at');
      return true;
    },
  );

  assert.deepEqual(await visibleIds(), [1, 2, 3, 4, 5]);
  assert.deepEqual(await deletedIds(), []);
});
