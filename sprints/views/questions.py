"""Questions in the product (issue 20): contractors ask on a task (from the workspace) or on a sprint
and read the answers on "My questions"; leads answer in place and pin answers to a project's FAQ."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import contractor_required, lead_required
from annotations.selectors import claim_get_for_user
from taskhub.errors import DomainError, NotFound

from ..models import Sprint
from ..selectors import questions as sel
from ..selectors import sprints_for_member
from ..services import questions as svc


def _mine_page(request, *, error=None, status=200):
    return render(request, "questions/mine.html", {
        "questions": list(sel.questions_of_contractor(user=request.user)[:200]),
        "sprints": list(sprints_for_member(request.user)), "error": error,
        "posted": request.POST if error else {},
    }, status=status)


@contractor_required
def mine(request):
    return _mine_page(request)


@require_POST
@contractor_required
def ask_on_sprint(request, sprint_id):
    sprint = Sprint.objects.filter(pk=sprint_id, memberships__contractor=request.user).first()
    if sprint is None:
        raise NotFound("No such sprint of yours.")
    try:
        svc.question_ask_on_sprint(sprint=sprint, contractor=request.user, body=request.POST.get("body", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _mine_page(request, error=exc, status=400)
    messages.success(request, f"Question sent to the lead of {sprint.name}; you will be notified of the answer.")
    return redirect("questions:mine")


@require_POST
@contractor_required
def ask_on_claim(request, claim_id):
    claim = claim_get_for_user(claim_id=claim_id, user=request.user)
    try:
        svc.question_ask_on_claim(claim=claim, contractor=request.user, body=request.POST.get("body", ""))
    except DomainError as exc:
        if exc.status != 400:
            raise
        messages.error(request, f"Your question was not sent: {exc.message} "
                                f"{'; '.join(e['message'] for e in exc.errors)}".strip())
        return redirect("work:claim", claim_id=claim.pk)
    messages.success(request, "Question sent to your lead; you will be notified of the answer (My questions).")
    return redirect("work:claim", claim_id=claim.pk)


def _lead_page(request, *, error=None, failed_id=None, status=200):
    questions = sel.questions_for_lead(lead=request.user)
    return render(request, "questions/lead.html", {
        "open": list(questions.filter(answered_at__isnull=True).order_by("created_at", "id")[:200]),
        "answered": list(questions.filter(answered_at__isnull=False).order_by("-answered_at", "-id")[:50]),
        "error": error, "failed_id": failed_id, "posted": request.POST if error else {},
    }, status=status)


@lead_required
def lead_questions(request):
    return _lead_page(request)


@require_POST
@lead_required
def question_answer(request, question_id):
    question = sel.question_get_for_lead(lead=request.user, question_id=question_id)
    try:
        svc.question_answer(question=question, lead=request.user, answer=request.POST.get("answer", ""),
                            pin=request.POST.get("pin") == "on")
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _lead_page(request, error=exc, failed_id=question.pk, status=400)
    messages.success(request, "Answered; they are notified.")
    return redirect("lead:questions")


@require_POST
@lead_required
def question_pin(request, question_id):
    question = sel.question_get_for_lead(lead=request.user, question_id=question_id)
    try:
        question = svc.question_pin(question=question, lead=request.user, pinned=request.POST.get("pinned") == "on")
    except DomainError as exc:
        if exc.status != 400:
            raise
        return _lead_page(request, error=exc, failed_id=question.pk, status=400)
    messages.success(request, "Pinned to the project's FAQ." if question.pinned_at else "Taken out of the FAQ.")
    return redirect("lead:questions")
