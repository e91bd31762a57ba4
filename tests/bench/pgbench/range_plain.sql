-- Workload 5 baseline: the same range count with the filter written by hand.
\set low random(1, :rows - 999)
SELECT count(*) FROM w5_plain WHERE id BETWEEN :low AND :low + 999 AND deleted_at IS NULL;
