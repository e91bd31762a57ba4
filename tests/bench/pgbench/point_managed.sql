-- Workload 5: point SELECT by key; row-level security hides the deleted rows.
\set id random(1, :rows)
SELECT id, code, qty, note FROM w5_managed WHERE id = :id;
