"""Versioned instructions: each edit is a version with a note, material changes are told to the project's
contractors, each submission records the version it was done under, reviewers see it, and the history
shows what changed."""

import pytest
from django.urls import reverse

from accounts.models import Notification
from projects import services
from projects.errors import ProjectSetupError
from projects.models import InstructionVersion
from projects.selectors import instruction_history
from tests import factories


@pytest.fixture
def project(admin_user):
    return services.project_create(
        created_by=admin_user, fields={"name": "Helpful replies", "slug": "helpful", "task_type": "pairwise",
                                       "status": "active", "instructions": "Pick the better reply.\nBe quick."},
        rate_amount="1.00", rate_currency="USD", rate_unit="per_task")


def _edit(project, admin_user, text, note="", material=False):
    return services.project_update(project=project, updated_by=admin_user, fields={
        "instructions": text, "instructions_change_note": note, "instructions_material": material})


def test_a_new_project_starts_at_version_one(project):
    version = InstructionVersion.objects.get(project=project)
    assert (version.number, version.text, project.instructions_version) == (1, project.instructions, 1)


def test_an_edit_needs_a_change_note_and_changes_nothing_without_one(project, admin_user):
    with pytest.raises(ProjectSetupError) as refused:
        _edit(project, admin_user, "Pick the safer reply.")
    assert refused.value.errors[0]["field"] == "instructions_change_note"
    project.refresh_from_db()
    assert project.instructions == "Pick the better reply.\nBe quick." and project.instructions_version == 1
    assert InstructionVersion.objects.filter(project=project).count() == 1


def test_each_edit_is_a_version_and_saving_unchanged_text_is_not(project, admin_user):
    _edit(project, admin_user, "Pick the safer reply.\nBe quick.", note="Safety first")
    _edit(project, admin_user, "Pick the safer reply.\nBe quick.", note="")  # unchanged: no version, no note needed
    project.refresh_from_db()
    assert project.instructions_version == 2
    versions = list(InstructionVersion.objects.filter(project=project).order_by("number"))
    assert [(v.number, v.change_note) for v in versions] == [(1, "First version."), (2, "Safety first")]
    newest = instruction_history(project=project)[0]
    assert (newest.added, newest.removed) == (1, 1)
    assert [(line.kind, line.text) for line in newest.diff if line.kind != "same"] == [
        ("removed", "Pick the better reply."), ("added", "Pick the safer reply.")]


def test_a_material_change_tells_the_projects_contractors_once(project, admin_user, contractor,
                                                                django_capture_on_commit_callbacks):
    other = factories.ContractorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _edit(project, admin_user, "New rules.", note="Ties are no longer allowed", material=True)
    told = Notification.objects.filter(kind="instructions_change")
    assert set(told.values_list("user_id", flat=True)) >= {contractor.pk, other.pk}
    note = told.get(user=contractor)
    assert "Ties are no longer allowed" in note.body and note.url == "/work/projects/helpful/instructions/"
    version = InstructionVersion.objects.get(project=project, number=2)
    assert services.instructions_change_notify(version_id=version.pk) == 0  # a repeat tells nobody twice


def test_a_change_that_is_not_material_tells_nobody(project, admin_user, contractor,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _edit(project, admin_user, "Pick the better reply!", note="Typo")
    assert not Notification.objects.filter(kind="instructions_change").exists()


def test_the_history_page_shows_versions_and_diffs(client, project, admin_user, contractor):
    _edit(project, admin_user, "Pick the safer reply.\nBe quick.", note="Safety first", material=True)
    client.force_login(contractor)
    text = client.get(reverse("work:instructions", args=[project.slug])).content.decode()
    assert "Version 2" in text and "Safety first" in text and "material change" in text
    assert "<del>- Pick the better reply.</del>" in text and "<ins>+ Pick the safer reply.</ins>" in text


def test_a_submission_records_the_version_it_was_done_under_and_reviewers_see_it(
        client, project, admin_user, contractor, lead):
    from annotations.models import Claim, Submission
    from annotations.services import claim_submit, task_claim_next

    factories.make_tasks(factories.BatchFactory(project=project), 2)
    answer = {"choice": "A", "strength": "clear", "reason": "A answers the question."}
    first = claim_submit(claim=Claim.objects.get(pk=task_claim_next(contractor=contractor, project=project).pk),
                         contractor=contractor, answer=answer)
    _edit(project, admin_user, "Pick the safer reply.", note="Safety first")
    second = claim_submit(claim=Claim.objects.get(pk=task_claim_next(contractor=contractor, project=project).pk),
                          contractor=contractor, answer=answer)
    numbers = dict(Submission.objects.values_list("pk", "instructions_version__number"))
    assert (numbers[first.pk], numbers[second.pk]) == (1, 2)
    assert second.instructions_version_id == InstructionVersion.objects.get(project=project, number=2).pk
    client.force_login(lead)
    page = client.get(reverse("review:grade", args=[first.pk])).content.decode()
    assert 'data-version="1"' in page and "now version 2" in page
