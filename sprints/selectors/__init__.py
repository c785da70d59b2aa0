"""Reads for sprints: the lead's lists, the live board and the roster, in a fixed number of queries.

Figures are computed in the database with aggregates (`FILTER`, `generate_series`), one row
per member, so a board with ten submissions and one with a hundred thousand run the same
queries. Submissions count towards a sprint when a member submitted them to one of its
projects inside its window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from annotations.models import Claim, ContractorFlag, ContractorPause, PauseAppeal, ProblemReport
from annotations.selectors import flags_open, pause_appeals_open, pauses_in_force
from projects.models import Project
from taskhub.errors import NotFound

from ..models import Announcement, Sprint, SprintMember
from .pace import sprint_pace

# Who counts as "active now" on the board: a heartbeat (or a claim) this recent.
ACTIVE_WINDOW = timedelta(minutes=10)
GRADES = (1, 2, 3, 4, 5)


def _is_admin(user) -> bool:
    return getattr(user, "role", None) == Role.ADMIN


def sprints_for_user(*, user) -> QuerySet[Sprint]:
    """The sprints a lead leads (admins: every sprint), newest first, with counts for a list."""
    qs = Sprint.objects.all() if _is_admin(user) else Sprint.objects.filter(lead=user)
    return (
        qs.select_related("lead")
        .prefetch_related(Prefetch("projects", queryset=Project.objects.order_by("name").only("id", "name", "slug")))
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by("-starts_at", "-id")
    )


def sprint_get_for_user(*, sprint_id: int, user) -> Sprint:
    """A sprint the user may see; anyone else's is reported as not found."""
    sprint = sprints_for_user(user=user).filter(pk=sprint_id).first()
    if sprint is None:
        raise NotFound("No such sprint among the sprints you lead.")
    return sprint


def sprints_for_member(user) -> QuerySet[Sprint]:
    """A contractor's planned and open sprints (for their dashboard), soonest first."""
    return (
        Sprint.objects.filter(memberships__contractor=user)
        .exclude(status=Sprint.Status.CLOSED)
        .select_related("lead")
        .prefetch_related(
            Prefetch("projects", queryset=Project.objects.order_by("name").only("id", "name", "slug")),
            Prefetch("announcements", queryset=Announcement.objects.order_by("-created_at", "-id")),
        )
        .order_by("starts_at", "id")
    )


def sprint_contractor_choices() -> QuerySet[User]:
    return User.objects.filter(role=Role.CONTRACTOR, is_active=True).order_by("display_name", "email")


def sprint_project_choices() -> QuerySet[Project]:
    return Project.objects.filter(status=Project.Status.ACTIVE).order_by("name")


def announcements_for_sprint(*, sprint: Sprint) -> QuerySet[Announcement]:
    return Announcement.objects.filter(sprint=sprint).select_related("author").order_by("-created_at", "-id")


def announcement_projects_for(*, user) -> QuerySet[Project]:
    """Projects a lead may post to: those of the sprints they lead (admins: every active project)."""
    if _is_admin(user):
        return sprint_project_choices()
    return Project.objects.filter(sprints__lead=user).distinct().order_by("name")


# --- Figures --------------------------------------------------------------------------------

_MEMBER_FIGURES_SQL = """
WITH members AS (
    SELECT sm.contractor_id FROM sprints_sprintmember sm WHERE sm.sprint_id = %(sprint)s
),
subs AS (
    SELECT s.id, s.contractor_id, s.active_seconds, s.is_gold, s.needs_review
    FROM annotations_submission s
    WHERE s.contractor_id IN (SELECT contractor_id FROM members)
      AND s.project_id IN (SELECT sp.project_id FROM sprints_sprint_projects sp WHERE sp.sprint_id = %(sprint)s)
      AND s.submitted_at >= %(start)s AND s.submitted_at < %(until)s
),
graded AS (
    -- The grade from annotations_final_grade, the one definition of the rule (revised appeals).
    SELECT r.submission_id, r.kind, g.grade, r.gold_agreement
    FROM annotations_review r
    JOIN annotations_final_grade g ON g.submission_id = r.submission_id
    WHERE r.kind <> 'calibration' AND r.submission_id IN (SELECT id FROM subs)
),
pay AS (
    -- What the ledger holds for each submission, which the database keeps on the submission itself
    -- (posted_cents), in the currency of the rate it is paid at.
    SELECT s.id AS submission_id, (s.posted_cents::numeric / 100)::numeric(14, 2) AS amount,
           r.currency, 1 AS currencies
    FROM annotations_submission s
    JOIN projects_payrate r ON r.id = s.pay_rate_id
    WHERE s.id IN (SELECT id FROM subs) AND s.posted_entries > 0
)
SELECT m.contractor_id, u.email, u.display_name,
       COUNT(s.id) AS submitted,
       COUNT(g.submission_id) AS reviewed,
       COALESCE(SUM(g.grade), 0) AS grade_sum,
       COALESCE(SUM(s.active_seconds), 0) AS active_seconds,
       AVG(g.gold_agreement) FILTER (WHERE g.kind = 'automatic') AS gold_agreement,
       COUNT(g.gold_agreement) FILTER (WHERE g.kind = 'automatic') AS gold_items,
       COUNT(s.id) FILTER (WHERE s.needs_review AND NOT s.is_gold AND g.submission_id IS NULL) AS backlog,
       COUNT(*) FILTER (WHERE g.grade = 1) AS g1,
       COUNT(*) FILTER (WHERE g.grade = 2) AS g2,
       COUNT(*) FILTER (WHERE g.grade = 3) AS g3,
       COUNT(*) FILTER (WHERE g.grade = 4) AS g4,
       COUNT(*) FILTER (WHERE g.grade = 5) AS g5,
       SUM(p.amount) AS earnings,
       CASE WHEN MAX(p.currencies) = 1 AND COUNT(DISTINCT p.currency) = 1 THEN MIN(p.currency) END AS currency,
       COUNT(DISTINCT p.currency) AS currencies
FROM members m
JOIN accounts_user u ON u.id = m.contractor_id
LEFT JOIN subs s ON s.contractor_id = m.contractor_id
LEFT JOIN graded g ON g.submission_id = s.id
LEFT JOIN pay p ON p.submission_id = s.id
GROUP BY m.contractor_id, u.email, u.display_name
ORDER BY COUNT(s.id) DESC, u.display_name, u.email
"""

_HOURS_SQL = """
SELECT h.hour, COUNT(s.id)
FROM generate_series(
    date_trunc('hour', %(start)s::timestamptz), %(until)s::timestamptz - interval '1 microsecond', interval '1 hour'
) AS h(hour)
LEFT JOIN annotations_submission s
    ON s.submitted_at >= GREATEST(h.hour, %(start)s::timestamptz) AND s.submitted_at < h.hour + interval '1 hour'
   AND s.submitted_at < %(until)s
   AND s.contractor_id IN (SELECT sm.contractor_id FROM sprints_sprintmember sm WHERE sm.sprint_id = %(sprint)s)
   AND s.project_id IN (SELECT sp.project_id FROM sprints_sprint_projects sp WHERE sp.sprint_id = %(sprint)s)
GROUP BY h.hour
ORDER BY h.hour
"""


def _round(value, places: str = "0.01") -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


@dataclass
class MemberFigures:
    contractor_id: int
    email: str
    display_name: str
    submitted: int
    reviewed: int
    grade_sum: int
    active_seconds: int
    gold_agreement: float | None
    gold_items: int
    backlog: int
    grades: dict[int, int]
    earnings: Decimal | None
    currency: str | None
    per_hour: Decimal = Decimal("0")
    flags: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.display_name or self.email

    @property
    def average_grade(self) -> Decimal | None:
        return _round(Decimal(self.grade_sum) / self.reviewed) if self.reviewed else None

    @property
    def gold_agreement_percent(self) -> Decimal | None:
        return _round(Decimal(str(self.gold_agreement)) * 100, "0.1") if self.gold_agreement is not None else None

    @property
    def effective_hourly(self) -> Decimal | None:
        """Earnings on the sprint's work ÷ the active hours measured on it (None without both)."""
        if self.earnings is None or not self.active_seconds or not self.currency:
            return None
        return _round(Decimal(self.earnings) * 3600 / self.active_seconds)

    def as_summary(self) -> dict:
        average = self.average_grade
        hourly = self.effective_hourly
        return {
            "contractor_id": self.contractor_id, "name": self.name, "submitted": self.submitted,
            "reviewed": self.reviewed, "average_grade": str(average) if average is not None else None,
            "per_hour": str(self.per_hour), "active_seconds": self.active_seconds,
            "effective_hourly": str(hourly) if hourly is not None else None, "currency": self.currency,
        }


def _window_hours(start: datetime, until: datetime) -> Decimal:
    seconds = max((until - start).total_seconds(), 0)
    return Decimal(seconds) / 3600


def member_figures(*, sprint: Sprint, until: datetime) -> list[MemberFigures]:
    """One row per member over the sprint's window up to `until` (one query)."""
    until = max(min(until, sprint.ends_at), sprint.starts_at)
    with connection.cursor() as cursor:
        cursor.execute(_MEMBER_FIGURES_SQL, {"sprint": sprint.pk, "start": sprint.starts_at, "until": until})
        rows = cursor.fetchall()
    hours = _window_hours(sprint.starts_at, until)
    figures = []
    for r in rows:
        member = MemberFigures(
            contractor_id=r[0], email=r[1], display_name=r[2], submitted=r[3], reviewed=r[4], grade_sum=r[5],
            active_seconds=int(r[6]), gold_agreement=r[7], gold_items=r[8], backlog=r[9],
            grades={1: r[10], 2: r[11], 3: r[12], 4: r[13], 5: r[14]}, earnings=r[15], currency=r[16],
        )
        member.per_hour = _round(Decimal(member.submitted) / hours) if hours else Decimal("0.00")
        figures.append(member)
    return figures


def _totals(members: list[MemberFigures], *, hours: Decimal) -> dict:
    submitted = sum(m.submitted for m in members)
    reviewed = sum(m.reviewed for m in members)
    grade_sum = sum(m.grade_sum for m in members)
    return {
        "submitted": submitted,
        "reviewed": reviewed,
        "backlog": sum(m.backlog for m in members),
        "average_grade": _round(Decimal(grade_sum) / reviewed) if reviewed else None,
        "per_hour": _round(Decimal(submitted) / hours) if hours else Decimal("0.00"),
        "grades": {g: sum(m.grades[g] for m in members) for g in GRADES},
    }


def sprint_summary(*, sprint: Sprint, until: datetime) -> dict:
    """The figures kept on a closed sprint: totals and one entry per member (JSON-ready)."""
    until = max(min(until, sprint.ends_at), sprint.starts_at)
    members = member_figures(sprint=sprint, until=until)
    hours = _window_hours(sprint.starts_at, until)
    totals = _totals(members, hours=hours)
    return {
        "submitted": totals["submitted"],
        "reviewed": totals["reviewed"],
        "average_grade": str(totals["average_grade"]) if totals["average_grade"] is not None else None,
        "per_hour": str(totals["per_hour"]),
        "hours": str(_round(hours)),
        "target_submissions": sprint.target_submissions,
        "target_met": totals["submitted"] >= sprint.target_submissions,
        "quality_target": str(sprint.quality_target),
        "grades": {str(g): n for g, n in totals["grades"].items()},
        "members": [m.as_summary() for m in members],
        "computed_until": until.isoformat(),
    }


def _hours_series(*, sprint: Sprint, until: datetime) -> list[tuple[datetime, int]]:
    if until <= sprint.starts_at:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_HOURS_SQL, {"sprint": sprint.pk, "start": sprint.starts_at, "until": until})
        return cursor.fetchall()


def active_now(*, sprint: Sprint, now: datetime) -> list[dict]:
    """Members holding a claim on the sprint's projects with a heartbeat (or a claim) in the last minutes."""
    since = now - ACTIVE_WINDOW
    claims = (
        Claim.objects.filter(
            status=Claim.Status.ACTIVE,
            contractor__sprint_memberships__sprint=sprint,
            project__sprints=sprint,
        )
        .filter(Q(last_heartbeat_at__gte=since) | Q(claimed_at__gte=since))
        .select_related("contractor", "project")
        .order_by("contractor__display_name", "contractor__email", "-claimed_at")
    )
    people: dict[int, dict] = {}
    for claim in claims:
        seen = max(filter(None, [claim.last_heartbeat_at, claim.claimed_at]))
        entry = people.setdefault(claim.contractor_id, {"contractor": claim.contractor, "projects": [],
                                                        "last_seen": seen, "claims": 0})
        entry["claims"] += 1
        entry["last_seen"] = max(entry["last_seen"], seen)
        if claim.project.name not in entry["projects"]:
            entry["projects"].append(claim.project.name)
    return list(people.values())


def sprint_board(*, sprint: Sprint, now: datetime | None = None) -> dict:
    """Everything on the live board, in a fixed number of queries whatever the amount of work."""
    now = now or timezone.now()
    until = max(min(now, sprint.ends_at), sprint.starts_at)
    members = member_figures(sprint=sprint, until=until)
    hours = _window_hours(sprint.starts_at, until)
    totals = _totals(members, hours=hours)
    series = _hours_series(sprint=sprint, until=until)
    peak = max((n for _h, n in series), default=0)
    grade_peak = max(totals["grades"].values(), default=0)
    target = sprint.target_submissions
    return {
        "now": now,
        "members": members,
        "member_count": len(members),
        "totals": totals,
        "progress_percent": min(100, round(100 * totals["submitted"] / target)) if target else 0,
        "remaining": max(target - totals["submitted"], 0),
        "time_left": max(sprint.ends_at - now, timedelta(0)) if sprint.status != Sprint.Status.CLOSED else None,
        "starts_in": sprint.starts_at - now if sprint.starts_at > now else None,
        "hours": [
            {"hour": hour, "count": n, "percent": round(100 * n / peak) if peak else 0} for hour, n in series
        ],
        "hours_peak": peak,
        "hours_first": series[0][0] if series else None,
        "hours_last": series[-1][0] if series else None,
        "grades": [
            {"grade": g, "count": totals["grades"][g],
             "percent": round(100 * totals["grades"][g] / grade_peak) if grade_peak else 0}
            for g in GRADES
        ],
        "quality_met": (
            totals["average_grade"] is not None and totals["average_grade"] >= sprint.quality_target
        ),
        "active": active_now(sprint=sprint, now=now),
        "pace": sprint_pace(starts_at=sprint.starts_at, ends_at=sprint.ends_at,
                            now=now if sprint.status != Sprint.Status.CLOSED else max(now, sprint.ends_at),
                            completed=totals["submitted"], target=target),
    }


def sprint_roster(*, sprint: Sprint, now: datetime | None = None) -> list[MemberFigures]:
    """Each member's figures over the sprint with their flags awaiting a decision (two queries)."""
    now = now or timezone.now()
    members = member_figures(sprint=sprint, until=now)
    by_id = {m.contractor_id: m for m in members}
    flags = (
        ContractorFlag.objects.filter(
            status=ContractorFlag.Status.OPEN, contractor_id__in=list(by_id), project__sprints=sprint
        )
        .select_related("project")
        .order_by("created_at", "id")
    )
    for flag in flags:
        by_id[flag.contractor_id].flags.append(flag)
    return members


def sprint_review_query(*, sprint: Sprint) -> str:
    """The review queue's filters for the sprint's work: its projects and its window."""
    query = [("project", p.pk) for p in sprint.projects.all()]
    query += [("from", sprint.starts_at.isoformat()), ("until", sprint.ends_at.isoformat())]
    return urlencode(query)


# --- A lead's people -------------------------------------------------------------------------


def led_by(lead, *, contractor: str = "contractor_id", project: str = "project_id") -> Q:
    """Over rows with a `contractor` and a `project` (flags, pauses): those of a person who is a member of
    a sprint the lead runs that includes that row's project (admins: everyone). A lead's authority is
    over their own people on their own projects: leading someone on one project gives none over their
    work on another. `contractor` and `project` name those columns on other rows (a review's:
    "submission__contractor_id", "submission__project_id")."""
    if _is_admin(lead):
        return Q()
    return Q(Exists(SprintMember.objects.filter(
        sprint__lead=lead, contractor_id=OuterRef(contractor), sprint__projects=OuterRef(project),
    )))


def on_projects_led_by(lead) -> Q:
    """Over rows with a `project` (problem reports): those on a project of a sprint the lead runs
    (admins: every project)."""
    if _is_admin(lead):
        return Q()
    return Q(Exists(Sprint.objects.filter(lead=lead, projects=OuterRef("project_id"))))


def problem_reports_for_lead(*, lead, status: str | None = ProblemReport.Status.OPEN) -> QuerySet[ProblemReport]:
    """Problem reports on the lead's projects, newest first, with the task, project and contractor joined."""
    reports = (ProblemReport.objects.filter(on_projects_led_by(lead))
               .select_related("project", "task", "contractor", "resolved_by").order_by("-created_at", "-id"))
    return reports.filter(status=status) if status else reports


def problem_reports_open_for_lead(*, lead) -> QuerySet[ProblemReport]:
    """The open problem reports the lead has to read (the navigation's badge counts them)."""
    return ProblemReport.objects.filter(on_projects_led_by(lead), status=ProblemReport.Status.OPEN)


def problem_reports_open_count(*, lead) -> int:
    """How many open problem reports the lead has to read (one query)."""
    return problem_reports_open_for_lead(lead=lead).count()


def flags_open_for_lead(*, lead) -> QuerySet[ContractorFlag]:
    return flags_open().filter(led_by(lead))


def pauses_in_force_for_lead(*, lead) -> QuerySet[ContractorPause]:
    return pauses_in_force().filter(led_by(lead))


def pause_appeals_open_for_lead(*, lead) -> QuerySet[PauseAppeal]:
    """Appeals of pauses on the lead's people (admins: everyone's) that the lead may decide: not of a
    pause they decided themselves."""
    return (pause_appeals_open().filter(pause__in=ContractorPause.objects.filter(led_by(lead)).values("pk"))
            .exclude(pause__created_by=lead))
