"""The claim engine and the work itself: claims (one statement with FOR UPDATE SKIP LOCKED), the
release of batches and the lottery draw, drafts and measured active time, submissions, and their
grading: reviews, gold tasks, appeals, flags and pauses (`rules` holds what a grade and a reason
must be). The final grade and the submission's cached pay facts are kept by the SQL in `sql/`."""
