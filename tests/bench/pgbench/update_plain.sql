-- Workload 4 baseline: the hand-written single-row soft delete on an unmanaged copy.
\set id random(1, :rows)
UPDATE w4_plain SET deleted_at = now() WHERE id = :id AND deleted_at IS NULL;
