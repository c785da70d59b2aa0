"""Every bad input a clear 4xx: generated values posted to every form and API endpoint, as each role.

For each route that takes input (`FUZZ`, checked against the URLconf so a new form or endpoint
must be added), Hypothesis draws a role and a request: the route's fields filled with Unicode
digits, NUL, huge and negative numbers, floats for ints, booleans, RTL and emoji text, empty and
1 MB strings, times at the edge of what Python can show, wrong JSON types, deep nesting, 1e999,
path ids beyond a bigint, and now and then plausible values so that some requests are accepted.

Every answer must be below 500; a refusal (4xx) must change nothing in the database (a content
hash of every table but the sessions, before and after); an accepted write must leave every page
that shows it working, in time zones far from UTC. Bounded: TASKHUB_FUZZ_EXAMPLES examples per
route (default 30), no deadline.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.mail import unsubscribe_token
from projects.models import TaskImport
from projects.services import task_import_run
from tests import factories
from tests.hardening import count
from tests.hardening.matrix import MATRIX, ROLES
from tests.hardening.routes import site_routes
from tests.hardening.world import World, build_world

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("TASKHUB_FUZZ_EXAMPLES", "20"))

# --- values ---------------------------------------------------------------------------------------

ODD_TEXT = [
    "²", "٣", "١٢", "۵", "𝟓", "1e999", "-1e999", "NaN", "Infinity", "-1", "0", "1", "2", "5", "6", "32768",
    "99999999999999999999", "9223372036854775808", "-9223372036854775809", "9" * 5000, "\x00", "a\x00b", "\x00" * 3,
    "true", "false", "4.5", "1.0", "1,5", "0x10", "+3", " 3 ", " ", "", "\u202eevil\u202c", "مرحبا بالعالم",
    "😀" * 30, "👩‍👩‍👧‍👦", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "9999-12-31T23:59", "9999-12-31 23:59",
    "0001-01-01T00:00", "2026-13-45T99:99", "9999-12-31", "1970-01-01T00:00", "2099-12-31T23:59", "2027-03-01T10:00",
    "null", "[]", "{}", '{"a": 1}', "[" * 3000, '{"a":' * 3000, "A", "B", "tie", "on", "yes", "USD", "usd", "€€€",
    "per_hour", "per_task", "lottery", "fair_share", "first_come", "pause", "warn", "clear", "upheld", "revised",
    "sprint", "stop", "confirm", "preview", "x" * 70_000, "y" * 1_000_000,
]
ids = st.sampled_from(["0", "1", "-1", "2147483648", "9223372036854775807", "9223372036854775808", "1" * 40])
# One representative of each class of input that used to crash something (issue 15), each field gets
# every one of them in the sweep; the random draws then combine them.
CLASSES = ["²", "٣", "\x00", "a\x00b", "99999999999999999999", "-1", "4.5", "true", "9999-12-31T12:00",
           "9999-12-31T23:59", "0001-01-01T00:00", "", "x" * 70_000, "y" * 1_000_000, "\u202e😀"]
text_values = st.one_of(
    st.sampled_from(CLASSES),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    ids,
)
# JSON: every type, in every place, nested a little; and raw bodies that no JSON type can produce.
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                         st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(ODD_TEXT[:60]),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4)),
                           max_leaves=12)
RAW_BODIES = [
    b"[" * 100_000, b'{"answer":' * 50_000, b"1e999", b'{"answer": 1e999}', b'{"score": NaN}', b'{"score": Infinity}',
    b'{"answer": {"reason": "\\u0000"}}', b'{"answer": {"reason": "\\ud800"}}', b'{"\\u0000": 1}', b"\xff\xfe{",
    b'{"score": 4', b"null", b"true", b'"text"', b"12", b'{"score": 1' + b"0" * 5000 + b"}",
]


def _valid(name: str, w: World) -> list[str]:
    """Plausible values for a field, so that some requests get through to the services."""
    ids_of = {
        "projects": [w.shared.pk, w.extra.pk], "members": [w.contractor.pk, w.other.pk], "project": [w.shared.pk],
        "qualification": [w.gated.qualification_id], "batch": [w.draft.pk], "payout": [w.payout_mine.pk],
        "contractor": [w.other.pk], "skip": [w.submission_waiting.pk],
        "endpoint_a": [w.endpoint_pairwise.pk], "endpoint_b": [w.endpoint_pairwise.pk],
    }
    if name in ids_of:
        return [str(pk) for pk in ids_of[name]]
    return {
        "choice": ["A", "B", "tie"], "strength": ["slight", "clear", "strong"], "decision": ["warn", "pause", "clear"],
        "outcome": ["upheld", "revised", "stands"], "score": ["4", "1", "5"], "revised_score": ["3", "4"],
        "score__accuracy": ["4"], "score__clarity": ["5"], "mark__accuracy": ["4"], "mark__clarity": ["4"],
        "overall": ["4"], "unit": ["per_task", "per_hour"], "currency": ["USD", "EUR"], "amount": ["1.75", "250"],
        "release_policy": ["first_come", "fair_share", "lottery"], "fallback_policy": ["first_come", "fair_share"],
        "release_at": ["2027-03-01T10:00"], "reservation_opens_at": ["2027-02-28T10:00"],
        "starts_at": ["2027-03-01T10:00"], "ends_at": ["2027-03-02T10:00"], "effective_from": ["2027-03-01T10:00"],
        "target_submissions": ["50"], "quality_target": ["4.00"], "target": ["sprint"], "timezone": ["Asia/Tokyo"],
        "jurisdiction": ["US-CA", "DE"], "task_type": ["pairwise", "rating"], "status": ["draft", "active"],
        "format": ["auto", "jsonl", "csv", "hh_rlhf"], "requested": ["1", "2"], "month": ["2027-03"],
        "weeks": ["4"], "page": ["1", "2"], "action": ["confirm", "preview"], "next": ["stop"],
        # Optional fields and check boxes: blank first, so that the sweep's one bad field is the only one.
        "fair_share_cap": ["", "3"], "lottery_max_per_person": ["", "2"], "urgent": ["", "on"], "urgent_reason": [""],
        "is_onboarding": ["", "on"], "gold_from_reference": ["", "on"], "confirm_unusual": ["", "on"],
        "remember": ["", "on"], "follow": ["", "1"], "comment": [""], "notes": [""], "description": [""],
        "overlap": ["1"], "max_active_claims": ["3"], "claim_minutes": ["60"], "review_sample_rate": ["100"],
        "flag_threshold": ["2.50"], "flag_window": ["10"], "flag_min_grades": ["3"], "rate-amount": ["1.50"],
        "rate-currency": ["USD"], "rate-unit": ["per_task"], "rubric-TOTAL_FORMS": ["1"], "rubric-INITIAL_FORMS": ["0"],
        "rubric-0-key": ["accuracy"], "rubric-0-label": ["Accuracy"], "rubric-0-description": [""],
        "slug": ["a-new-project"], "name": ["A new name"], "instructions": ["Read the prompt, then choose."],
        "config__audio_timestamp__labels": ["speech"], "email": ["someone.new@example.com"],
        "login": ["someone.new@example.com"],
        "password": ["a-long-password-1234"], "password1": ["a-long-password-1234"],
        "password2": ["a-long-password-1234"], "oldpassword": [factories.PASSWORD], "title": ["Hello team"],
        "display_name": ["Me"], "external_reference": ["TRX-1"], "batch_name": ["A new batch"],
        "span_start": ["0.5"], "span_end": ["2.0"], "span_label": ["speech"], "success": ["yes"],
        "category": ["privacy"], "attack_prompts": ["What is Ann's number?"], "model_reply": ["I can't share that."],
        "text": ["A friendlier reply."], "critique": ["Vivid, but the ending is rushed and the brief is missed."],
        "mark__unknown": [""], "active_seconds": ["30"], "x": ["1"], "from": ["2026-01-01T00:00:00+00:00"],
        "until": ["2099-01-01T00:00:00+00:00"],
        # Models (issue 21): a message to the model, an endpoint's settings, a generation's sides.
        "message": ["What is Ann's number?"], "failing_turn": ["", "1"], "base_url": ["http://vllm:8000/v1"],
        "model": ["llama-3.1-8b"], "api_key_env": ["", "TASKHUB_MODEL_KEY"], "system_prompt": [""],
        "temperature": ["", "0.7"], "temperature_a": [""], "temperature_b": ["0.9"], "max_tokens": ["256"],
        "connect_timeout_seconds": ["5"], "read_timeout_seconds": ["30"], "max_reply_seconds": ["120"],
        "requests_per_task": ["30"], "requests_per_contractor_hour": ["120"], "is_default": ["", "on"],
        "is_active": ["on"],
        # Email choices (issue 19): one per group.
        **{group: ["now", "digest", "off"] for group in EMAIL_GROUPS}, "all": ["", "1"],
        "List-Unsubscribe": ["One-Click"],
        # The lead's day (issue 20).
        "size": ["3"], "pin": ["", "on"], "pinned": ["", "on"], "grade": ["", "3"], "reviewer": [""],
        "role-role": ["lead", "admin", "contractor"],
    }.get(name, ["A sensible reason that is long enough to pass the minimum length."])


def _json_plausible(name: str, w: World):
    if name == "answer":
        return {"choice": "A", "strength": "clear", "reason": "The first one is right."}
    if name == "marks":
        return {"accuracy": 4, "clarity": 4}
    if name == "score":
        return 4
    return _valid(name, w)[0]


@st.composite
def form_data(draw, fields: tuple[str, ...], w: World, multi: frozenset = frozenset()) -> dict:
    data = {}
    for name in fields:
        if not draw(st.booleans()) and draw(st.booleans()):
            continue  # a quarter of the fields are left out
        value = draw(st.one_of(text_values, st.sampled_from(_valid(name, w))))
        if name in multi and draw(st.booleans()):
            data[name] = [value, draw(st.one_of(text_values, st.sampled_from(_valid(name, w))))]
        else:
            data[name] = value
    return data


@st.composite
def json_body(draw, fields: tuple[str, ...], w: World) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(RAW_BODIES))
    body: dict = {}
    for name in fields:
        if draw(st.booleans()):
            body[name] = draw(st.one_of(json_values, st.sampled_from(_valid(name, w))))
    if "answer" in fields and draw(st.booleans()):
        body["answer"] = draw(st.fixed_dictionaries({}, optional={
            "choice": st.one_of(json_values, st.sampled_from(["A", "B"])), "strength": json_values,
            "reason": json_values, "scores": json_values, "overall": json_values, "comment": json_values}))
    return json.dumps(body, allow_nan=True).encode()


def import_file(draw) -> SimpleUploadedFile:
    line = draw(st.sampled_from([
        '{"external_id": "f1", "payload": {"prompt": "P", "response_a": "A", "response_b": "B"}}',
        '{"external_id": "f2", "payload": {"prompt": 1e999, "response_a": "A", "response_b": "B"}}',
        '{"external_id": "f3", "payload": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"external_id": "f4", "payload": {"prompt": "\\u0000", "response_a": "A", "response_b": "B"}}',
        '{"chosen": "\\n\\nHuman: hi\\n\\nAssistant: yes", "rejected": "\\n\\nHuman: hi\\n\\nAssistant: no"}',
        "external_id,prompt,response_a,response_b\nc1,P,A,B", "\x00\x01\x02", "",
    ]))
    content = (line + "\n").encode("utf-8", "surrogatepass") * draw(st.integers(1, 3))
    if draw(st.booleans()):
        content = gzip.compress(content if draw(st.booleans()) else b"\n" * 3_000_000)  # a small bomb, sometimes
    return SimpleUploadedFile(draw(st.sampled_from(["t.jsonl", "t.csv", "t.jsonl.gz", "x"])), content)


# --- what each route takes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    fields: tuple[str, ...] = ()
    method: str = "post"
    kwargs: Callable[[World], dict] = field(default=lambda w: {})
    json: bool = False
    multi: frozenset = frozenset()  # fields that may come more than once
    upload: bool = False
    # Who owns the object in `kwargs` (default: who may use the route, from the matrix).
    roles: tuple[str, ...] = ()


ANSWER = ("choice", "strength", "reason", "score__accuracy", "score__clarity", "overall", "comment", "next", "text",
          "failing_turn", "message", "category", "success", "notes", "span_start", "span_end", "span_label",
          "critique")
ENDPOINT = ("name", "base_url", "model", "api_key_env", "system_prompt", "temperature", "max_tokens",
            "connect_timeout_seconds", "read_timeout_seconds", "max_reply_seconds", "requests_per_task",
            "requests_per_contractor_hour", "is_default", "is_active")
QUEUE = ("project", "contractor", "from", "until", "skip", "page")
SPRINT = ("name", "projects", "members", "starts_at", "ends_at", "target_submissions", "quality_target")
PROJECT = ("name", "slug", "task_type", "status", "description", "instructions", "overlap", "max_active_claims",
           # (estimated_minutes and idle_minutes go through taskhub.parsing: bad values are tested in
           # tests/annotations/test_pay_outlook.py; left out here to keep this form's sweep within its bound.)
           "claim_minutes", "is_onboarding", "qualification", "review_sample_rate", "flag_threshold", "flag_window",
           "flag_min_grades", "config__audio_timestamp__labels", "rubric-TOTAL_FORMS", "rubric-INITIAL_FORMS",
           "rubric-0-key", "rubric-0-label", "rubric-0-description", "rate-amount", "rate-currency", "rate-unit",
           "policy-pay_grade_5",
           "policy-pay_grade_4", "policy-pay_grade_3", "policy-pay_grade_2", "policy-pay_grade_1",
           "policy-pay_ungraded", "policy-effective_from", "policy-reason", "policy-apply_to_past", "continues",
           "lineage_reason", "wage_floor_guaranteed", "wage_floor_reason", "grants_name", "pass_rule",
           "pass_min_submissions", "pass_min_average", "pass_min_agreement", "instructions_change_note",
           "instructions_material", "config__image_regions__iou_threshold", "config__image_regions__polygons",
           "add_row")


def _claim(w: World) -> dict:
    return {"claim_id": w.claim_mine.pk}


EMAIL_GROUPS = ("releases", "lottery", "grades", "decisions", "pay", "other")
MINE = ("contractor",)  # "me"'s own claim, review, notification
LEADING = ("lead", "admin")  # the probing lead's own sprint, and the flag and pause of their people
SPANS = frozenset({"span_start", "span_end", "span_label"})


FUZZ: dict[str, Route] = {
    "account_login": Route(("login", "password", "remember")),
    "account_signup": Route(("email", "password1", "password2")),
    "account_reset_password": Route(("email",)),
    "account_change_password": Route(("oldpassword", "password1", "password2")),
    "profile": Route(("display_name", "timezone", "jurisdiction")),
    "notifications": Route(("page",), method="get"),
    "email_preferences": Route(EMAIL_GROUPS),
    "email_unsubscribe": Route(("all", "List-Unsubscribe"),
                               kwargs=lambda w: {"token": unsubscribe_token(w.contractor.pk, "lottery")}),
    "notification_read": Route(("follow",), kwargs=lambda w: {"notification_id": w.notification_mine.pk},
                               roles=("contractor",)),
    "work:lottery_join": Route(("requested",), kwargs=lambda w: {"batch_id": w.lottery.pk}),
    "work:start": Route((), kwargs=lambda w: {"slug": w.shared.slug}, roles=("contractor", "reviewer")),
    "work:submit": Route(ANSWER, kwargs=_claim, multi=SPANS, roles=MINE),
    "work:draft": Route(ANSWER, kwargs=_claim, multi=SPANS, roles=MINE),
    "work:heartbeat": Route(("active_seconds",), kwargs=_claim, roles=MINE),
    "work:release": Route(("reason", "details"), kwargs=_claim, roles=MINE),
    "work:report": Route(("kind", "reason"), kwargs=_claim, roles=MINE),
    "work:turns": Route(("message",), kwargs=lambda w: {"claim_id": w.claim_redteam_mine.pk}, roles=MINE),
    "work:appeal": Route(("reason",), kwargs=lambda w: {"review_id": w.review_mine.pk}, roles=MINE),
    "work:flag_respond": Route(("response",), kwargs=lambda w: {"flag_id": w.flag_mine.pk}, roles=MINE),
    "work:pause_appeal": Route(("reason",), kwargs=lambda w: {"pause_id": w.pause_mine.pk}, roles=MINE),
    "work:history": Route(("page",), method="get", roles=MINE),
    "work:my_work": Route(("project", "grade", "appeal", "from", "until", "page"), method="get", roles=MINE),
    "review:queue": Route(QUEUE, method="get", multi=frozenset({"project"})),
    "review:next": Route(QUEUE, method="get", multi=frozenset({"project"})),
    "review:grade": Route(("score", "mark__accuracy", "mark__clarity", "mark__unknown", "reason", *QUEUE),
                          kwargs=lambda w: {"submission_id": w.submission_waiting.pk}),
    "review:appeal_decide": Route(("outcome", "reason", "revised_score"),
                                  kwargs=lambda w: {"appeal_id": w.appeal_other.pk}),
    "lead:sprint_create": Route(SPRINT, multi=frozenset({"projects", "members"})),
    "lead:problems": Route(("show", "page"), method="get"),
    "lead:problem_resolve": Route(("resolution",), kwargs=lambda w: {"report_id": w.report_mine.pk}, roles=LEADING),
    "lead:sprint_edit": Route(SPRINT, kwargs=lambda w: {"sprint_id": w.sprint_mine.pk},
                              multi=frozenset({"projects", "members"}), roles=LEADING),
    "lead:sprint_announce": Route(("target", "title", "body"), kwargs=lambda w: {"sprint_id": w.sprint_mine.pk},
                                  roles=LEADING),
    "lead:flag_decide": Route(("decision", "reason", "urgent", "urgent_reason"),
                              kwargs=lambda w: {"flag_id": w.flag_mine.pk}, roles=LEADING),
    "lead:pause_appeal_decide": Route(("outcome", "reason"), kwargs=lambda w: {"appeal_id": w.pause_appeal_other.pk},
                                      roles=("admin",)),
    "lead:pause_lift": Route(("reason",), kwargs=lambda w: {"pause_id": w.pause_mine.pk}, roles=LEADING),
    "lead:figures_recompute": Route(("project",)),
    # The lead's day (issue 20).
    "lead:graded": Route(("project", "contractor", "reviewer", "grade", "from", "until", "page"), method="get"),
    "lead:second_opinions_sample": Route(("size", "project")),
    "lead:second_opinion_decide": Route(("outcome", "reason", "revised_score"),
                                        kwargs=lambda w: {"opinion_id": w.second_opinion_differs.pk},
                                        roles=("admin",)),
    "review:second_opinion": Route(("score", "mark__accuracy", "mark__clarity", "mark__unknown", "reason"),
                                   kwargs=lambda w: {"opinion_id": w.second_opinion_pending.pk}),
    "lead:question_answer": Route(("answer", "pin"), kwargs=lambda w: {"question_id": w.question_mine.pk},
                                  roles=LEADING),
    "lead:question_pin": Route(("pinned",), kwargs=lambda w: {"question_id": w.question_mine.pk}, roles=LEADING),
    "questions:ask_claim": Route(("body",), kwargs=_claim, roles=MINE),
    "questions:ask_sprint": Route(("body",), kwargs=lambda w: {"sprint_id": w.sprint_mine.pk}, roles=MINE),
    "manage:batch_schedule": Route(("release_at", "release_policy", "fair_share_cap", "fallback_policy",
                                    "lottery_max_per_person", "reservation_opens_at", "urgent", "urgent_reason"),
                                   kwargs=lambda w: {"batch_id": w.draft.pk}),
    "manage:project_create": Route(PROJECT),
    "manage:batches": Route(("project", "batch_name", "page")),
    "manage:people": Route(("q", "role", "page"), method="get"),
    "manage:person": Route(("action", "reason", "deactivate-reason", "deactivate-effective_at", "reactivate-reason",
                            "grant-project", "grant-note", "revoke-reason", "revoke-effective_at", "project"),
                           kwargs=lambda w: {"user_id": w.other.pk}),
    # Issue 20: a role change and a batch closing are decisions with a reason.
    "manage:person_role": Route(("role-role", "role-reason"), kwargs=lambda w: {"user_id": w.other.pk}),
    "manage:batch_close": Route(("close-reason",), kwargs=lambda w: {"batch_id": w.draft.pk}),
    "manage:project_edit": Route(PROJECT, kwargs=lambda w: {"project_id": w.extra.pk}),
    "manage:rate_change": Route(("amount", "currency", "unit", "effective_from", "reason", "confirm_unusual",
                                 "action"), kwargs=lambda w: {"project_id": w.shared.pk}),
    "manage:markdown_preview": Route(("instructions",)),
    "manage:lineage_answer": Route(("candidate", "answer", "lineage_reason"),
                                   kwargs=lambda w: {"project_id": w.extra.pk}),
    "accounts_manage:audit": Route(("kind", "actor", "subject", "project", "since", "until", "text", "page"),
                                   method="get"),
    "manage:imports": Route(("batch", "project", "batch_name", "format", "gold_from_reference"), upload=True),
    "manage:calendar": Route(("month",), method="get"),
    "manage:model_endpoints": Route(ENDPOINT, kwargs=lambda w: {"project_id": w.redteam.pk}),
    "manage:model_endpoint": Route(ENDPOINT, kwargs=lambda w: {"endpoint_id": w.endpoint.pk}),
    "manage:generations": Route(("project", "batch", "batch_name", "endpoint_a", "temperature_a", "endpoint_b",
                                 "temperature_b"), upload=True),
    "manage:media_library": Route(("page",), upload=True, kwargs=lambda w: {"project_id": w.visual.pk}),
    "manage:media_upload": Route((), upload=True, kwargs=lambda w: {"project_id": w.visual.pk}),
    "payouts_manage:payouts": Route(("status",), method="get"),
    "payouts_manage:approve": Route(("payout",), multi=frozenset({"payout"})),
    "payouts_manage:mark_paid": Route(("external_reference",), kwargs=lambda w: {"payout_id": w.payout_mine.pk}),
    "payouts_manage:wage_floor": Route(("weeks",), method="get"),
    "payouts_manage:bonuses": Route(("kind", "contractor", "project", "amount", "currency", "reason", "token")),
    "api-review-next": Route(QUEUE, method="get"),
    "api-review-create": Route(("score", "marks", "reason"), json=True,
                               kwargs=lambda w: {"submission_id": w.submission_waiting.pk}),
    "api-claim-next": Route(("x",), json=True, kwargs=lambda w: {"slug": w.shared.slug},
                             roles=("contractor", "reviewer")),
    "api-claim-submit": Route(("answer",), json=True, kwargs=_claim, roles=MINE),
    "api-claim-release": Route(("x",), json=True, kwargs=_claim, roles=MINE),
    # Data out.
    "api_tokens": Route(("name", "days")),
    "manage_data:exports": Route(("project", "batch", "format", "min_grade", "exclude_gold", "reviewed_only",
                                  "full_overlap_only", "submitted_from", "submitted_to", "ties", "final_labels",
                                  "contractor_ids")),
    "api-admin-exports": Route(("project", "batch", "format", "options"), json=True),
    "api-admin-submissions": Route(("project", "batch", "cursor"), method="get"),
    "api-admin-webhooks": Route(("url", "events"), json=True, kwargs=lambda w: {"slug": w.shared.slug}),
    "api-admin-batch-schedule": Route(("release_at", "release_policy", "fair_share_cap", "fallback_policy",
                                       "lottery_max_per_person", "reservation_opens_at", "urgent", "urgent_reason"),
                                      json=True, kwargs=lambda w: {"batch_id": w.draft.pk}),
    "api-admin-batch-imports": Route(("format", "gold_from_reference", "seed"), upload=True,
                                     kwargs=lambda w: {"batch_id": w.draft.pk}),
}

# Routes that take no input anybody types (pages without parameters, no-body buttons); the fuzz
# test's junk query strings reach them through tests/test_no_500.py.
NO_INPUT = {
    "home", "healthz", "account_logout", "account_inactive", "account_reauthenticate", "account_email",
    "account_email_verification_sent", "account_set_password", "account_confirm_login_code", "account_confirm_email",
    "account_reset_password_from_key_done", "account_reset_password_from_key", "account_reset_password_done",
    "notifications_read_all", "work:dashboard", "work:lottery_leave", "work:project", "work:claim",
    "review:appeals", "fairness:index", "fairness:batch", "lead:home", "lead:sprints", "lead:sprint_board",
    "lead:sprint_board_fragment", "lead:sprint_roster", "lead:flags", "manage:home", "manage:projects", "manage:batch",
    "manage:import_detail", "manage:import_progress", "payouts_manage:draft", "payouts_manage:statement",
    "payouts_manage:statement_csv", "payouts:earnings", "payouts:entry", "payouts:statement", "payouts:statement_csv",
    "api-projects",
    "api-claims", "api-schema", "api-docs", "api_token_revoke", "manage_data:export_detail",
    "manage_data:export_progress", "manage_data:export_download", "manage_data:batch_labels",
    "manage_data:batch_labels_compute", "api-admin-projects", "api-admin-webhook-deliveries",
    "api-admin-webhook-resend", "api-admin-batch", "api-admin-batch-release", "api-admin-batch-labels",
    "api-admin-import", "api-admin-export", "api-admin-export-download", "work:open", "api-claim-open",
    "fairness:project", "api-fairness-batch", "api-fairness-project", "media",
    "work:instructions",
    "work:turn", "work:turn_stream", "manage:model_endpoint_check", "manage:generation", "manage:generation_progress",
    "manage:generation_retry", "notification_open", "questions:mine", "lead:person", "lead:second_opinions",
    "lead:questions", "review:second_opinions",
}

# After an accepted write, these pages (as these people, far from UTC) must still work.
PAGES_AFTER = [("contractor", "work:dashboard"), ("contractor", "work:my_work"), ("contractor", "payouts:earnings"),
               ("reviewer", "review:queue"), ("lead", "lead:sprints"), ("lead", "lead:flags"),
               ("lead", "lead:second_opinions"), ("lead", "lead:questions"), ("contractor", "questions:mine"),
               ("admin", "manage:home"), ("admin", "manage:calendar"), ("admin", "manage:imports"),
               ("admin", "payouts_manage:payouts")]


def test_every_route_that_takes_input_is_fuzzed():
    names = {name for name, _ in site_routes() if not name.startswith("admin:")}
    assert sorted(names - FUZZ.keys() - NO_INPUT) == [], "add these routes to FUZZ (or NO_INPUT) in this file"
    assert sorted((FUZZ.keys() | NO_INPUT) - names) == []


# --- the database, before and after ---------------------------------------------------------------


def _fingerprint_sql() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_session' "
                       "ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
    return " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(sum(hashtextextended(x::text, 0)), 0) FROM \"{t}\" x" for t in tables)


def _fingerprint(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {name: (rows, digest) for name, rows, digest in cursor.fetchall()}


# --- the test -------------------------------------------------------------------------------------


@pytest.fixture
def crashes():
    seen: list[BaseException] = []

    def record(sender, request=None, **kwargs):
        seen.append(sys.exc_info()[1])

    got_request_exception.connect(record, weak=False)
    yield seen
    got_request_exception.disconnect(record)


@pytest.mark.parametrize("name", sorted(FUZZ))
def test_no_input_gets_a_5xx_and_a_refusal_changes_nothing(name, settings, tmp_path, crashes):
    settings.MEDIA_ROOT = tmp_path
    route = FUZZ[name]
    world = build_world()
    clients = {}
    for role, person in world.people.items():
        clients[role] = Client(raise_request_exception=False)
        if person is not None:
            clients[role].force_login(person)
    fingerprint_sql = _fingerprint_sql()
    problems: list[str] = []

    entry = MATRIX[name]
    allowed = list(route.roles) or sorted(entry.allowed | ({"anonymous"} if entry.public else set()))
    sweep_role = "anonymous" if "anonymous" in allowed else allowed[0]
    pages_checked = 0

    def check(role: str, response) -> None:
        """Below 500; a refusal wrote nothing; an accepted write leaves the pages that show it working."""
        nonlocal pages_checked
        count("fuzz cases")
        status = response.status_code
        if status >= 500:
            problems.append(f"{name} as {role}: {status} {crashes[-1]!r}" if crashes else f"{name}: {status}")
        elif 400 <= status < 500:
            after = _fingerprint(fingerprint_sql)
            changed = sorted(t for t in after if after[t] != before[0].get(t))
            if changed:
                problems.append(f"{name} as {role}: refused with {status} but wrote to {changed}")
        elif route.method == "post":
            count("fuzz writes accepted")
            if route.upload:
                for task_import in TaskImport.objects.filter(status=TaskImport.Status.PENDING):
                    finished = task_import_run(task_import_id=task_import.pk)
                    if not finished.is_finished:
                        problems.append(f"import {task_import.pk} did not finish: {finished.status}")
            if pages_checked < 8:
                pages_checked += 1
                for viewer, page in PAGES_AFTER:
                    shown = clients[viewer].get(reverse(page)).status_code
                    if shown >= 500:
                        why = repr(crashes[-1]) if crashes else ""
                        problems.append(f"{page} as {viewer} after an accepted {name}: {shown} {why}")

    def send(role: str, url: str, payload: dict | bytes):
        before[0] = _fingerprint(fingerprint_sql)
        client = clients[role]
        if route.json:
            return client.post(url, payload, content_type="application/json")
        if route.method == "get":
            return client.get(url, payload)
        return client.post(url, payload)

    before = [{}]
    # The sweep: every field alone gets every class of bad input, the other fields plausible.
    url = reverse(name, kwargs=route.kwargs(world))
    for field_name in route.fields:
        for value in CLASSES:
            plausible = {f: _valid(f, world)[0] for f in route.fields}
            if route.json:
                body = {f: _json_plausible(f, world) for f in route.fields}
                body[field_name] = value
                payload = json.dumps(body).encode()
            else:
                payload = {**plausible, field_name: value}
            check(sweep_role, send(sweep_role, url, payload))

    @settings_for_fuzz
    @given(data=st.data())
    def probe(data):
        role = data.draw(st.sampled_from([*allowed, *allowed, *ROLES]), label="role")
        kwargs = route.kwargs(world)
        if kwargs and data.draw(st.integers(0, 7), label="path") == 0:
            key = next(k for k, v in kwargs.items() if isinstance(v, int)) if any(
                isinstance(v, int) for v in kwargs.values()) else None
            if key:
                kwargs = {**kwargs, key: int(data.draw(st.sampled_from(["0", "9223372036854775808", "1" * 30])))}
        url = reverse(name, kwargs=kwargs)
        if route.json:
            payload = data.draw(json_body(route.fields, world), label="body")
        elif route.method == "get":
            payload = data.draw(form_data(route.fields, world, route.multi), label="query")
        else:
            payload = data.draw(form_data(route.fields, world, route.multi), label="form")
            if route.upload and data.draw(st.booleans()):
                payload["file"] = import_file(data.draw)
        check(role, send(role, url, payload))

    probe()
    assert problems == [], "\n".join(problems[:20])


settings_for_fuzz = settings(
    max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)
