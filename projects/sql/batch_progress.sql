-- Whether a batch still has a task without all the submissions it needs: every submission that
-- finishes a task asks this right after its commit (projects.services.batch_mark_exhausted_if_done).
--
-- Read through task_unfinished_idx (the batch's unfinished tasks), stopping at the first. The planner
-- estimates `submitted_count < overlap` at a third of a batch, and with LIMIT 1 would scan the table
-- in physical order instead: right after a storm, or with older batches stored first, that reads
-- every finished task before the first unfinished one (3 ms per submit at 20,000 tasks, and growing).
-- The function's own settings keep the plan on the index whatever the statistics say.
CREATE OR REPLACE FUNCTION projects_batch_has_unfinished_task(batch bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
    SELECT EXISTS (SELECT 1 FROM projects_task t WHERE t.batch_id = batch AND t.submitted_count < t.overlap)
$$;
