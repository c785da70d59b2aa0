"""The lottery's records (entries and draws) move here from projects, to the claim engine that draws
them: the same rows under this app's table names. The submission's cached columns now follow the
rate-in-force rule of projects (projects_pay_rate_in_force), and this app's SQL loads from
annotations/sql/."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from taskhub.migration_ops import move_content_types, rename_tables

# The text of annotations/sql/submission_cache.sql as this migration first loaded it (later migrations load the
# file as it is now, see taskhub/sql.py).
SUBMISSION_CACHE_SQL = """
-- The facts the database keeps on each submission for the nightly earnings recompute, so that it is
-- one scan of one table with integer arithmetic per row:
--
-- * pay_rate_id: the project's rate in force when the work was submitted, by the rule
--   projects_pay_rate_in_force (projects/sql/rate_in_force.sql). A BEFORE trigger sets it on every
--   insert and whenever a statement moves a submission's project or time; a statement-level trigger
--   on the append-only rate history moves the submissions a new rate takes over (only those of its
--   project from its effective_from on: none, for a rate set in the future as the service requires).
-- * final_grade: kept by the triggers of final_grade.sql.
-- * posted_cents, posted_entries: what the ledger holds for the submission, kept by payouts' ledger
--   trigger (payouts/sql/ledger_posts_to_submission.sql).
--
-- The cached columns belong to those triggers. A statement that writes them directly (raw SQL, or a
-- Django save() of a stale instance, which writes every column) keeps the stored values instead: a
-- new row starts ungraded and unpaid, an updated row keeps what the triggers wrote. Only the
-- triggers' own updates (trigger depth > 0) and a deliberate rebuild, which sets
-- taskhub.rebuild_derived = 'on' for its transaction, get through.
CREATE OR REPLACE FUNCTION annotations_submission_keep_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.pay_rate_id := projects_pay_rate_in_force(NEW.project_id, NEW.submitted_at);
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

CREATE OR REPLACE TRIGGER annotations_submission_derived_insert BEFORE INSERT ON annotations_submission
    FOR EACH ROW EXECUTE FUNCTION annotations_submission_keep_derived();
CREATE OR REPLACE TRIGGER annotations_submission_derived_update
    BEFORE UPDATE OF project_id, submitted_at, pay_rate_id, final_grade, posted_cents, posted_entries
    ON annotations_submission
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (NEW.project_id <> OLD.project_id OR NEW.submitted_at <> OLD.submitted_at
          OR NEW.pay_rate_id IS DISTINCT FROM OLD.pay_rate_id OR NEW.final_grade IS DISTINCT FROM OLD.final_grade
          OR NEW.posted_cents <> OLD.posted_cents OR NEW.posted_entries <> OLD.posted_entries))
    EXECUTE FUNCTION annotations_submission_keep_derived();

-- Dynamic SQL for the reason given in final_grade.sql: a plan made for one new rate must not be
-- reused for a bulk load of rates, or the other way round.
CREATE OR REPLACE FUNCTION annotations_submission_follow_rates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE annotations_submission SET pay_rate_id = NULL WHERE pay_rate_id IS NOT NULL;
    ELSE
        EXECUTE '
            UPDATE annotations_submission s SET pay_rate_id = f.rate
            FROM (SELECT s.id, projects_pay_rate_in_force(s.project_id, s.submitted_at) AS rate
                  FROM annotations_submission s
                  JOIN (SELECT project_id, min(effective_from) AS since FROM new_rates GROUP BY project_id) n
                    ON s.project_id = n.project_id AND s.submitted_at >= n.since) f
            WHERE s.id = f.id AND s.pay_rate_id IS DISTINCT FROM f.rate';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER projects_payrate_moves_submissions AFTER INSERT ON projects_payrate
    REFERENCING NEW TABLE AS new_rates
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
CREATE OR REPLACE TRIGGER projects_payrate_truncate_moves_submissions AFTER TRUNCATE ON projects_payrate
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_submission_follow_rates();
"""

# Going back: the rule under its old name, for the functions of annotations 0005 that call it.
_BACK_TO_0005 = (
    """
CREATE OR REPLACE FUNCTION annotations_pay_rate_in_force(project bigint, at timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT projects_pay_rate_in_force(project, at) $$;
"""
    + SUBMISSION_CACHE_SQL.replace("projects_pay_rate_in_force", "annotations_pay_rate_in_force")
)


FINAL_GRADE_SQL_0006 = r"""
-- THE rule of the final grade, for the database: the revised score of an appeal decided "revised"
-- if there is one, else the score of the submission's current review (a human review or the
-- automatic grade of a gold task; the unique index review_one_current_per_submission allows one).
-- Calibration grades never count; a submission without a row is ungraded. Its Python twin is
-- annotations.models.Review.final_score; tests/annotations/test_rules_agree.py proves they agree.
CREATE OR REPLACE VIEW annotations_final_grade AS
SELECT r.submission_id,
       COALESCE(CASE WHEN a.status = 'revised' THEN a.revised_score END, r.score) AS grade
FROM annotations_review r
LEFT JOIN annotations_appeal a ON a.review_id = r.id
WHERE r.kind <> 'calibration';

-- The final grade is kept on each submission (annotations_submission.final_grade) so the nightly
-- earnings recompute reads one table. Statement-level AFTER triggers with transition tables
-- recompute it from the view for the submissions a statement touched, set-based, whoever wrote
-- (services, admin, raw SQL, a bulk INSERT ... SELECT). PostgreSQL allows one event per trigger when
-- transition tables are used, hence separate INSERT, UPDATE and DELETE triggers (and one for
-- TRUNCATE) per table on one function. The UPDATE is dynamic SQL on purpose: PL/pgSQL caches the
-- plan of a static statement for the session, and a plan made for a one-row transition table would
-- be reused for a million-row one (and the other way round); EXECUTE plans with the real row count.
-- The services grade one submission per statement, so the row lock this takes cannot deadlock with
-- the recompute's (the ledger trigger of payouts/sql/ledger_posts_to_submission.sql updates the
-- submissions it pays); should a bulk writer and a recompute ever lock each other's rows, PostgreSQL
-- aborts one of them, and the recompute, idempotent, catches up.
CREATE OR REPLACE FUNCTION annotations_final_grade_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
    submissions text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- Emptying reviews or appeals can only clear or lower grades that are set.
        submissions := 'SELECT id FROM annotations_submission WHERE final_grade IS NOT NULL';
    ELSE
        changed := CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT * FROM new_rows'
            WHEN 'DELETE' THEN 'SELECT * FROM old_rows'
            ELSE 'SELECT * FROM new_rows UNION ALL SELECT * FROM old_rows'
        END;
        IF TG_TABLE_NAME = 'annotations_review' THEN
            submissions := format('SELECT DISTINCT c.submission_id AS id FROM (%s) c', changed);
        ELSE
            submissions := format(
                'SELECT DISTINCT r.submission_id AS id FROM annotations_review r '
                'WHERE r.id IN (SELECT c.review_id FROM (%s) c)', changed);
        END IF;
    END IF;
    EXECUTE format(
        'UPDATE annotations_submission s SET final_grade = g.grade '
        'FROM (%s) touched LEFT JOIN annotations_final_grade g ON g.submission_id = touched.id '
        'WHERE s.id = touched.id AND s.final_grade IS DISTINCT FROM g.grade', submissions);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER annotations_review_final_grade_insert AFTER INSERT ON annotations_review
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_update AFTER UPDATE ON annotations_review
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_delete AFTER DELETE ON annotations_review
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_review_final_grade_truncate AFTER TRUNCATE ON annotations_review
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();

CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_insert AFTER INSERT ON annotations_appeal
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_update AFTER UPDATE ON annotations_appeal
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_delete AFTER DELETE ON annotations_appeal
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
CREATE OR REPLACE TRIGGER annotations_appeal_final_grade_truncate AFTER TRUNCATE ON annotations_appeal
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_final_grade_sync();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("annotations", "0005_submission_pay_rate_posted_cents"),
        ("projects", "0006_sprints_and_lottery_move_out"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='submission',
            name='pay_rate',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, help_text="The project's rate in force when the work was submitted (function projects_pay_rate_in_force); empty before the project's first rate.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='projects.payrate'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LotteryAllocation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seed', models.BigIntegerField()),
                        ('participants', models.PositiveIntegerField()),
                        ('requested_total', models.PositiveIntegerField()),
                        ('slots_total', models.PositiveIntegerField(help_text='Free task slots (tasks x overlap) at allocation.')),
                        ('claims_created', models.PositiveIntegerField()),
                        ('fair_share_cap', models.PositiveIntegerField(blank=True, null=True)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('allocated_at', models.DateTimeField()),
                        ('batch', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_allocation', to='projects.batch')),
                    ],
                    options={
                        'ordering': ['-allocated_at'],
                    },
                ),
                migrations.CreateModel(
                    name='LotteryEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('requested', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1)])),
                        ('quota', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('allocated', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_entries', to='projects.batch')),
                        ('contractor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lottery_entries', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['batch', 'created_at'],
                        'constraints': [models.UniqueConstraint(fields=('batch', 'contractor'), name='lottery_entry_once_per_batch'), models.CheckConstraint(condition=models.Q(('requested__gte', 1)), name='lottery_entry_requested_positive')],
                    },
                ),
            ],
            database_operations=[rename_tables([("projects_lotteryentry", "annotations_lotteryentry"),
                                                ("projects_lotteryallocation", "annotations_lotteryallocation")])],
        ),
        move_content_types("projects", "annotations", ["lotteryentry", "lotteryallocation"]),
        # final_grade.sql as it was at this migration; 0012 loads the file (it reads a later table).
        migrations.RunSQL(FINAL_GRADE_SQL_0006, migrations.RunSQL.noop),
        migrations.RunSQL(SUBMISSION_CACHE_SQL, reverse_sql=_BACK_TO_0005),
        migrations.RunSQL("DROP FUNCTION annotations_pay_rate_in_force(bigint, timestamptz);", migrations.RunSQL.noop),
    ]
