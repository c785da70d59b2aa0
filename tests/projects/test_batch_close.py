"""Closing a batch is a decision (issue 20, part 3): a reason is required, kept on the batch with who
closed it, audited; the contractors still holding its claims are told why and may still submit them.
The batch page's form and the Django admin's action ask for the reason."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.mail import group_of
from accounts.models import AuditEntry, EmailGroup, Notification
from annotations import services as work_services
from annotations.models import Claim, Submission
from projects.errors import BatchCloseError, BatchStateError
from projects.models import Batch
from projects.services import batch_close
from taskhub.errors import Forbidden
from tests import factories
from tests.annotations.reviewing import VALID_ANSWERS, claim_for, make_project, make_task, submit

pytestmark = pytest.mark.django_db

REASON = "The client withdrew these prompts; nothing more is needed."


def _open_batch_with_holders():
    project = make_project("pairwise", name="Helpful answers")
    batch = factories.BatchFactory(project=project, name="Week 49", status=Batch.Status.OPEN)
    holding, finished, idle = (factories.ContractorFactory() for _ in range(3))
    for _ in range(3):
        make_task(project, batch=batch)
    submit(finished, project, task=True)  # their claim is submitted: nothing held
    held = claim_for(holding, project)
    return batch, held, holding, finished, idle


def test_closing_needs_a_reason_and_changes_nothing_without_one(admin_user):
    batch = factories.BatchFactory(status=Batch.Status.OPEN)
    for short in ("", "   ", "done", "x" * 19, "long enough but with a \x00 in it"):
        with pytest.raises(BatchCloseError) as refused:
            batch_close(batch=batch, by=admin_user, reason=short)
        assert refused.value.field == "reason"
    with pytest.raises(Forbidden):
        batch_close(batch=batch, by=factories.LeadFactory(), reason=REASON)
    stored = Batch.objects.get(pk=batch.pk)
    assert stored.status == Batch.Status.OPEN and stored.closed_reason == "" and stored.closed_by is None
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.BATCH_CLOSED).exists()


def test_closing_keeps_the_reason_audits_and_tells_only_the_holders_who_may_still_submit(admin_user):
    batch, held, holding, finished, idle = _open_batch_with_holders()
    closed = batch_close(batch=batch, by=admin_user, reason=f"  {REASON}  ")
    assert closed.holders_told == 1
    stored = Batch.objects.get(pk=batch.pk)
    assert stored.status == Batch.Status.CLOSED
    assert (stored.closed_reason, stored.closed_by) == (REASON, admin_user) and stored.closed_at is not None
    [entry] = AuditEntry.objects.filter(kind=AuditEntry.Kind.BATCH_CLOSED)
    assert (entry.actor, entry.reason, entry.project_id, entry.object_id) == (admin_user, REASON, batch.project_id,
                                                                             batch.pk)
    assert entry.data == {"holders_told": 1}
    [notice] = Notification.objects.filter(kind="batch_closed")
    assert notice.user == holding
    assert "“Week 49” is closed" in notice.title and REASON in notice.body and "may still be submitted" in notice.body
    assert not Notification.objects.filter(user__in=[finished, idle], kind="batch_closed").exists()
    assert group_of("batch_closed") == EmailGroup.DECISIONS
    # The held claim may still be submitted, as before.
    work_services.claim_submit(claim=held, contractor=holding, answer=VALID_ANSWERS["pairwise"])
    assert Claim.objects.get(pk=held.pk).status == Claim.Status.SUBMITTED
    assert Submission.objects.filter(claim=held).exists()
    # Never twice: the reason and the audit stay the first decision's.
    with pytest.raises(BatchStateError):
        batch_close(batch=Batch.objects.get(pk=batch.pk), by=admin_user, reason="A second reason, long enough.")
    assert Batch.objects.get(pk=batch.pk).closed_reason == REASON
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.BATCH_CLOSED).count() == 1


def test_the_batch_page_asks_for_the_reason_and_shows_it(client, admin_user):
    batch, _held, holding, _finished, _idle = _open_batch_with_holders()
    client.force_login(admin_user)
    url = reverse("manage:batch_close", args=[batch.pk])
    page = client.get(reverse("manage:batch", args=[batch.pk])).content.decode()
    assert f'action="{url}"' in page and 'name="close-reason"' in page
    refused = client.post(url, {"close-reason": "no"})
    assert refused.status_code == 400 and "reason" in refused.context["close_form"].errors
    assert 'data-field="close-reason"' in refused.content.decode()
    missing = client.post(url, {})
    assert missing.status_code == 400 and "reason" in missing.context["close_form"].errors
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.OPEN
    done = client.post(url, {"close-reason": REASON})
    assert done.status_code == 302 and done["Location"] == reverse("manage:batch", args=[batch.pk])
    shown = client.get(done["Location"]).content.decode()
    assert "1 contractor holding its tasks told why" in shown
    closed = shown[shown.index('id="batch-closed"'):]
    assert REASON in closed[:600] and str(admin_user) in closed[:600]
    assert 'name="close-reason"' not in shown
    assert Notification.objects.filter(user=holding, kind="batch_closed").count() == 1
    again = client.post(url, {"close-reason": REASON})
    assert again.status_code == 302 and "already closed" in client.get(again["Location"]).content.decode()


def test_the_django_admin_action_asks_for_the_reason(client_for, admin_user):
    batch = factories.BatchFactory(status=Batch.Status.DRAFT)
    client = client_for(admin_user)
    changelist = reverse("admin:projects_batch_changelist")
    action = {"action": "close", ACTION_CHECKBOX_NAME: [str(batch.pk)]}
    asked = client.post(changelist, action)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    short = client.post(changelist, {**action, "apply": "yes", "reason": "no"})
    assert short.status_code == 200 and Batch.objects.get(pk=batch.pk).status == Batch.Status.DRAFT
    done = client.post(changelist, {**action, "apply": "yes", "reason": REASON})
    assert done.status_code == 302
    stored = Batch.objects.get(pk=batch.pk)
    assert (stored.status, stored.closed_reason, stored.closed_by) == (Batch.Status.CLOSED, REASON, admin_user)
