"""The Django admin for projects: task import upload and follow-up, batch actions, readable
tasks, and pay rates whose refusals come back as form errors."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from projects.models import Batch, PayRate, Task, TaskImport
from taskhub.celery import app
from tests import factories
from tests.projects.import_helpers import (
    HH_LINES,
    hh_bytes,
    jsonl,
    media_root,  # noqa: F401 - fixture
    pair,
    pairwise_batch,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

ST = TaskImport.Status


@pytest.fixture
def admin_client(client_for, admin_user):
    return client_for(admin_user)


@pytest.fixture
def eager_celery():
    """Run Celery tasks in-process for these page tests (a real worker is used in test_import_worker)."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def import_url(batch):
    return reverse("admin:projects_batch_import", args=[batch.pk])


# --- import ---------------------------------------------------------------------------------


def test_batch_page_links_to_the_import_form(admin_client):
    batch = pairwise_batch()
    page = admin_client.get(reverse("admin:projects_batch_change", args=[batch.pk]))
    assert page.status_code == 200
    assert f'href="{import_url(batch)}"' in page.content.decode()
    form = admin_client.get(import_url(batch))
    assert form.status_code == 200
    html = form.content.decode()
    assert 'enctype="multipart/form-data"' in html and 'name="file"' in html and 'name="gold_from_reference"' in html
    assert "response_a" in html  # the example payload of the project's type


def test_upload_end_to_end_through_the_worker_task(admin_client, django_capture_on_commit_callbacks, eager_celery):
    batch = pairwise_batch()
    upload = SimpleUploadedFile("hh-rlhf.jsonl.gz", hh_bytes())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(import_url(batch), {"file": upload, "format": "auto",
                                                         "gold_from_reference": "on"})
    task_import = TaskImport.objects.get(batch=batch)
    change_url = reverse("admin:projects_taskimport_change", args=[task_import.pk])
    assert response.status_code == 302 and response.url == change_url
    assert task_import.created_by.role == "admin" and task_import.gold_from_reference

    # Before the worker gets to it the page says so and refreshes itself.
    waiting = admin_client.get(change_url).content.decode()
    assert "Waiting" in waiting and 'http-equiv="refresh"' in waiting
    assert '<progress max="100" value="0">' in waiting

    assert len(callbacks) == 1
    callbacks[0]()  # the commit happens: the Celery task runs (eagerly here) through the service

    task_import.refresh_from_db()
    assert task_import.status == ST.DONE
    assert Task.objects.filter(batch=batch, gold_answer__isnull=False).count() == HH_LINES
    done = admin_client.get(change_url).content.decode()
    assert f"{HH_LINES} tasks imported" in done
    assert '<progress max="100" value="100">' in done
    assert 'http-equiv="refresh"' not in done


def test_failed_upload_page_lists_the_errors_with_lines(admin_client, django_capture_on_commit_callbacks,
                                                        eager_celery, settings):
    settings.TASKHUB_IMPORT_MAX_ERRORS = 2
    batch = pairwise_batch()
    content = jsonl(pair(1), "<script>alert(1)</script>", pair(1), "nope")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(import_url(batch), {"file": SimpleUploadedFile("t.jsonl", content),
                                                         "format": "jsonl"})
    page = admin_client.get(response.url).content.decode()
    assert "Failed" in page
    assert "nothing was imported: 3 errors" in page
    assert "<strong>Line 2</strong> not valid JSON" in page
    assert "<strong>Line 3</strong> (external_id) the external id &#x27;t-1&#x27; is also used on line 1" in page
    assert "… and 1 more" in page
    assert "<script>alert(1)" not in page
    assert not Task.objects.filter(batch=batch).exists()


@pytest.mark.parametrize(("setup", "post", "message"), [
    ("rating", {"format": "hh_rlhf"}, "can only be imported into a pairwise project"),
    ("closed", {"format": "auto"}, "is closed; tasks cannot be imported"),
    ("pairwise", {"format": "auto", "empty": True}, "The submitted file is empty."),
    ("pairwise", {"format": "xml"}, "Select a valid choice"),
])
def test_refused_upload_shows_the_reason_on_the_form(admin_client, setup, post, message):
    if setup == "rating":
        batch = pairwise_batch(project=factories.ProjectFactory(task_type="rating"))
    else:
        batch = pairwise_batch(status=Batch.Status.CLOSED if setup == "closed" else Batch.Status.DRAFT)
    content = b"" if post.pop("empty", False) else hh_bytes()
    response = admin_client.post(import_url(batch), {"file": SimpleUploadedFile("hh.jsonl.gz", content), **post})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TaskImport.objects.exists()


def test_import_form_needs_an_admin(client_for, lead):
    batch = pairwise_batch()
    response = client_for(lead).get(import_url(batch))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_import_list_has_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        batch = pairwise_batch()
        TaskImport.objects.create(batch=batch, original_name="x.jsonl", status=ST.DONE, imported_count=3)
    with django_assert_max_num_queries(8):
        page = admin_client.get(reverse("admin:projects_taskimport_changelist"))
    assert page.status_code == 200 and page.content.decode().count("x.jsonl") >= 3


# --- batch actions ----------------------------------------------------------------------------


def action(admin_client, name, batches, **data):
    return admin_client.post(reverse("admin:projects_batch_changelist"), {
        "action": name, ACTION_CHECKBOX_NAME: [b.pk for b in batches], **data,
    }, follow=False)


def split(moment):
    local = timezone.localtime(moment)
    return {"release_at_0": f"{local:%Y-%m-%d}", "release_at_1": f"{local:%H:%M:%S}"}


def test_schedule_action_asks_for_the_time_then_schedules(admin_client):
    batch = pairwise_batch()
    factories.make_tasks(batch, 2)
    first = action(admin_client, "schedule", [batch])
    assert first.status_code == 200
    assert 'name="release_at_0"' in first.content.decode()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT

    when = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    done = action(admin_client, "schedule", [batch], apply="yes", **split(when))
    assert done.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.SCHEDULED
    assert batch.release_at == when
    assert batch.scheduled_by.role == "admin"


def test_schedule_action_shows_the_services_refusal(admin_client):
    batch = pairwise_batch()
    factories.make_tasks(batch, 1)
    page = action(admin_client, "schedule", [batch], apply="yes", **split(timezone.now() + timedelta(hours=1)))
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 batch could not be scheduled" in html
    assert "Releases are announced at least 12 hours ahead" in html
    assert 'name="release_at_0"' in html  # the form is back, to correct the time
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT


def test_schedule_action_schedules_what_it_can_and_names_the_rest(admin_client):
    empty, ready = pairwise_batch(), pairwise_batch()
    factories.make_tasks(ready, 1)
    page = action(admin_client, "schedule", [empty, ready], apply="yes",
                  **split(timezone.now() + timedelta(days=2)))
    html = page.content.decode()
    assert "1 batch could not be scheduled" in html
    assert f"<strong>{empty}</strong>: Import tasks into the batch before scheduling it." in html
    assert f'value="{ready.pk}"' not in html  # only the failed batch is offered again
    assert list(Batch.objects.filter(status=Batch.Status.SCHEDULED)) == [ready]


def test_schedule_action_urgent_with_a_reason(admin_client):
    batch = pairwise_batch()
    factories.make_tasks(batch, 1)
    when = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    response = action(admin_client, "schedule", [batch], apply="yes", urgent="on",
                      urgent_reason="Customer deadline moved", **split(when))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.SCHEDULED and batch.is_urgent
    assert batch.urgent_reason == "Customer deadline moved"


def test_release_now_and_close_actions(admin_client):
    batch = pairwise_batch()
    empty = pairwise_batch()
    factories.make_tasks(batch, 1)
    response = action(admin_client, "release_now", [batch, empty])
    assert response.status_code == 302
    batch.refresh_from_db()
    empty.refresh_from_db()
    assert batch.status == Batch.Status.OPEN
    assert empty.status == Batch.Status.DRAFT
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any("The batch has no tasks to release." in m for m in shown)

    asked = action(admin_client, "close", [batch])
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()  # the reason first
    batch.refresh_from_db()
    assert batch.status == Batch.Status.OPEN
    action(admin_client, "close", [batch], apply="yes", reason="The client withdrew these prompts for good.")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.CLOSED and batch.closed_reason == "The client withdrew these prompts for good."


def test_batch_list_has_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    for _ in range(4):
        factories.make_tasks(pairwise_batch(), 2)
    with django_assert_max_num_queries(10):
        page = admin_client.get(reverse("admin:projects_batch_changelist"))
    assert page.status_code == 200


# --- tasks ------------------------------------------------------------------------------------


def test_task_page_shows_the_payload_pretty_printed_and_escaped(admin_client):
    batch = pairwise_batch()
    task = factories.TaskFactory(
        batch=batch, project=batch.project,
        payload={"prompt": "Is <b>this</b> bold?", "response_a": "Non, c'est écrit", "response_b": "No"},
        gold_answer={"choice": "A"},
    )
    html = admin_client.get(reverse("admin:projects_task_change", args=[task.pk])).content.decode()
    assert '<pre class="taskhub-json">{\n  &quot;prompt&quot;: &quot;Is &lt;b&gt;this&lt;/b&gt; bold?&quot;,' in html
    assert "écrit" in html  # not \u00e9
    assert "&quot;choice&quot;: &quot;A&quot;" in html


# --- pay rates --------------------------------------------------------------------------------


def rate_form(project, amount, effective_from, reason="Rate change"):
    local = timezone.localtime(effective_from)
    return {"project": project.pk, "amount": amount, "currency": "USD", "unit": "per_task",
            "effective_from_0": f"{local:%Y-%m-%d}", "effective_from_1": f"{local:%H:%M:%S}", "reason": reason}


def test_pay_rate_cut_without_notice_is_a_form_error_that_keeps_the_form(admin_client):
    project = factories.ProjectFactory()
    factories.PayRateFactory(project=project, amount=Decimal("2.0000"))
    response = admin_client.post(reverse("admin:projects_payrate_add"),
                                 rate_form(project, "1.50", timezone.now(), reason="Budget cut"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "effective_from" in form.errors
    assert "This lowers pay from" in form.errors["effective_from"][0]
    html = response.content.decode()
    assert 'value="1.50"' in html and "Budget cut" in html
    assert PayRate.objects.filter(project=project).count() == 1


def test_pay_rate_raise_is_set_through_the_service(admin_client, admin_user):
    project = factories.ProjectFactory()
    factories.PayRateFactory(project=project, amount=Decimal("2.0000"))
    response = admin_client.post(reverse("admin:projects_payrate_add"),
                                 rate_form(project, "2.50", timezone.now(), reason="Harder tasks"))
    assert response.status_code == 302
    rate = PayRate.objects.filter(project=project).order_by("-id").first()
    assert rate.amount == Decimal("2.5000") and rate.set_by == admin_user and rate.reason == "Harder tasks"
    assert PayRate.objects.filter(project=project).count() == 2


def test_pay_rate_blank_reason_is_a_field_error(admin_client):
    project = factories.ProjectFactory()
    data = rate_form(project, "3.00", timezone.now(), reason="   ")
    response = admin_client.post(reverse("admin:projects_payrate_add"), data)
    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    assert not PayRate.objects.filter(project=project).exists()
