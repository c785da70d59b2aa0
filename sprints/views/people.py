"""The lead's pages about people and grades (issue 20): a page per contractor, graded work browsed
again, and second opinions (sampling, the decisions, agreement between reviewers). A lead sees only
their own people on their own projects (`led_by`); admins see everyone. Anyone else is a 404."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import lead_required
from annotations import services as review_services
from annotations.forms import object_id_or_none
from annotations.services.second_opinions import SAMPLE_MAX, Outcome
from projects.models import Project
from taskhub.errors import DomainError, NotFound
from taskhub.parsing import moment_or_none, object_id, whole_number_or_none

from ..selectors import people as sel

GRADED_FILTERS = ("project", "contractor", "reviewer", "grade", "from", "until")


@lead_required
def person(request, contractor_id):
    contractor = sel.person_get_for_lead(lead=request.user, contractor_id=contractor_id)
    return render(request, "lead/person.html", sel.person_page(lead=request.user, contractor=contractor))


def _filters(get) -> dict:
    # Filters come from links and a GET form: anything malformed is ignored, never a 500.
    return {
        "project_id": object_id_or_none(get.get("project")),
        "contractor_id": object_id_or_none(get.get("contractor")),
        "reviewer_id": object_id_or_none(get.get("reviewer")),
        "grade": whole_number_or_none(get.get("grade"), minimum=1, maximum=5),
        "submitted_from": moment_or_none(get.get("from")),
        "submitted_to": moment_or_none(get.get("until")),
    }


@lead_required
def graded(request):
    filters = _filters(request.GET)
    reviews = sel.graded_for_lead(lead=request.user, **filters)
    page_number = whole_number_or_none(request.GET.get("page"), minimum=1, maximum=1_000_000) or 1
    page = Paginator(reviews, sel.GRADED_PAGE).get_page(page_number)
    query = urlencode([(k, request.GET.get(k)) for k in GRADED_FILTERS if request.GET.get(k)])
    return render(request, "lead/graded.html", {
        "page": page, "reviews": list(page.object_list), "query": query, "filters": filters, "get": request.GET,
        "people": list(sel.people_led_by(lead=request.user)[:500]),
        "projects": list(Project.objects.order_by("name").only("id", "name")[:500]),
        "grades": (1, 2, 3, 4, 5),
    })


def _second_opinions_page(request, *, error=None, failed_id=None, status=200):
    return render(request, "lead/second_opinions.html", {
        "to_decide": list(sel.second_opinions_to_decide(lead=request.user)[:100]),
        "agreement": sel.reviewer_agreement(lead=request.user),
        "recent": list(sel.second_opinions_for_lead(lead=request.user).order_by("-requested_at", "-id")[:50]),
        "projects": list(Project.objects.order_by("name").only("id", "name")[:500]),
        "outcomes": Outcome.CHOICES, "sample_max": SAMPLE_MAX,
        "reason_min_chars": settings.TASKHUB_DECISION_REASON_MIN_CHARS,
        "error": error, "failed_id": failed_id, "posted": request.POST if error else {},
    }, status=status)


@lead_required
def second_opinions(request):
    return _second_opinions_page(request)


@require_POST
@lead_required
def second_opinions_sample(request):
    try:
        project_id = object_id(request.POST.get("project"), field="project", required=False)
        drawn = review_services.second_opinions_sample(
            by=request.user, reviews=sel.second_opinion_candidates(lead=request.user, project_id=project_id),
            size=request.POST.get("size", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _second_opinions_page(request, error=exc, failed_id="sample", status=400)
    if drawn:
        messages.success(request, f"{drawn} graded submission{'s' if drawn != 1 else ''} sampled for a blind "
                                  "second opinion (Review → Second opinions).")
    else:
        messages.info(request, "Nothing left to sample: every grade of your people that may be sampled has a "
                               "second opinion (your own grades are never sampled by you).")
    return redirect("lead:second_opinions")


@require_POST
@lead_required
def second_opinion_decide(request, opinion_id):
    opinion = sel.second_opinions_to_decide(lead=request.user).filter(pk=opinion_id).first()
    if opinion is None:
        raise NotFound("No such second opinion for you to decide.")
    try:
        opinion = review_services.second_opinion_decide(
            opinion=opinion, decider=request.user, outcome=request.POST.get("outcome", ""),
            reason=request.POST.get("reason", ""), revised_score=request.POST.get("revised_score") or None)
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _second_opinions_page(request, error=exc, failed_id=opinion.pk, status=400)
    messages.success(request, f"Decided: {opinion.get_status_display().lower()}. The contractor reads your reason.")
    return redirect("lead:second_opinions")
