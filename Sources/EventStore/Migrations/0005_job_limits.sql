-- Per-user counting of jobs in flight and expiry of old jobs need an index on (user_id, status)
-- and one on the age of every job.
CREATE INDEX jobs_user_status ON jobs (user_id, status);
CREATE INDEX jobs_created ON jobs (created_at);
