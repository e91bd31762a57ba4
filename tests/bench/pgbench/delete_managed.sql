-- Workload 4: single-row soft delete by key on a managed table.
\set id random(1, :rows)
DELETE FROM w4_managed WHERE id = :id;
