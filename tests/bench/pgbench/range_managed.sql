-- Workload 5: count over a range of 1000 ids; row-level security hides the deleted rows.
\set low random(1, :rows - 999)
SELECT count(*) FROM w5_managed WHERE id BETWEEN :low AND :low + 999;
