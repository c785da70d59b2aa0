"""The authorization matrix: for every named route of the site, who may reach someone else's object.

`MATRIX` has one entry per route name; `tests/hardening/test_authorization_matrix.py` walks the
URLconf and fails for a route without an entry, so a new page or endpoint must say who may use it.
Each entry names the roles that legitimately reach the object in its URL (built from the World,
always someone else's), and the World attribute that owns it (the positive control: the owner does
reach it). Every other role must get 403 or 404; anonymous visitors are sent to sign in (pages) or
get 403 (API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.mail import unsubscribe_token
from tests.hardening.world import World

CONTRACTORS = frozenset({"contractor", "reviewer"})
REVIEWERS = frozenset({"reviewer", "lead", "admin"})
LEADS = frozenset({"lead", "admin"})
ADMINS = frozenset({"admin"})
EVERYONE = frozenset({"contractor", "reviewer", "lead", "admin"})
NOBODY = frozenset()
ROLES = ("anonymous", "contractor", "reviewer", "lead", "admin")


@dataclass(frozen=True)
class Entry:
    allowed: frozenset = NOBODY
    method: str = "get"
    kwargs: Callable[[World], dict] = field(default=lambda w: {})
    owner: str | None = None  # a World attribute: the person whose object it is (they do reach it)
    public: bool = False  # open to anonymous visitors too
    json: bool = False  # an API endpoint (JSON body, 403 for anonymous)


def _public(**kw) -> Entry:
    return Entry(allowed=EVERYONE, public=True, **kw)


def _claim(w: World) -> dict:
    return {"claim_id": w.claim_other.pk}


def _sprint(w: World) -> dict:
    return {"sprint_id": w.sprint_other.pk}


def _payout(w: World) -> dict:
    return {"payout_id": w.payout_other.pk}


def _export(w: World) -> dict:
    return {"export_id": w.export.pk}


def _gated(w: World) -> dict:
    return {"slug": w.gated.slug}


MATRIX: dict[str, Entry] = {
    "home": Entry(EVERYONE),
    "healthz": _public(),
    # allauth: the sign-in pages are public; the account pages are each person's own.
    "account_login": _public(),
    "account_logout": _public(),
    "account_inactive": _public(),
    "account_signup": _public(),
    "account_reauthenticate": Entry(EVERYONE),
    "account_email": Entry(EVERYONE),
    "account_email_verification_sent": _public(),
    "account_change_password": Entry(EVERYONE),
    "account_set_password": Entry(EVERYONE),
    "account_reset_password": _public(),
    "account_confirm_login_code": _public(),
    "account_confirm_email": _public(kwargs=lambda w: {"key": "not-a-real-key"}),
    "account_reset_password_from_key_done": _public(),
    "account_reset_password_from_key": _public(kwargs=lambda w: {"uidb36": "1", "key": "not-a-real-key"}),
    "account_reset_password_done": _public(),
    "profile": Entry(EVERYONE),
    "notifications": Entry(EVERYONE),
    # Email: each person's own choices; an unsubscribe link is its own authority (a signed token, no sign-in).
    "email_preferences": Entry(EVERYONE),
    "email_unsubscribe": _public(kwargs=lambda w: {"token": unsubscribe_token(w.other.pk, "pay")}),
    "notification_read": Entry(NOBODY, "post", lambda w: {"notification_id": w.notification_other.pk}, owner="other"),
    "notification_open": Entry(NOBODY, "get", lambda w: {"notification_id": w.notification_other.pk}, owner="other"),
    "notifications_read_all": Entry(EVERYONE, "post"),
    # The contractor's pages and API: their own lists; someone else's claim or review is not found.
    "work:dashboard": Entry(CONTRACTORS),
    "work:my_work": Entry(CONTRACTORS),
    "work:lottery_join": Entry(CONTRACTORS, "post", lambda w: {"batch_id": w.lottery.pk}),
    "work:lottery_leave": Entry(CONTRACTORS, "post", lambda w: {"batch_id": w.lottery.pk}),
    "work:project": Entry(NOBODY, "get", _gated, owner="other"),
    "work:start": Entry(NOBODY, "post", _gated, owner="other"),
    # The instructions' history: the contractors who may work on the project, and everyone who grades work.
    "work:instructions": Entry(REVIEWERS, "get", _gated, owner="other"),
    "work:claim": Entry(NOBODY, "get", _claim, owner="other"),
    "work:heartbeat": Entry(NOBODY, "post", _claim, owner="other"),
    "work:draft": Entry(NOBODY, "post", _claim, owner="other"),
    "work:submit": Entry(NOBODY, "post", _claim, owner="other"),
    "work:release": Entry(NOBODY, "post", _claim, owner="other"),
    "work:report": Entry(NOBODY, "post", _claim, owner="other"),
    "work:open": Entry(NOBODY, "post", _claim, owner="other"),
    "work:turns": Entry(NOBODY, "post", lambda w: {"claim_id": w.claim_redteam_other.pk}, owner="other"),
    "work:turn": Entry(NOBODY, "get", lambda w: {"claim_id": w.claim_redteam_other.pk, "turn_id": w.turn_other.pk},
                       owner="other"),
    "work:turn_stream": Entry(NOBODY, "get", lambda w: {"claim_id": w.claim_redteam_other.pk,
                                                        "turn_id": w.turn_other.pk}, owner="other"),
    "work:appeal": Entry(NOBODY, "post", lambda w: {"review_id": w.review_other.pk}, owner="other"),
    # A voice: only the flagged or paused person answers or appeals; the History page is one's own.
    "work:flag_respond": Entry(NOBODY, "post", lambda w: {"flag_id": w.flag_other.pk}, owner="other"),
    "work:pause_appeal": Entry(NOBODY, "post", lambda w: {"pause_id": w.pause_other.pk}, owner="other"),
    "work:history": Entry(CONTRACTORS),
    "payouts:earnings": Entry(CONTRACTORS),
    "payouts:statement": Entry(NOBODY, "get", _payout, owner="other"),
    "payouts:entry": Entry(NOBODY, "get", lambda w: {"entry_id": w.other.ledger_entries.order_by("id").first().pk},
                           owner="other"),
    "payouts:statement_csv": Entry(NOBODY, "get", _payout, owner="other"),
    "api-projects": Entry(CONTRACTORS, json=True),
    "api-claims": Entry(CONTRACTORS, json=True),
    "api-claim-next": Entry(NOBODY, "post", _gated, owner="other", json=True),
    "api-claim-submit": Entry(NOBODY, "post", _claim, owner="other", json=True),
    "api-claim-release": Entry(NOBODY, "post", _claim, owner="other", json=True),
    "api-claim-open": Entry(NOBODY, "post", _claim, owner="other", json=True),
    # Reviewers grade other people's work (never their own): that is their job.
    "review:queue": Entry(REVIEWERS),
    "review:next": Entry(REVIEWERS),
    "review:grade": Entry(REVIEWERS, "get", lambda w: {"submission_id": w.submission_waiting.pk}),
    "review:appeals": Entry(REVIEWERS),
    "review:appeal_decide": Entry(REVIEWERS, "post", lambda w: {"appeal_id": w.appeal_other.pk}),
    "api-review-next": Entry(REVIEWERS, json=True),
    "api-review-create": Entry(REVIEWERS, "post", lambda w: {"submission_id": w.submission_waiting.pk}, json=True),
    # Team leads: their own sprints, and the flags and pauses of their people on their projects.
    "fairness:index": Entry(LEADS),
    "fairness:batch": Entry(LEADS, "get", lambda w: {"batch_id": w.lottery.pk}),
    "fairness:project": Entry(LEADS, "get", lambda w: {"slug": w.shared.slug}),
    "api-fairness-batch": Entry(LEADS, "get", lambda w: {"batch_id": w.lottery.pk}, json=True),
    "api-fairness-project": Entry(LEADS, "get", lambda w: {"slug": w.shared.slug}, json=True),
    "lead:home": Entry(LEADS),
    "lead:sprints": Entry(LEADS),
    "lead:sprint_create": Entry(LEADS),
    "lead:sprint_board": Entry(ADMINS, "get", _sprint, owner="other_lead"),
    "lead:sprint_board_fragment": Entry(ADMINS, "get", _sprint, owner="other_lead"),
    "lead:sprint_edit": Entry(ADMINS, "get", _sprint, owner="other_lead"),
    "lead:sprint_roster": Entry(ADMINS, "get", _sprint, owner="other_lead"),
    "lead:sprint_announce": Entry(ADMINS, "post", _sprint, owner="other_lead"),
    "lead:flags": Entry(LEADS),
    "lead:flag_decide": Entry(ADMINS, "post", lambda w: {"flag_id": w.flag_other.pk}, owner="other_lead"),
    "lead:pause_lift": Entry(ADMINS, "post", lambda w: {"pause_id": w.pause_other.pk}, owner="other_lead"),
    # The lead who paused someone does not decide the appeal of it: admins, or another lead of theirs.
    "lead:pause_appeal_decide": Entry(ADMINS, "post", lambda w: {"appeal_id": w.pause_appeal_other.pk}),
    "lead:figures_recompute": Entry(LEADS, "post"),
    "lead:problems": Entry(LEADS),
    # "other"'s report is on the other lead's project: the probing lead may not close it.
    "lead:problem_resolve": Entry(ADMINS, "post", lambda w: {"report_id": w.report_other.pk}, owner="other_lead"),
    # The lead's day (issue 20). A person's page: only the people a lead leads ("reviewer" is in nobody's
    # sprint); graded work and second opinions of their own people; a differing second opinion is decided
    # by a lead of that person on that project (or an admin), never by its first reviewer.
    "lead:person": Entry(ADMINS, "get", lambda w: {"contractor_id": w.reviewer.pk}),
    "lead:graded": Entry(LEADS),
    "lead:second_opinions": Entry(LEADS),
    "lead:second_opinions_sample": Entry(LEADS, "post"),
    "lead:second_opinion_decide": Entry(ADMINS, "post", lambda w: {"opinion_id": w.second_opinion_differs.pk},
                                        owner="other_lead"),
    "review:second_opinions": Entry(REVIEWERS),
    "review:second_opinion": Entry(REVIEWERS, "get", lambda w: {"opinion_id": w.second_opinion_pending.pk}),
    "lead:questions": Entry(LEADS),
    "lead:question_answer": Entry(ADMINS, "post", lambda w: {"question_id": w.question_other.pk}, owner="other_lead"),
    "lead:question_pin": Entry(ADMINS, "post", lambda w: {"question_id": w.question_other.pk}, owner="other_lead"),
    # Questions: one's own; another's claim or a sprint one is not in is not found.
    "questions:mine": Entry(CONTRACTORS),
    "questions:ask_claim": Entry(NOBODY, "post", _claim, owner="other"),
    "questions:ask_sprint": Entry(NOBODY, "post", _sprint, owner="other"),
    # Admins set up the marketplace and pay people.
    "manage:home": Entry(ADMINS),
    "manage:batch_schedule": Entry(ADMINS, "get", lambda w: {"batch_id": w.draft.pk}),
    "manage:batches": Entry(ADMINS),
    "manage:batch": Entry(ADMINS, "get", lambda w: {"batch_id": w.draft.pk}),
    "manage:batch_close": Entry(ADMINS, "post", lambda w: {"batch_id": w.draft.pk}),
    "manage:people": Entry(ADMINS),
    "manage:person": Entry(ADMINS, "get", lambda w: {"user_id": w.other.pk}),
    "manage:person_role": Entry(ADMINS, "post", lambda w: {"user_id": w.other.pk}),
    "manage:projects": Entry(ADMINS),
    "manage:project_create": Entry(ADMINS),
    "manage:project_edit": Entry(ADMINS, "get", lambda w: {"project_id": w.rating.pk}),
    "manage:rate_change": Entry(ADMINS, "get", lambda w: {"project_id": w.rating.pk}),
    "manage:lineage_answer": Entry(ADMINS, "post", lambda w: {"project_id": w.rating.pk}),
    "accounts_manage:audit": Entry(ADMINS),
    "manage:markdown_preview": Entry(ADMINS, "post"),
    "manage:imports": Entry(ADMINS),
    "manage:import_detail": Entry(ADMINS, "get", lambda w: {"import_id": w.task_import.pk}),
    "manage:import_progress": Entry(ADMINS, "get", lambda w: {"import_id": w.task_import.pk}),
    "manage:calendar": Entry(ADMINS),
    "manage:model_endpoints": Entry(ADMINS, "get", lambda w: {"project_id": w.redteam.pk}),
    "manage:model_endpoint": Entry(ADMINS, "get", lambda w: {"endpoint_id": w.endpoint.pk}),
    "manage:model_endpoint_check": Entry(ADMINS, "post", lambda w: {"endpoint_id": w.endpoint.pk}),
    "manage:generations": Entry(ADMINS),
    "manage:generation": Entry(ADMINS, "get", lambda w: {"generation_id": w.generation.pk}),
    "manage:generation_progress": Entry(ADMINS, "get", lambda w: {"generation_id": w.generation.pk}),
    "manage:generation_retry": Entry(ADMINS, "post", lambda w: {"generation_id": w.generation.pk}),
    "manage:media_library": Entry(ADMINS, "get", lambda w: {"project_id": w.visual.pk}),
    "manage:media_upload": Entry(ADMINS, "post", lambda w: {"project_id": w.visual.pk}),
    # Task media are served to anyone signed in (tests/projects/test_media.py); a path that is no
    # task's media file is found by nobody.
    "media": Entry(NOBODY, "get", lambda w: {"path": "imports/2026/12/tasks.jsonl"}),
    "payouts_manage:payouts": Entry(ADMINS),
    "payouts_manage:draft": Entry(ADMINS, "post"),
    "payouts_manage:approve": Entry(ADMINS, "post"),
    "payouts_manage:statement": Entry(ADMINS, "get", _payout),
    "payouts_manage:statement_csv": Entry(ADMINS, "get", _payout),
    "payouts_manage:mark_paid": Entry(ADMINS, "post", _payout),
    "payouts_manage:wage_floor": Entry(ADMINS),
    "payouts_manage:bonuses": Entry(ADMINS),
    "api-schema": _public(json=True),
    "api-docs": _public(),
    # Data out: everyone's own API tokens; exports, final labels, webhooks and the admin API for admins.
    "api_tokens": Entry(EVERYONE),
    "api_token_revoke": Entry(NOBODY, "post", lambda w: {"token_id": w.token_other.pk}, owner="other"),
    "manage_data:exports": Entry(ADMINS),
    "manage_data:export_detail": Entry(ADMINS, "get", _export),
    "manage_data:export_progress": Entry(ADMINS, "get", _export),
    "manage_data:export_download": Entry(ADMINS, "get", _export),
    "manage_data:batch_labels": Entry(ADMINS, "get", lambda w: {"batch_id": w.lottery.pk}),
    "manage_data:batch_labels_compute": Entry(ADMINS, "post", lambda w: {"batch_id": w.lottery.pk}),
    "api-admin-projects": Entry(ADMINS, json=True),
    "api-admin-webhooks": Entry(ADMINS, "get", lambda w: {"slug": w.shared.slug}, json=True),
    "api-admin-webhook-deliveries": Entry(ADMINS, "get", lambda w: {"slug": w.shared.slug}, json=True),
    "api-admin-webhook-resend": Entry(ADMINS, "post", lambda w: {"delivery_id": w.delivery.pk}, json=True),
    "api-admin-batch": Entry(ADMINS, "get", lambda w: {"batch_id": w.draft.pk}, json=True),
    "api-admin-batch-imports": Entry(ADMINS, "get", lambda w: {"batch_id": w.draft.pk}, json=True),
    "api-admin-batch-schedule": Entry(ADMINS, "post", lambda w: {"batch_id": w.draft.pk}, json=True),
    "api-admin-batch-release": Entry(ADMINS, "post", lambda w: {"batch_id": w.draft.pk}, json=True),
    "api-admin-batch-labels": Entry(ADMINS, "get", lambda w: {"batch_id": w.lottery.pk}, json=True),
    "api-admin-import": Entry(ADMINS, "get", lambda w: {"import_id": w.task_import.pk}, json=True),
    "api-admin-exports": Entry(ADMINS, json=True),
    "api-admin-export": Entry(ADMINS, "get", _export, json=True),
    "api-admin-export-download": Entry(ADMINS, "get", _export, json=True),
    "api-admin-submissions": Entry(ADMINS, json=True),
}

# Every route of the Django admin is its own staff check (admins only): one rule covers them all.
ADMIN_NAMESPACE = "admin"
