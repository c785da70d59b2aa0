"""Fairness of a release for a worldwide population: TaskHub's own services on a simulated clock.

A population of contractors (default 1,000: 40% in the Americas, 30% Europe and Africa, 30%
Asia, spread over real time zones) is awake about 08:00-23:00 local; most look every 1-3 hours
while awake (each their own habit), a tenth look every 10 minutes day and night; with
--dormant (and in the second population of every default run) a fifth of the accounts never
look at all. One batch of 3,000 tasks (overlap 1) of a project holding at most 5 open tasks per
person (60 minutes to finish each) is scheduled 36 hours ahead and released at 08:00 UTC (the
Americas' midnight); 48 hours are observed after release.

Everything goes through the real services with `now` passed, never a frozen clock:
batch_schedule_release (the admin), lottery_opt_in (during the 24-hour reservation window),
batch_release (the draw or the opening), claim_open (a winner starts a reserved task),
task_claim_next, claim_submit, claim_release (2% of winners hand one reservation back; the
work itself is 5-15 minutes a task), claims_expire_overdue and fair_share_caps_relax every 5
simulated minutes (2% of started tasks are abandoned and expire). A look is a session: the
person starts their reserved tasks one after another, then claims and works tasks one by one,
for up to 90 minutes or until nothing is left for them. The simulation skips a claim call only
when its answer is known to be "nothing" (no free slot, or at the cap) for someone the database
already counts as wanting work (their demand recorded, or holding claims), so every figure is
what the real site would record.

For each policy and population it prints the issue's table (share of those who looked who got
any task, Gini over them, the share of tasks taken 00:00-05:59 local, the Americas' share who
got any), the per-region shares, the fairness report's own figures beside the simulation's, and
each goal with its figure and PASS/FAIL:

  lottery: of those who opted in, >= 98% keep their allocation (none of their wins lapsed),
      >= 95% in the worst region; of everyone who wanted work, >= 90% got some;
  fair share: >= 95% of those who wanted work got some (>= 90% in the worst region), Gini <= 0.1;
  both: awake-at-release advantage (mean tasks of those who first looked within an hour of
      release over that of those who first looked 6 or more hours after) <= 1.2; the
      night-checking tenth gets <= 15% of the work; fully handed out within 24 hours (every
      slot held at once: a reservation holds its slot) and submitted within 30 hours.

first_come is printed as the baseline (no goals). --hours runs more release hours (UTC) for the
policies with goals. Each run's rows are deleted afterwards and the touched tables vacuumed.

    make bench BENCH=fairness
    DATABASE_URL=postgres://.../taskhub_bench .venv/bin/python bench/fairness.py --hours 8,0,16
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskhub.settings")

# Region -> (time zone, weight). January: no zone here changes its clock in the window.
ZONES = {
    "americas": [("America/Los_Angeles", 3), ("America/Denver", 1), ("America/Chicago", 2),
                 ("America/New_York", 3), ("America/Sao_Paulo", 1)],
    "emea": [("Europe/London", 3), ("Europe/Berlin", 4), ("Europe/Athens", 2), ("Africa/Lagos", 1)],
    "apac": [("Asia/Kolkata", 4), ("Asia/Manila", 3), ("Asia/Tokyo", 3)],
}
REGION_SHARE = [("americas", 0.4), ("emea", 0.3), ("apac", 0.3)]
REGION_LABEL = {"americas": "Americas", "emea": "Europe/Africa", "apac": "Asia"}
RELEASE_DAY = datetime(2031, 1, 14, tzinfo=UTC)
TICK = timedelta(minutes=5)
OBSERVE = timedelta(hours=48)
SCHEDULE_AHEAD = timedelta(hours=36)
SESSION = timedelta(minutes=90)
NIGHT_EVERY = timedelta(minutes=10)
MAX_ACTIVE = 5
CLAIM_MINUTES = 60
ABANDON = 0.02
HAND_BACK = 0.02

POLICIES = {
    "first_come": {"release_policy": "first_come"},
    "fair_share": {"release_policy": "fair_share"},
    "fair_share_cap5": {"release_policy": "fair_share", "fair_share_cap": 5},
    "lottery": {"release_policy": "lottery", "fallback_policy": "fair_share"},
    "lottery_fc": {"release_policy": "lottery", "fallback_policy": "first_come"},
}
POLICY_LABEL = {
    "first_come": "first_come (baseline)",
    "fair_share": "fair_share, derived cap",
    "fair_share_cap5": "fair_share, fixed cap 5",
    "lottery": "lottery (fallback fair_share)",
    "lottery_fc": "lottery (fallback first_come)",
}
GOAL_POLICIES = ("fair_share", "lottery")


@dataclass
class Person:
    index: int
    region: str
    zone: str
    night: bool
    dormant: bool
    every: float  # hours between looks while awake
    wake: float
    sleep: float
    rng: random.Random
    user: object = None
    # Per run:
    opted: bool = False
    asked: bool = False
    busy: bool = False
    first_look: datetime | None = None
    held: int = 0  # reserved + active + submitted in this batch, as far as the simulation knows
    reserved: list = field(default_factory=list)
    session_end: datetime | None = None


def population(size: int, dormant: bool, seed: int) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for i in range(size):
        roll, region = rng.random(), "apac"
        for name, share in REGION_SHARE:
            if roll < share:
                region = name
                break
            roll -= share
        zones, weights = zip(*ZONES[region], strict=True)
        people.append(Person(
            index=i, region=region, zone=rng.choices(zones, weights)[0], night=False, dormant=False,
            every=rng.uniform(1, 3), wake=8 + rng.uniform(-0.5, 0.5), sleep=23 + rng.uniform(-0.5, 0.5),
            rng=random.Random(seed * 7919 + i),
        ))
    order = list(range(size))
    rng.shuffle(order)
    for i in order[: size // 10]:
        people[i].night = True
    if dormant:  # drawn from the others: the night-checking tenth stays whole
        for i in order[size // 10: size // 10 + size // 5]:
            people[i].dormant = True
    return people


def local_hour(person: Person, moment: datetime) -> float:
    local = moment.astimezone(ZoneInfo(person.zone))
    return local.hour + local.minute / 60


def awake(person: Person, moment: datetime) -> bool:
    return person.night or person.wake <= local_hour(person, moment) < person.sleep


def next_look(person: Person, after: datetime) -> datetime:
    if person.night:
        return after + NIGHT_EVERY * person.rng.uniform(0.8, 1.2)
    moment = after + timedelta(hours=person.every * person.rng.uniform(0.7, 1.3))
    for _ in range(100):  # asleep: the first look of the morning, a little after waking
        if awake(person, moment):
            return moment
        moment += timedelta(minutes=15)
    return moment


def gini(values: list[int]) -> float:
    values = sorted(values)
    n, total = len(values), sum(values)
    if not n or not total:
        return 0.0
    return max(0.0, sum((2 * i - n + 1) * v for i, v in enumerate(values)) / (n * total)) + 0.0


class Simulation:
    """One policy, one population, one release hour: returns the figures."""

    def __init__(self, *, policy: str, people: list[Person], release: datetime, tag: str, admin, periods=None):
        self.policy, self.people, self.release, self.tag, self.admin = policy, people, release, tag, admin
        self.periods = periods or {}
        self.events: list = []
        self.sequence = 0
        self.free = 0
        self.cap = None
        self.cap_ends = None
        self.ending: list = []  # (moment, person): an abandoned claim's deadline, a reservation's end
        self.calls = 0

    def push(self, moment, kind, person=None, payload=None):
        self.sequence += 1
        heapq.heappush(self.events, (moment, self.sequence, kind, person, payload))

    def setup(self):
        from projects.models import Batch, Project, Task
        from projects.services import batch_schedule_release

        self.project = Project.objects.create(
            name=f"Fairness {self.tag}", slug=f"fairness-{self.tag}", task_type="pairwise", status="active",
            overlap=1, max_active_claims=MAX_ACTIVE, claim_minutes=CLAIM_MINUTES, instructions="Pick one.",
        )
        batch = Batch.objects.create(project=self.project, name="Release", status="draft")
        Task.objects.bulk_create(
            Task(batch=batch, project=self.project, external_id=str(i), overlap=1,
                 payload={"prompt": f"Prompt {i}", "response_a": "A", "response_b": "B"})
            for i in range(self.tasks)
        )
        start = self.release - SCHEDULE_AHEAD
        batch_schedule_release(batch=batch, scheduled_by=self.admin, release_at=self.release, now=start,
                               **POLICIES[self.policy], **self.periods)
        self.batch = Batch.objects.get(pk=batch.pk)
        self.start = start

    def run(self, tasks: int) -> dict:
        self.tasks = tasks
        self.setup()
        for person in self.people:
            if person.dormant:
                continue
            moment = self.start + timedelta(hours=person.rng.uniform(0, 3))
            while not awake(person, moment):
                moment += timedelta(minutes=15)
            self.push(moment, "look", person)
        self.push(self.release, "release")
        moment = self.start + TICK
        while moment <= self.release + OBSERVE:
            self.push(moment, "tick")
            moment += TICK
        end = self.release + OBSERVE
        while self.events:
            moment, _seq, kind, person, payload = heapq.heappop(self.events)
            if moment > end:
                break
            getattr(self, f"on_{kind}")(moment, person, payload)
        return self.measure()

    # --- events ---------------------------------------------------------------------------

    def on_release(self, now, _person, _payload):
        from annotations.models import Claim
        from annotations.services import batch_release

        batch_release(batch=self.batch, now=now)
        self.batch.refresh_from_db()
        self.refresh(now)
        if self.policy.startswith("lottery"):
            by_user = {p.user.pk: p for p in self.people}
            for claim in Claim.objects.filter(batch=self.batch, status="reserved").select_related("task", "project"):
                person = by_user[claim.contractor_id]
                claim.contractor = person.user
                person.reserved.append(claim)
                person.held += 1
                person.asked = True
                self.ending.append((claim.reserved_until, person, claim))

    def on_tick(self, now, _person, _payload):
        from annotations.services import claims_expire_overdue, fair_share_caps_relax

        if now <= self.release:
            return
        claims_expire_overdue(now=now)
        fair_share_caps_relax(now=now)
        self.calls += 2
        still = []
        for ends, person, claim in self.ending:
            if ends <= now:
                if claim is None or claim.status == "reserved":  # abandoned, or a win never opened
                    person.held -= 1
                    if claim is not None and claim in person.reserved:
                        person.reserved.remove(claim)
            else:
                still.append((ends, person, claim))
        self.ending = still
        self.refresh(now)

    def refresh(self, now):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT COALESCE(sum(t.overlap - t.claim_count), 0), b.fair_share_cap, b.fair_share_ends_at,
                          b.status, b.fair_share_cap_derived
                   FROM projects_batch b LEFT JOIN projects_task t ON t.batch_id = b.id
                   WHERE b.id = %s GROUP BY b.id""", [self.batch.pk])
            free, cap, ends, _status, _derived = cursor.fetchone()
        self.free = int(free)
        follows = self.policy == "fair_share" or self.policy == "fair_share_cap5" or self.policy == "lottery"
        self.cap = cap if follows and (ends is None or now < ends) else None

    def on_look(self, now, person, _payload):
        from annotations.services import lottery_opt_in

        if now < self.release:
            if self.policy.startswith("lottery") and not person.opted and self.batch.reservation_is_open(now):
                lottery_opt_in(batch=self.batch, contractor=person.user, now=now)
                self.calls += 1
                person.opted = True
            self.push(next_look(person, now), "look", person)
            return
        if person.busy:
            return  # working; the session schedules the next look when it ends
        if person.first_look is None:
            person.first_look = now
        person.session_end = now + SESSION
        self.work_next(now, person)

    def on_done(self, now, person, claim):
        from annotations.services import claim_submit

        if claim is not None:
            claim_submit(claim=claim, contractor=person.user, now=now,
                         answer={"choice": "A", "strength": "clear", "reason": "A answers the prompt."})
            self.calls += 1
        self.work_next(now, person)

    def work_next(self, now, person):
        from annotations.errors import ClaimError
        from annotations.services import claim_open, claim_release, task_claim_next

        person.busy = False
        if now < person.session_end:
            person.reserved = [c for c in person.reserved if c.reserved_until > now]
            if person.reserved and person.rng.random() < HAND_BACK:
                claim = person.reserved.pop()
                claim_release(claim=claim, contractor=person.user, now=now)
                self.calls += 1
                person.held -= 1
                self.free += 1
            if person.reserved:
                claim = person.reserved.pop(0)
                claim_open(claim=claim, contractor=person.user, now=now)
                self.calls += 1
                claim.status = "active"
                return self.start_task(now, person, claim)
            if not self.known_empty(person):
                try:
                    claim = task_claim_next(contractor=person.user, project=self.project, now=now)
                except ClaimError:
                    claim = None
                self.calls += 1
                person.asked = True
                if claim is not None:
                    person.held += 1
                    self.free -= 1
                    return self.start_task(now, person, claim)
        self.push(next_look(person, now), "look", person)

    def known_empty(self, person) -> bool:
        """The claim would find nothing and record nothing new: skip the call."""
        if not person.asked:
            return False
        return self.free <= 0 or (self.cap is not None and person.held >= self.cap)

    def start_task(self, now, person, claim):
        person.busy = True
        took = timedelta(minutes=person.rng.uniform(5, 15))
        if person.rng.random() < ABANDON:
            self.ending.append((claim.deadline, person, None))
            self.push(now + took, "done", person, None)
        else:
            self.push(now + took, "done", person, claim)

    # --- figures --------------------------------------------------------------------------

    def measure(self) -> dict:
        from django.db import connection

        from annotations.models import Claim
        from annotations.selectors import batch_fairness_report

        got = dict.fromkeys((p.user.pk for p in self.people), 0)
        for contractor_id in Claim.objects.filter(batch=self.batch, status__in=["submitted", "active", "reserved"]
                                                  ).values_list("contractor_id", flat=True):
            got[contractor_id] += 1
        looked = [p for p in self.people if p.first_look is not None or p.opted]
        tasks = [got[p.user.pk] for p in looked]
        total = sum(got.values())
        report = batch_fairness_report(batch=self.batch, now=self.release + OBSERVE)

        def share_any(group):
            return 100 * sum(1 for p in group if got[p.user.pk]) / len(group) if group else 0.0

        regions = {}
        for key in ("americas", "emea", "apac"):
            group = [p for p in looked if p.region == key]
            regions[key] = {"looked": len(group), "got_any": share_any(group),
                            "tasks": 100 * sum(got[p.user.pk] for p in group) / total if total else 0.0,
                            "mean": sum(got[p.user.pk] for p in group) / len(group) if group else 0.0}
        early = [got[p.user.pk] for p in looked if p.first_look and p.first_look - self.release < timedelta(hours=1)]
        late = [got[p.user.pk] for p in looked if p.first_look and p.first_look - self.release >= timedelta(hours=6)]
        mean_early = sum(early) / len(early) if early else 0.0
        mean_late = sum(late) / len(late) if late else 0.0
        night = sum(got[p.user.pk] for p in self.people if p.night)
        nights = [got[p.user.pk] for p in looked if p.night]
        days = [got[p.user.pk] for p in looked if not p.night]
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT c.contractor_id, count(*) FROM annotations_claim c
                   JOIN accounts_user u ON u.id = c.contractor_id
                   WHERE c.batch_id = %s AND (c.source = 'claim' OR c.opened_at IS NOT NULL)
                     AND EXTRACT(HOUR FROM (CASE WHEN c.source = 'draw' THEN c.opened_at ELSE c.claimed_at END)
                                 AT TIME ZONE u.timezone) < 6
                   GROUP BY 1""", [self.batch.pk])
            night_taken = dict(cursor.fetchall())
        night_looker = {p.user.pk for p in self.people if p.night}
        by_day_people = sum(n for pk, n in night_taken.items() if pk not in night_looker)
        figures = {
            "policy": self.policy, "looked": len(looked), "got_any": share_any(looked), "gini": gini(tasks),
            "night_taken": report["night_percent"], "americas_any": regions["americas"]["got_any"],
            "regions": regions, "advantage": (mean_early / mean_late) if mean_late else float("inf"),
            "early": len(early), "late": len(late), "night_share": 100 * night / total if total else 0.0,
            "handed_out": report["hours_to_fully_handed_out"], "for_good": report["hours_to_handed_out_for_good"],
            "exhausted": report["hours_to_exhausted"], "report": report, "total": total, "calls": self.calls,
            "max": max(tasks) if tasks else 0, "night_by_day_people": by_day_people,
            "night_advantage": ((sum(nights) / len(nights)) / (sum(days) / len(days))
                                if nights and days and sum(days) else float("inf")),
        }
        if self.policy.startswith("lottery"):
            figures["kept"] = report["kept_wins_percent"]
            figures["kept_worst"] = min((r["kept_wins"] * 100 / r["opted_in"]) for r in report["regions"]
                                        if r["opted_in"])
        return figures


# --- set-up and clean-up --------------------------------------------------------------------


def make_people(people: list[Person], tag: str):
    from accounts.models import User

    users = User.objects.bulk_create(
        User(email=f"fair-{tag}-{p.index}@example.com", password="!", display_name=f"Fair {p.index}",
             role="contractor", timezone=p.zone)
        for p in people
    )
    for person, user in zip(people, users, strict=True):
        person.user = user
    return User.objects.create(email=f"fair-{tag}-admin@example.com", password="!", role="admin")


def reset(people: list[Person], seed: int):
    for p in people:
        p.opted = p.asked = p.busy = False
        p.first_look = p.session_end = None
        p.held = 0
        p.reserved = []
        p.rng = random.Random(seed * 7919 + p.index)


def cleanup_run(sim: Simulation):
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        batch, project = sim.batch.pk, sim.project.pk
        cursor.execute("DELETE FROM annotations_submission WHERE project_id = %s", [project])
        cursor.execute("DELETE FROM annotations_claim WHERE project_id = %s", [project])
        for table in ("annotations_batchdemand", "annotations_lotteryentry", "annotations_lotteryallocation"):
            cursor.execute(f"DELETE FROM {table} WHERE batch_id = %s", [batch])
        cursor.execute("DELETE FROM projects_task WHERE batch_id = %s", [batch])
        cursor.execute("DELETE FROM projects_batch WHERE id = %s", [batch])
        cursor.execute("DELETE FROM projects_project WHERE id = %s", [project])


def cleanup_people(tag: str):
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        users = "SELECT id FROM accounts_user WHERE email LIKE %s"
        # What notifications queued by email (issue 19's mail), then the notifications themselves.
        for table in ("accounts_digestitem", "accounts_outgoingemail", "accounts_notification"):
            cursor.execute(f"DELETE FROM {table} WHERE user_id IN ({users})", [f"fair-{tag}-%"])
        cursor.execute("DELETE FROM accounts_user WHERE email LIKE %s", [f"fair-{tag}-%"])
    with connection.cursor() as cursor:
        for table in ("annotations_claim", "annotations_submission", "projects_task", "annotations_batchdemand",
                      "accounts_notification", "accounts_user", "annotations_lotteryentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- printing -------------------------------------------------------------------------------


def pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def hours(value) -> str:
    return "—" if value is None else f"{value:.1f} h"


def print_table(title: str, rows: list[dict]):
    print(f"\n{title}")
    print("| policy | got any task, of those who looked | Gini over those who looked | claims made 00–06 local "
          "| Americas: got any |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {POLICY_LABEL[r['policy']]} | {pct(r['got_any'])} | {r['gini']:.2f} | {pct(r['night_taken'])} "
              f"| {pct(r['americas_any'])} |")
    print("\nper region: got any (of those who looked) / share of all tasks / mean tasks per person")
    regions = " | ".join(REGION_LABEL[k] for k in ("americas", "emea", "apac"))
    print(f"| policy | {regions} | night tenth's share of tasks | night tasks by day people | night tenth's mean "
          "over others' |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{g['got_any']:.1f}% / {g['tasks']:.1f}% / {g['mean']:.2f}" for g in r["regions"].values()]
        print(f"| {POLICY_LABEL[r['policy']]} | " + " | ".join(cells) + f" | {r['night_share']:.1f}% "
              f"| {r['night_by_day_people']} | {r['night_advantage']:.2f} |")
    print("\nthe fairness report's own figures (over everyone who wanted work) and the pace")
    print("| policy | wanted work (sim: looked) | got any | Gini | min/median/max | lapsed | handed out "
          "(for good) | exhausted | service calls |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rep = r["report"]
        print(f"| {POLICY_LABEL[r['policy']]} | {rep['wanted']} ({r['looked']}) | {pct(rep['got_any_percent'])} "
              f"| {rep['gini']} | {rep['min']}/{rep['median']}/{rep['max']} | {rep['reservations']['lapsed']} "
              f"| {hours(r['handed_out'])} ({hours(r['for_good'])}) | {hours(r['exhausted'])} | {r['calls']:,} |")


def goals(r: dict) -> list[tuple[str, str, bool]]:
    rep = r["report"]
    worst_any = min(g["got_any_percent"] for g in rep["regions"] if g["wanted"]) if rep["wanted"] else 0.0
    checks = []
    if r["policy"] == "lottery":
        checks += [
            ("opted in who kept their allocation >= 98%", pct(r["kept"]), (r["kept"] or 0) >= 98),
            ("... in the worst region >= 95%", pct(r["kept_worst"]), r["kept_worst"] >= 95),
            ("everyone who wanted work got some >= 90%", pct(rep["got_any_percent"]), rep["got_any_percent"] >= 90),
        ]
    if r["policy"] == "fair_share":
        checks += [
            ("wanted work and got some >= 95%", pct(rep["got_any_percent"]), rep["got_any_percent"] >= 95),
            ("... in the worst region >= 90%", pct(worst_any), worst_any >= 90),
            ("Gini over those who wanted work <= 0.1", f"{rep['gini']:.3f}", rep["gini"] <= 0.1),
        ]
    checks += [
        ("awake-at-release advantage <= 1.2", f"{r['advantage']:.2f} ({r['early']} early, {r['late']} late)",
         r["advantage"] <= 1.2),
        ("night-checking tenth's share of the work <= 15%", pct(r["night_share"]), r["night_share"] <= 15),
        ("fully handed out within 24 h", hours(r["handed_out"]), r["handed_out"] is not None and r["handed_out"] <= 24),
        ("submitted within 30 h", hours(r["exhausted"]), r["exhausted"] is not None and r["exhausted"] <= 30),
    ]
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contractors", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--hours", default="8", help="release hours (UTC) to try, comma-separated; the first "
                                                      "runs every policy, the others the policies with goals")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--population", choices=["both", "all", "dormant"], default="both")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--reservation-hours", type=float, default=None,
                        help="the lottery's reservation period (default: the batch default, 24)")
    parser.add_argument("--horizon-hours", type=float, default=None,
                        help="the fair-share horizon (default: the batch default, 24)")
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log
    logging.getLogger("celery").setLevel(logging.WARNING)
    from payouts import tasks as payout_tasks
    from taskhub.celery import app

    app.conf.task_always_eager = True  # announcements, draw results, lapse notices: run at commit, in here
    payout_tasks.earnings_recompute.delay = lambda **kwargs: None  # pay is not what is measured

    release_hours = [int(h) for h in args.hours.split(",") if h.strip()]
    periods = {}
    if args.reservation_hours is not None:
        periods["reservation_period"] = timedelta(hours=args.reservation_hours)
    if args.horizon_hours is not None:
        periods["fair_share_horizon"] = timedelta(hours=args.horizon_hours)
    policies = [p for p in args.policies.split(",") if p in POLICIES]
    populations = {"both": [False, True], "all": [False], "dormant": [True]}[args.population]
    print(f"fairness: {args.contractors:,} contractors, {args.tasks:,} tasks (overlap 1), release at "
          f"{', '.join(f'{h:02d}:00' for h in release_hours)} UTC, {OBSERVE.total_seconds() / 3600:g} h observed"
          f"{'; ' + ', '.join(f'{k} {v}' for k, v in periods.items()) if periods else ''}; the machine may be "
          "shared (figures are simulated time, the wall clock only says how long it took)")
    failures = 0
    started_all = time.perf_counter()
    for dormant in populations:
        people = population(args.contractors, dormant, args.seed)
        tag = uuid.uuid4().hex[:8]
        admin = make_people(people, tag)
        name = "with a dormant fifth" if dormant else "everyone active"
        try:
            for index, hour in enumerate(release_hours):
                rows = []
                for policy in policies if index == 0 else [p for p in policies if p in GOAL_POLICIES]:
                    reset(people, args.seed)
                    started = time.perf_counter()
                    sim = Simulation(policy=policy, people=people, release=RELEASE_DAY + timedelta(hours=hour),
                                     tag=f"{tag}-{policy}-{hour}".replace("_", "-"), admin=admin,
                                     periods=periods)
                    try:
                        rows.append(sim.run(args.tasks))
                    finally:
                        cleanup_run(sim)
                    print(f"  ({name}, {hour:02d}:00 UTC, {policy}: {time.perf_counter() - started:.0f} s wall)",
                          flush=True)
                print_table(f"== {name}: release at {hour:02d}:00 UTC ==", rows)
                for r in rows:
                    if r["policy"] not in GOAL_POLICIES:
                        continue
                    print(f"\ngoals, {POLICY_LABEL[r['policy']]} ({name}, release {hour:02d}:00 UTC):")
                    for label, figure, ok in goals(r):
                        failures += (not ok) and hour == release_hours[0]
                        print(f"  {'PASS' if ok else 'FAIL'}  {label}: {figure}")
        finally:
            cleanup_people(tag)
    print(f"\ndone in {time.perf_counter() - started_all:.0f} s; "
          f"{'all goals met' if not failures else f'{failures} goal(s) not met'} at the first release hour")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
