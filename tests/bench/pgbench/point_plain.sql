-- Workload 5 baseline: the same point SELECT with the filter written by hand.
\set id random(1, :rows)
SELECT id, code, qty, note FROM w5_plain WHERE id = :id AND deleted_at IS NULL;
