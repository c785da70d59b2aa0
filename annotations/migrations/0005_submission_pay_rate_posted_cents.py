import django.db.models.deletion

from django.db import migrations, models

# Two more facts the database keeps on each submission for the earnings recompute (issue 6), so
# the nightly run is one scan of one table with integer arithmetic per row:
#
# * pay_rate_id: the project's rate in force when the work was submitted. The function
#   annotations_pay_rate_in_force is THE definition (the latest effective_from at or before the
#   time, the highest id among equal times, as `projects.selectors.rate_in_force`). A BEFORE
#   trigger sets it on every insert and whenever a statement moves a submission's project or time;
#   a statement-level trigger on the append-only rate history moves the submissions a new rate
#   takes over (only those of its project from its effective_from on: none, for a rate set in the
#   future as the service requires).
# * posted_cents replaces posted_amount: the ledger total in integer cents (ledger amounts have two
#   decimals, so this is exact), because converting a numeric on every row cost a third of the scan.
#
# The guard of annotations 0003 owns the new column too: whatever a writer puts there is replaced
# by the function's answer. Triggers with a WHEN clause on a column must go before its type changes.
FORWARD = """
DROP TRIGGER annotations_submission_derived_insert ON annotations_submission;
DROP TRIGGER annotations_submission_derived_update ON annotations_submission;

ALTER TABLE annotations_submission ALTER COLUMN posted_amount DROP DEFAULT;
ALTER TABLE annotations_submission ALTER COLUMN posted_amount TYPE bigint USING (posted_amount * 100)::bigint;
ALTER TABLE annotations_submission ALTER COLUMN posted_amount SET DEFAULT 0;
ALTER TABLE annotations_submission RENAME COLUMN posted_amount TO posted_cents;

CREATE OR REPLACE FUNCTION payouts_ledgerentry_post_to_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET posted_cents = 0, posted_entries = 0 WHERE posted_entries <> 0;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s
            SET posted_cents = s.posted_cents + n.cents, posted_entries = s.posted_entries + n.entries
            FROM (SELECT source_id, (sum(amount) * 100)::bigint AS cents, count(*) AS entries
                  FROM new_entries WHERE source_type = ''submission'' GROUP BY source_id) n
            WHERE s.id = n.source_id';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION annotations_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT r.id FROM projects_payrate r
    WHERE r.project_id = project AND r.effective_from <= at
    ORDER BY r.effective_from DESC, r.id DESC
    LIMIT 1
$$;

CREATE OR REPLACE FUNCTION annotations_submission_keep_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.pay_rate_id := annotations_pay_rate_in_force(NEW.project_id, NEW.submitted_at);
    IF current_setting('taskhub.rebuild_derived', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.final_grade := NULL;
        NEW.posted_cents := 0;
        NEW.posted_entries := 0;
    ELSE
        NEW.final_grade := OLD.final_grade;
        NEW.posted_cents := OLD.posted_cents;
        NEW.posted_entries := OLD.posted_entries;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER annotations_submission_derived_insert BEFORE INSERT ON annotations_submission
    FOR EACH ROW EXECUTE FUNCTION annotations_submission_keep_derived();
CREATE TRIGGER annotations_submission_derived_update
    BEFORE UPDATE OF project_id, submitted_at, pay_rate_id, final_grade, posted_cents, posted_entries
    ON annotations_submission
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (NEW.project_id <> OLD.project_id OR NEW.submitted_at <> OLD.submitted_at
          OR NEW.pay_rate_id IS DISTINCT FROM OLD.pay_rate_id OR NEW.final_grade IS DISTINCT FROM OLD.final_grade
          OR NEW.posted_cents <> OLD.posted_cents OR NEW.posted_entries <> OLD.posted_entries))
    EXECUTE FUNCTION annotations_submission_keep_derived();

-- Dynamic SQL for the reason given in annotations 0003: a plan made for one new rate must not be
-- reused for a bulk load of rates, or the other way round.
CREATE FUNCTION annotations_submission_follow_rates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET pay_rate_id = NULL WHERE pay_rate_id IS NOT NULL;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s SET pay_rate_id = f.rate
            FROM (SELECT s.id, annotations_pay_rate_in_force(s.project_id, s.submitted_at) AS rate
                  FROM annotations_submission s
                  JOIN (SELECT project_id, min(effective_from) AS since FROM new_rates GROUP BY project_id) n
                    ON s.project_id = n.project_id AND s.submitted_at >= n.since) f
            WHERE s.id = f.id AND s.pay_rate_id IS DISTINCT FROM f.rate';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER projects_payrate_moves_submissions AFTER INSERT ON projects_payrate
    REFERENCING NEW TABLE AS new_rates
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
CREATE TRIGGER projects_payrate_truncate_moves_submissions AFTER TRUNCATE ON projects_payrate
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();

-- Backfill after the triggers exist: creating them locked out writers of rates and submissions
-- until this migration commits. The guard computes the rate on each row it updates.
UPDATE annotations_submission s SET pay_rate_id = annotations_pay_rate_in_force(s.project_id, s.submitted_at);
"""

BACKWARD = """
DROP TRIGGER IF EXISTS projects_payrate_truncate_moves_submissions ON projects_payrate;
DROP TRIGGER IF EXISTS projects_payrate_moves_submissions ON projects_payrate;
DROP FUNCTION IF EXISTS annotations_submission_follow_rates();
DROP TRIGGER IF EXISTS annotations_submission_derived_update ON annotations_submission;
DROP TRIGGER IF EXISTS annotations_submission_derived_insert ON annotations_submission;

ALTER TABLE annotations_submission RENAME COLUMN posted_cents TO posted_amount;
ALTER TABLE annotations_submission ALTER COLUMN posted_amount DROP DEFAULT;
ALTER TABLE annotations_submission ALTER COLUMN posted_amount TYPE numeric(14, 2) USING posted_amount / 100.0;
ALTER TABLE annotations_submission ALTER COLUMN posted_amount SET DEFAULT 0;

CREATE OR REPLACE FUNCTION payouts_ledgerentry_post_to_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET posted_amount = 0, posted_entries = 0 WHERE posted_entries <> 0;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s
            SET posted_amount = s.posted_amount + n.amount, posted_entries = s.posted_entries + n.entries
            FROM (SELECT source_id, sum(amount) AS amount, count(*) AS entries
                  FROM new_entries WHERE source_type = ''submission'' GROUP BY source_id) n
            WHERE s.id = n.source_id';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION annotations_submission_keep_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('taskhub.rebuild_derived', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.final_grade := NULL;
        NEW.posted_amount := 0;
        NEW.posted_entries := 0;
    ELSE
        NEW.final_grade := OLD.final_grade;
        NEW.posted_amount := OLD.posted_amount;
        NEW.posted_entries := OLD.posted_entries;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER annotations_submission_derived_insert BEFORE INSERT ON annotations_submission
    FOR EACH ROW
    WHEN (NEW.final_grade IS NOT NULL OR NEW.posted_amount <> 0 OR NEW.posted_entries <> 0)
    EXECUTE FUNCTION annotations_submission_keep_derived();
CREATE TRIGGER annotations_submission_derived_update
    BEFORE UPDATE OF final_grade, posted_amount, posted_entries ON annotations_submission
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (NEW.final_grade IS DISTINCT FROM OLD.final_grade
          OR NEW.posted_amount <> OLD.posted_amount OR NEW.posted_entries <> OLD.posted_entries))
    EXECUTE FUNCTION annotations_submission_keep_derived();

DROP FUNCTION IF EXISTS annotations_pay_rate_in_force(bigint, timestamptz);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0004_claim_deadline_idx_not_for_caps'),
        ('payouts', '0003_ledger_posts_to_submission'),
        ('projects', '0005_sprints'),
    ]

    operations = [
        migrations.AddField(
            model_name='submission',
            name='pay_rate',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, help_text="The project's rate in force when the work was submitted (function annotations_pay_rate_in_force); empty before the project's first rate.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='projects.payrate'),
        ),
        # The column keeps its data and changes type and name in the SQL below.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(model_name='submission', name='posted_amount'),
            migrations.AddField(
                model_name='submission',
                name='posted_cents',
                field=models.BigIntegerField(db_default=0, editable=False, help_text='Sum of the ledger entries whose source is this submission, in cents.'),
            ),
        ]),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
