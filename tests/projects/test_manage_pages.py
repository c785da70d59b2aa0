"""Admin pages: project set-up, the Markdown preview, rate changes with a preview, imports with
progress and the release calendar."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from projects.models import Batch, GradePolicy, PayRate, Project, Task, TaskImport
from projects.services import task_import_run
from tests import factories

pytestmark = pytest.mark.django_db


def _project_post(**overrides):
    data = {
        "name": "Helpful pairs", "slug": "helpful-pairs", "task_type": "pairwise", "status": "active",
        "description": "Pick the better reply.", "instructions": "# Read both\nThen **choose**.",
        "overlap": "2", "max_active_claims": "3", "claim_minutes": "45",
        "review_sample_rate": "100", "flag_threshold": "2.50", "flag_window": "10", "flag_min_grades": "3",
        "rubric-TOTAL_FORMS": "2", "rubric-INITIAL_FORMS": "0", "rubric-MIN_NUM_FORMS": "0",
        "rubric-MAX_NUM_FORMS": "20",
        "rubric-0-key": "helpful", "rubric-0-label": "Helpfulness", "rubric-0-description": "Answers the question",
        "rubric-1-key": "", "rubric-1-label": "", "rubric-1-description": "",
        "rate-amount": "0.85", "rate-currency": "usd", "rate-unit": "per_task",
        "policy-pay_grade_5": "100", "policy-pay_grade_4": "100", "policy-pay_grade_3": "90",
        "policy-pay_grade_2": "50", "policy-pay_grade_1": "0", "policy-pay_ungraded": "100",
        "wage_floor_guaranteed": "on",
    }
    data.update(overrides)
    return data


def test_an_admin_creates_a_project_with_rubric_rate_and_grade_policy(client_for, admin_user):
    response = client_for(admin_user).post(reverse("manage:project_create"), _project_post())
    project = Project.objects.get(slug="helpful-pairs")
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:project_edit", args=[project.pk])
    assert project.overlap == 2 and project.claim_minutes == 45 and project.task_type == "pairwise"
    assert project.rubric == [{"key": "helpful", "label": "Helpfulness", "description": "Answers the question"}]
    rate = PayRate.objects.get(project=project)
    assert (rate.amount, rate.currency, rate.unit, rate.set_by) == (Decimal("0.8500"), "USD", "per_task", admin_user)
    assert GradePolicy.objects.get(project=project).pay_grade_3 == Decimal("90.00")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"slug": "not a slug!"}, "slug"),
        ({"task_type": "essay"}, "task_type"),
        ({"overlap": "0"}, "overlap"),
        ({"max_active_claims": "-1"}, "max_active_claims"),
        ({"task_type": ""}, "task_type"),
        ({"rate-amount": "-3"}, "rate-amount"),
        ({"rate-currency": "dollars"}, "rate-currency"),
        ({"policy-pay_grade_2": "150"}, "policy-pay_grade_2"),
        ({"rubric-1-label": "Clarity"}, "rubric-1-key"),
        ({"rubric-1-key": "helpful", "rubric-1-label": "Again"}, "rubric-1-key"),
    ],
)
def test_bad_project_input_shows_field_errors_and_saves_nothing(client_for, admin_user, overrides, field):
    response = client_for(admin_user).post(reverse("manage:project_create"), _project_post(**overrides))
    assert response.status_code == 400
    body = response.content.decode()
    assert f'name="{field}"' in body
    assert 'class="error"' in body
    assert not Project.objects.exists()
    assert not PayRate.objects.exists()
    assert not GradePolicy.objects.exists()


def test_type_settings_the_type_refuses_are_a_field_error_and_nothing_is_saved(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(reverse("manage:project_create"), _project_post(
        task_type="image_regions", **{"config__image_regions__labels": "car\ncar"}))
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="config__image_regions__labels"' in body and "line 2: the label" in body
    response = client.post(reverse("manage:project_create"), _project_post(
        task_type="image_regions", **{"config__image_regions__labels": "car", "config__image_regions__iou_threshold":
                                      "1.5"}))
    assert response.status_code == 400
    assert b'data-field="config__image_regions__iou_threshold"' in response.content
    assert not Project.objects.exists()


def test_type_settings_are_fields_of_the_types_schema_and_saved_as_its_config(client_for, admin_user):
    client = client_for(admin_user)
    page = client.get(reverse("manage:project_create")).content.decode()
    assert 'name="task_config_json"' not in page
    assert 'name="config__audio_timestamp__labels"' in page and 'name="config__video_spans__key_frame_boxes"' in page
    assert '<option value="" selected>— choose the task type —</option>' in page  # no audio default
    response = client.post(reverse("manage:project_create"), _project_post(
        task_type="image_regions", slug="", name="Street scenes: cars & people",
        **{"config__image_regions__labels": " car \n\nperson", "config__image_regions__min_region_size": "8"}))
    assert response.status_code == 302
    project = Project.objects.get()
    assert project.slug == "street-scenes-cars-people"  # made from the name
    assert project.task_config["labels"] == ["car", "person"] and project.task_config["min_region_size"] == 8
    assert project.task_config["iou_threshold"] == 0.5  # the schema's default
    edit = client.get(reverse("manage:project_edit", args=[project.pk])).content.decode()
    assert "car\nperson</textarea>" in edit and 'name="config__audio_timestamp__labels"' not in edit


def test_add_a_criterion_without_script_keeps_what_was_typed(client_for, admin_user):
    response = client_for(admin_user).post(reverse("manage:project_create"), _project_post(add_row="1", name="Kept"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="rubric-2-key"' in body and 'value="Kept"' in body and 'class="error"' not in body
    assert not Project.objects.exists()


def test_a_taken_slug_is_a_field_error(client_for, admin_user):
    factories.ProjectFactory(slug="helpful-pairs")
    response = client_for(admin_user).post(reverse("manage:project_create"), _project_post())
    assert response.status_code == 400
    assert b'data-field="slug"' in response.content
    assert Project.objects.count() == 1 and not PayRate.objects.exists()


def test_editing_a_project_keeps_its_type_and_saves_the_rubric(client_for, admin_user):
    project = factories.ProjectFactory(task_type="pairwise")
    # The policy as it is (the defaults): lowering it would need the notice period.
    data = _project_post(slug=project.slug, task_type="rating", **{"rubric-0-key": "honest",
                                                                    "rubric-0-label": "Honesty",
                                                                    "policy-pay_grade_3": "100",
                                                                    "instructions_change_note": "First real text"})
    response = client_for(admin_user).post(reverse("manage:project_edit", args=[project.pk]), data)
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.task_type == "pairwise"  # the type field is disabled once the project exists
    assert project.rubric[0]["key"] == "honest"
    assert project.name == "Helpful pairs"


def test_the_markdown_preview_renders_safely(client_for, admin_user):
    response = client_for(admin_user).post(reverse("manage:markdown_preview"), {
        "instructions": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in body
    assert "<script" not in body and "javascript:" not in body


def test_the_project_form_loads_htmx_for_the_preview_without_inline_scripts(client_for, admin_user):
    body = client_for(admin_user).get(reverse("manage:project_create")).content.decode()
    assert f'hx-post="{reverse("manage:markdown_preview")}"' in body
    assert "<script>" not in body and " onclick=" not in body


# --- rate changes ---------------------------------------------------------------------------


@pytest.fixture
def rated_project(admin_user):
    project = factories.ProjectFactory()
    factories.PayRateFactory(project=project, amount=Decimal("1.00"), effective_from=timezone.now() - timedelta(days=3))
    return project


def _rate(action, **overrides):
    data = {"amount": "1.20", "currency": "USD", "unit": "per_task", "effective_from": "",
            "reason": "Harder tasks this month", "action": action}
    data.update(overrides)
    return data


def test_the_preview_of_a_raise_shows_it_applies_now_and_who_is_told(client_for, admin_user, rated_project):
    eligible = [factories.ContractorFactory() for _ in range(3)]
    url = reverse("manage:rate_change", args=[rated_project.pk])
    response = client_for(admin_user).post(url, _rate("preview"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not a cut" in body
    assert f'data-figure="notified">{len(eligible)} eligible contractors' in body
    assert "Confirm and notify 3 contractors" in body
    assert PayRate.objects.filter(project=rated_project).count() == 1  # a preview changes nothing


def test_confirming_a_raise_saves_it_and_notifies_eligible_contractors(
    client_for, admin_user, rated_project, django_capture_on_commit_callbacks
):
    people = [factories.ContractorFactory() for _ in range(2)]
    url = reverse("manage:rate_change", args=[rated_project.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(url, _rate("confirm"))
    assert response.status_code == 302
    assert PayRate.objects.filter(project=rated_project).count() == 2
    notes = Notification.objects.filter(kind="rate_change")
    assert sorted(notes.values_list("user_id", flat=True)) == sorted(p.pk for p in people)
    assert "1.2 USD per task" in notes.first().title


def test_a_cut_without_notice_is_previewed_as_refused_and_confirming_it_saves_nothing(
    client_for, admin_user, rated_project
):
    factories.ContractorFactory()
    url = reverse("manage:rate_change", args=[rated_project.pk])
    client = client_for(admin_user)
    preview = client.post(url, _rate("preview", amount="0.80")).content.decode()
    assert "A cut" in preview
    assert 'data-figure="earliest"' in preview
    assert "Confirm and notify" not in preview
    refused = client.post(url, _rate("confirm", amount="0.80"))
    assert refused.status_code == 400
    assert b'data-field="effective_from"' in refused.content
    assert PayRate.objects.filter(project=rated_project).count() == 1
    assert not Notification.objects.exists()


def test_a_cut_after_the_notice_period_is_accepted_with_its_date(client_for, admin_user, rated_project, settings):
    when = timezone.localtime() + settings.TASKHUB_RATE_CUT_NOTICE + timedelta(days=1)
    url = reverse("manage:rate_change", args=[rated_project.pk])
    client = client_for(admin_user)
    data = _rate("preview", amount="0.80", effective_from=when.strftime("%Y-%m-%dT%H:%M"))
    preview = client.post(url, data).content.decode()
    assert "A cut" in preview and "Confirm and notify" in preview
    assert when.strftime("%d %b %Y %H:%M").lstrip("0") in preview or when.strftime("%-d %b %Y %H:%M") in preview
    data["action"] = "confirm"
    assert client.post(url, data).status_code == 302
    new = PayRate.objects.filter(project=rated_project).order_by("-effective_from").first()
    assert new.amount == Decimal("0.8000") and new.effective_from > timezone.now() + timedelta(days=7)


# --- imports --------------------------------------------------------------------------------


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _jsonl(n):
    lines = [json.dumps({"external_id": f"t{i}", "payload": {"prompt": f"Q{i}", "response_a": "A",
                                                              "response_b": "B"}}) for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def test_an_import_into_a_new_batch_shows_its_progress_until_done(client_for, admin_user, media_root,
                                                                  django_capture_on_commit_callbacks):
    project = factories.ProjectFactory(task_type="pairwise")
    client = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("manage:imports"), {
            "project": project.pk, "batch_name": "March", "format": "auto",
            "file": SimpleUploadedFile("tasks.jsonl", _jsonl(5)),
        })
    task_import = TaskImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:import_detail", args=[task_import.pk])
    # The new batch is created with its tasks, not before (a failed file leaves none behind).
    assert task_import.batch is None and task_import.new_batch_name == "March" and not Batch.objects.exists()
    waiting = client.get(reverse("manage:import_progress", args=[task_import.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in waiting  # keeps polling while the import runs
    task_import_run(task_import_id=task_import.pk)
    task_import.refresh_from_db()
    assert task_import.batch.name == "March" and task_import.batch.status == Batch.Status.DRAFT
    done = client.get(reverse("manage:import_progress", args=[task_import.pk])).content.decode()
    assert "hx-trigger" not in done  # finished: stops polling
    assert 'data-figure="imported">5<' in done
    assert reverse("manage:batch_schedule", args=[task_import.batch_id]) in done
    assert Task.objects.filter(batch=task_import.batch).count() == 5


def test_an_import_without_a_batch_or_project_is_a_field_error_and_creates_nothing(client_for, admin_user,
                                                                                   media_root):
    response = client_for(admin_user).post(reverse("manage:imports"), {
        "format": "auto", "file": SimpleUploadedFile("tasks.jsonl", _jsonl(1))})
    assert response.status_code == 400
    assert b'data-field="project"' in response.content and b'data-field="batch_name"' in response.content
    assert not TaskImport.objects.exists() and not Batch.objects.exists()


def test_an_import_the_service_refuses_creates_no_batch(client_for, admin_user, media_root):
    rating = factories.ProjectFactory(task_type="rating")
    response = client_for(admin_user).post(reverse("manage:imports"), {
        "project": rating.pk, "batch_name": "HH", "format": "hh_rlhf",
        "file": SimpleUploadedFile("hh.jsonl", b'{"chosen": "a", "rejected": "b"}\n')})
    assert response.status_code == 400
    assert b'data-field="format"' in response.content
    assert not Batch.objects.exists() and not TaskImport.objects.exists()


# --- calendar -------------------------------------------------------------------------------


def test_the_calendar_shows_scheduled_releases_on_their_local_day(client_for, admin_user):
    admin_user.timezone = "Pacific/Auckland"
    admin_user.save(update_fields=["timezone"])
    release = timezone.now() + timedelta(days=2)
    batch = factories.BatchFactory(name="Night drop", status=Batch.Status.SCHEDULED, release_at=release,
                                   released_at=None)
    factories.BatchFactory(name="Still a draft", status=Batch.Status.DRAFT, release_at=None, released_at=None)
    local = timezone.localtime(release, admin_user.tzinfo)
    response = client_for(admin_user).get(reverse("manage:calendar"), {"month": local.strftime("%Y-%m")})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Night drop" in body and reverse("manage:batch_schedule", args=[batch.pk]) in body
    assert local.strftime("%H:%M") in body


@pytest.mark.parametrize("month", ["2024-13", "garbage", "99999-01", ""])
def test_a_bad_month_shows_the_current_month(client_for, admin_user, month):
    response = client_for(admin_user).get(reverse("manage:calendar"), {"month": month})
    assert response.status_code == 200
    assert timezone.localtime(timezone.now(), admin_user.tzinfo).strftime("%B %Y") in response.content.decode()


def test_the_projects_list_shows_rates_in_force(client_for, admin_user, rated_project):
    body = client_for(admin_user).get(reverse("manage:projects")).content.decode()
    assert rated_project.name in body and "1.00 USD per task" in body
