"""Versioned instructions: each edit of a project's instructions is a new `InstructionVersion` with
its change note; a material change is told to the people who may work on the project (once per
version, by its key); each submission records the version in force when it was submitted
(annotations.services.claims.claim_submit)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.services import notifications_create_many
from taskhub.parsing import text

from ..errors import ProjectSetupError
from ..models import InstructionVersion, Project
from ..selectors import contractors_eligible_for

NOTE_FIELD = "instructions_change_note"
_NOTE_MAX = InstructionVersion._meta.get_field("change_note").max_length


def instructions_note_clean(note: str | None) -> str:
    return text(note or "", field=NOTE_FIELD, max_length=_NOTE_MAX, error=ProjectSetupError)


def instructions_version_first(*, project: Project, by, now: datetime | None = None) -> InstructionVersion:
    """Version 1 of a new project: its instructions as created. Call inside the creating transaction."""
    return InstructionVersion.objects.create(project=project, number=1, text=project.instructions or "",
                                             change_note="First version.", created_by=by)


def instructions_version_add(*, project: Project, text_now: str, change_note: str, material: bool, by,
                             previous: str | None = None, now: datetime | None = None) -> InstructionVersion:
    """Record an edit of the instructions (already saved on `project`, locked by the caller's
    transaction) as the next version, with its note; a material change is told to the project's
    contractors once it commits."""
    note = instructions_note_clean(change_note)
    if not note:
        raise ProjectSetupError.at(NOTE_FIELD, "Say what changed in the instructions: the change note is kept "
                                               "with the version and contractors read it.")
    with transaction.atomic():
        if previous is not None and not InstructionVersion.objects.filter(project=project).exists():
            # A project made outside the set-up service has no version yet: what it said becomes version 1.
            InstructionVersion.objects.create(project=project, number=1, text=previous, change_note="First version.")
            project.instructions_version = 1
        number = project.instructions_version + 1
        version = InstructionVersion.objects.create(project=project, number=number, text=text_now or "",
                                                    change_note=note, material=bool(material), created_by=by)
        Project.objects.filter(pk=project.pk).update(instructions_version=number)
        project.instructions_version = number
        if material:
            version_id = version.pk
            transaction.on_commit(lambda: instructions_change_notify(version_id=version_id), robust=True)
    return version


def instructions_change_notify(*, version_id: int) -> int:
    """One notification per contractor who may work on the project, keyed by the version so a repeat
    notifies nobody twice; returns how many were told."""
    version = InstructionVersion.objects.select_related("project").filter(pk=version_id, material=True).first()
    if version is None:
        return 0
    project = version.project
    return notifications_create_many(
        users=contractors_eligible_for(project=project),
        kind="instructions_change",
        title=f"The instructions of {project.name} changed (version {version.number})",
        body=f"What changed: {version.change_note} Read them again before your next task.",
        url=f"/work/projects/{project.slug}/instructions/",
        key=f"instructions-{version.pk}",
    )
