"""Reviewer pages: the review queue and grading, and the appeals inbox."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import reviewer_required
from accounts.models import User
from projects.media import media_csp_allow
from taskhub.errors import Conflict, DomainError, NotFound

from .. import selectors, services
from ..forms import QUEUE_FILTERS, object_id_or_none, queue_filters_from_get, review_from_post
from ..models import Appeal, Review


def _filter_query(request) -> str:
    """The queue's filters as given, to carry from one item to the next."""
    return urlencode([(k, v) for k in QUEUE_FILTERS for v in request.GET.getlist(k) if v])


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


@reviewer_required
def queue(request):
    filters = queue_filters_from_get(request.GET)
    waiting = selectors.review_queue(reviewer=request.user, **filters)
    items = list(waiting[:100])
    per_project = (
        selectors.review_queue(reviewer=request.user).order_by().values("project_id", "project__name")
        .annotate(n=Count("id")).order_by("project__name")
    )
    contractors = (
        User.objects.filter(pk__in=selectors.review_queue(reviewer=request.user).order_by().values("contractor_id"))
        .order_by("email").only("id", "email", "display_name")
    )
    # Oldest first (the selector's order), so the first item is the longest wait.
    context = {
        "items": items, "total": waiting.count(), "per_project": list(per_project), "contractors": list(contractors),
        "now": timezone.now(), "oldest": items[0] if items else None,
        "filters": filters, "query": _filter_query(request),
        "selected_project": request.GET.get("project", ""), "selected_contractor": request.GET.get("contractor", ""),
    }
    return render(request, "review/queue.html", context)


SKIPPED_SESSION_KEY = "review_skipped"


@reviewer_required
def next_item(request):
    filters = queue_filters_from_get(request.GET)
    skipped = request.session.get(SKIPPED_SESSION_KEY, [])
    skip = object_id_or_none(request.GET.get("skip"))
    if skip is not None and skip not in skipped:
        # Remembered for this session only, so a skipped item comes back another day.
        skipped = [*skipped, skip][-200:]
        request.session[SKIPPED_SESSION_KEY] = skipped
    item = selectors.review_next_for(reviewer=request.user, skip_ids=skipped, **filters)
    if item is None:
        return render(request, "review/empty.html", {"query": _filter_query(request)})
    return redirect(_with_query(reverse("review:grade", args=[item.pk]), _filter_query(request)))


def _grade_page(request, submission, *, form=None, error=None, errors=(), status=200, conflict=False):
    context = {
        "submission": submission, "task": submission.task, "project": submission.project,
        "answer": submission.answer, "form": form or {"marks": {}},
        "error": error, "errors": list(errors), "conflict": conflict, "query": _filter_query(request),
        "reason_min_chars": settings.TASKHUB_LOW_GRADE_REASON_MIN_CHARS,
        "next_url": _with_query(reverse("review:next"), _filter_query(request)),
        "skip_url": _with_query(reverse("review:next"), "&".join(filter(None, [_filter_query(request),
                                                                               f"skip={submission.pk}"]))),
    }
    return media_csp_allow(render(request, "review/grade.html", context, status=status), context["project"])


@reviewer_required
def grade(request, submission_id):
    submission = selectors.submission_get_for_review(submission_id=submission_id, reviewer=request.user)
    if request.method != "POST":
        already = Review.objects.filter(submission=submission).exclude(kind=Review.Kind.CALIBRATION).exists()
        mine = submission.is_gold and Review.objects.filter(
            submission=submission, reviewer=request.user, kind=Review.Kind.CALIBRATION).exists()
        if (already and not submission.is_gold) or mine:
            messages.info(request, "That submission has been graded already; here is the next one.")
            return redirect(_with_query(reverse("review:next"), _filter_query(request)))
        return _grade_page(request, submission)
    form = review_from_post(submission.project, request.POST)
    try:
        review = services.review_create(submission=submission, reviewer=request.user, **form)
    except Conflict as exc:
        return _grade_page(request, submission, form=form, error=exc.message, status=409, conflict=True)
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _grade_page(request, submission, form=form, error=exc.message, errors=exc.errors, status=400)
    if review.kind == Review.Kind.CALIBRATION:
        gold = Review.objects.filter(submission=submission, kind=Review.Kind.AUTOMATIC).first()
        messages.info(
            request,
            f"That was a calibration item with a known answer: you gave {review.score}, "
            f"the known answer grades it {gold.score if gold else '—'}. Calibration grades never affect pay.",
        )
    else:
        messages.success(request, f"Graded {review.score}/5.")
    return redirect(_with_query(reverse("review:next"), _filter_query(request)))


def _appeals_page(request, *, error=None, failed_id=None, status=200):
    items = list(selectors.appeals_open_for(decider=request.user)[:100])
    return render(request, "review/appeals.html", {
        "appeals": items, "reason_min_chars": settings.TASKHUB_DECISION_REASON_MIN_CHARS,
        "error": error, "failed_id": failed_id, "posted": request.POST if failed_id else {},
    }, status=status)


@reviewer_required
def appeals(request):
    return _appeals_page(request)


@require_POST
@reviewer_required
def appeal_decide(request, appeal_id):
    appeal = Appeal.objects.select_related("review", "review__submission").filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound("No such appeal.")
    try:
        appeal = services.appeal_decide(
            appeal=appeal, decider=request.user, outcome=request.POST.get("outcome", ""),
            reason=request.POST.get("reason", ""), revised_score=request.POST.get("revised_score") or None,
        )
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _appeals_page(request, error=exc, failed_id=appeal.pk, status=400)
    messages.success(request, f"Appeal {appeal.get_status_display().lower()}; the contractor sees your reason.")
    return redirect("review:appeals")


# --- Second opinions (issue 20): a blind second grade of sampled graded work -----------------------


@reviewer_required
def second_opinions(request):
    items = list(selectors.second_opinions_pending_for(reviewer=request.user)[:100])
    return render(request, "review/second_opinions.html", {"items": items})


@reviewer_required
def second_opinion_grade(request, opinion_id):
    """The work, its task and the grading form, without the first grade (blind)."""
    opinion = selectors.second_opinion_get_for_grading(opinion_id=opinion_id, reviewer=request.user)
    submission = opinion.review.submission
    if request.method != "POST":
        return _second_opinion_page(request, submission)
    form = review_from_post(submission.project, request.POST)
    try:
        opinion = services.second_opinion_grade(opinion=opinion, reviewer=request.user, **form)
    except Conflict as exc:
        return _second_opinion_page(request, submission, form=form, error=exc.message, status=409, conflict=True)
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _second_opinion_page(request, submission, form=form, error=exc.message, errors=exc.errors,
                                    status=400)
    if opinion.status == opinion.Status.AGREED:
        messages.success(request, f"Second opinion saved: {opinion.score}/5 agrees with the first grade.")
    else:
        messages.info(request, f"Second opinion saved: {opinion.score}/5 differs from the first grade; a lead or "
                               "admin who did not give it decides. Pay does not change until then.")
    return redirect("review:second_opinions")


def _second_opinion_page(request, submission, *, form=None, error=None, errors=(), status=200, conflict=False):
    back = reverse("review:second_opinions")
    context = {
        "submission": submission, "task": submission.task, "project": submission.project,
        "answer": submission.answer, "form": form or {"marks": {}}, "second_opinion": True,
        "error": error, "errors": list(errors), "conflict": conflict, "query": "",
        "reason_min_chars": settings.TASKHUB_LOW_GRADE_REASON_MIN_CHARS, "next_url": back, "skip_url": back,
    }
    return media_csp_allow(render(request, "review/grade.html", context, status=status), context["project"])
