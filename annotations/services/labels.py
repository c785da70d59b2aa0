"""Final labels: one label per task that several contractors did (overlap > 1), by the task type's
rule (`TaskType.final_label`: the majority choice of a pairwise task with its tie rule, the mean and
median per criterion of a rating, ...), the agreement of its answers, and Krippendorff's alpha over
the batch (the same computation as the project figures, `gold.krippendorff_alpha_of_units`).

Agreement of a task is the share of agreeing pairs among its answers, compared on the type's value
(`TaskType.agreement_value`: the pairwise choice, a rating's overall score, ...); None for types
without one. A recompute replaces the batch's rows; exports asking for final labels recompute first.
"""

from __future__ import annotations

from datetime import datetime
from itertools import combinations, groupby

from django.db import transaction
from django.utils import timezone

from projects.models import Batch

from ..models import BatchAgreement, Submission, TaskLabel
from .gold import krippendorff_alpha_of_units

_CHUNK = 2_000


def pair_agreement(values: list) -> float | None:
    """The share of pairs of values that are equal (1.0 when all agree); None below two values."""
    pairs = list(combinations(values, 2))
    if not pairs:
        return None
    return sum(1 for a, b in pairs if a == b) / len(pairs)


def task_labels_compute(*, batch_id: int, now: datetime | None = None) -> BatchAgreement | None:
    """Recompute the final labels of a batch's tasks and its agreement figures. Idempotent: the
    batch's rows are replaced. Returns the batch's figures (None when its type has no final label)."""
    batch = Batch.objects.select_related("project").get(pk=batch_id)
    kind = batch.project.type
    if kind.final_label_rule is None:
        return _clear(batch_id)
    now = now or timezone.now()
    answers = (Submission.objects.filter(task__batch_id=batch_id, task__overlap__gt=1)
               .order_by("task_id", "id").values_list("task_id", "answer").iterator(chunk_size=_CHUNK))
    labels: list[TaskLabel] = []
    units: list[list] = []
    for task_id, group in groupby(answers, key=lambda row: row[0]):
        task_answers = [answer for _, answer in group]
        if len(task_answers) < 2:
            continue
        label = kind.final_label(task_answers)
        values = [kind.agreement_value(a) for a in task_answers] if kind.agreement_level else []
        units.append(values)
        labels.append(TaskLabel(task_id=task_id, batch_id=batch_id, answers=len(task_answers), label=label,
                                agreement=pair_agreement(values) if values else None, computed_at=now))
    agreements = [label.agreement for label in labels if label.agreement is not None]
    with transaction.atomic():
        TaskLabel.objects.filter(batch_id=batch_id).delete()
        TaskLabel.objects.bulk_create(labels, batch_size=_CHUNK)
        figures, _ = BatchAgreement.objects.update_or_create(batch_id=batch_id, defaults={
            "alpha": krippendorff_alpha_of_units(units, kind.agreement_level) if kind.agreement_level else None,
            "level": kind.agreement_level or "",
            "tasks": len(labels),
            "mean_agreement": sum(agreements) / len(agreements) if agreements else None,
            "computed_at": now,
        })
    return figures


def _clear(batch_id: int) -> None:
    with transaction.atomic():
        TaskLabel.objects.filter(batch_id=batch_id).delete()
        BatchAgreement.objects.filter(batch_id=batch_id).delete()
    return None
