"""Gold tasks: automatic grading against the known answer, and the agreement figures.

Figures (recomputed nightly, and on demand, by a Celery task; a recompute replaces rows):

- `reviewer_vs_gold`: each reviewer's blind calibration grades of gold items against the
  automatic grade of the same submission: percent exact agreement and Krippendorff's alpha
  (ordinal, the 1–5 scale); the project-wide row (no subject) pools every reviewer.
- `contractor_agreement`: on tasks done by more than one contractor (overlap > 1), the
  type's comparable value (pairwise choice, rating overall, ...): percent of agreeing pairs
  and Krippendorff's alpha at the type's level of measurement, project-wide; and each
  contractor's percent agreement with the others on the same tasks.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

import krippendorff
import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from projects.models import Project

from ..models import AgreementFigure, Review, ReviewerRole, ReviewEvent, Submission
from .notices import flags_recompute_enqueue
from .onboarding import onboarding_pass_check


def agreement_to_grade(agreement: float) -> int:
    """Map a type's 0.0–1.0 agreement with the known answer onto the 1–5 scale (0 → 1, 1 → 5)."""
    agreement = min(1.0, max(0.0, float(agreement)))
    return 1 + int(agreement * 4 + 0.5)


def submission_grade_gold(*, submission: Submission, now: datetime | None = None) -> Review | None:
    """Grade a submission to a gold task by the type's comparison with the known answer.

    Idempotent: a submission that already has its current review is left alone.
    Called inside the submit transaction, so a gold submission never exists ungraded.
    """
    task = submission.task
    if task.gold_answer is None:
        return None
    now = now or timezone.now()
    agreement = submission.project.type.gold_agreement(submission.answer, task.gold_answer)
    score = agreement_to_grade(agreement)
    reason = (
        f"Graded automatically against the known answer: {agreement:.0%} agreement, which is {score} out of 5."
    )
    try:
        with transaction.atomic():
            review = Review.objects.create(
                submission=submission, reviewer=None, kind=Review.Kind.AUTOMATIC,
                reviewer_role=ReviewerRole.AUTOMATIC, score=score, marks={}, reason=reason,
                gold_agreement=agreement, created_at=now,
            )
            ReviewEvent.objects.create(
                kind=ReviewEvent.Kind.GRADED_AUTOMATICALLY, submission=submission, review=review, at=now,
                data={"score": score, "agreement": agreement},
            )
            flags_recompute_enqueue(contractor_id=submission.contractor_id, project_id=submission.project_id)
            onboarding_pass_check(contractor_id=submission.contractor_id, project=submission.project)
    except IntegrityError:
        return Review.objects.filter(submission=submission, kind=Review.Kind.AUTOMATIC).first()
    return review


def krippendorff_alpha(matrix: list[list], level: str) -> float | None:
    """Alpha for a coders × units matrix (None = missing); None when it is undefined
    (fewer than two paired values, or every value the same)."""
    if not matrix or not matrix[0]:
        return None
    return krippendorff_alpha_of_units([list(unit) for unit in zip(*matrix, strict=True)], level)


def krippendorff_alpha_of_units(units: list[list], level: str) -> float | None:
    """Alpha from each unit's values, however many coders gave them (None = missing). It counts
    values per unit rather than laying out every coder × unit, so a batch of many tasks done by
    many different people costs units × distinct values. None when alpha is undefined."""
    flat = [v for unit in units for v in unit if v is not None]
    key = str if level == "nominal" else float
    domain = sorted({key(v) for v in flat})
    if len(domain) < 2:
        return None
    index = {value: i for i, value in enumerate(domain)}
    counts = np.zeros((len(units), len(domain)), dtype=int)
    for row, unit in enumerate(units):
        for value in unit:
            if value is not None:
                counts[row, index[key(value)]] += 1
    try:
        alpha = krippendorff.alpha(value_counts=counts, level_of_measurement=level,
                                   value_domain=None if level == "nominal" else np.array(domain, dtype=float))
    except (ValueError, ZeroDivisionError):
        return None
    return None if alpha is None or math.isnan(alpha) else float(alpha)


# The level of the visual types: answers are sets of marks compared by overlap, not one value.
OVERLAP = "overlap"
# Expected disagreement of alpha by distance is taken over at most this many pairs of answers from
# different tasks (a fixed-seed sample beyond), so a large project's figure stays bounded in time.
ALPHA_EXPECTED_PAIRS = 5_000


def krippendorff_alpha_by_distance(units: list[list], distance) -> float | None:
    """Krippendorff's alpha for values compared by a distance function (0 = the same, 1 = nothing in
    common), as for the visual types' answers: 1 - observed / expected disagreement, where observed is
    the mean distance between the answers to one task (each task weighted by its pairable answers,
    m_u / (m_u - 1) per pair) and expected the mean distance between any two answers. None when it is
    undefined (fewer than two tasks with two answers, or no disagreement expected)."""
    units = [unit for unit in units if len(unit) > 1]
    values = [v for unit in units for v in unit]
    n = len(values)
    if len(units) < 2 or n < 3:
        return None
    observed = 0.0
    for unit in units:
        m = len(unit)
        observed += sum(2 * distance(a, b) for a, b in combinations(unit, 2)) / (m - 1)
    observed /= n
    pairs = n * (n - 1) // 2
    if pairs <= ALPHA_EXPECTED_PAIRS:
        expected = sum(distance(a, b) for a, b in combinations(values, 2)) / pairs
    else:
        rng = random.Random(0)  # noqa: S311 - a reproducible sample, not a secret
        total = 0.0
        for _ in range(ALPHA_EXPECTED_PAIRS):
            i, j = rng.sample(range(n), 2)
            total += distance(values[i], values[j])
        expected = total / ALPHA_EXPECTED_PAIRS
    if expected <= 0:
        return None
    return 1.0 - observed / expected


def _percent(agreeing: float, total: int) -> Decimal | None:
    if not total:
        return None
    return (Decimal(str(100 * agreeing)) / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _store(kind: str, project: Project, subject_id: int | None, *, percent, alpha, n: int, level: str,
           now: datetime) -> None:
    AgreementFigure.objects.update_or_create(
        kind=kind, project=project, subject_id=subject_id,
        defaults={"percent": percent, "alpha": alpha, "n": n, "level": level, "computed_at": now},
    )


def _reviewer_vs_gold(project: Project, now: datetime) -> int:
    automatic = dict(
        Review.objects.filter(submission__project=project, kind=Review.Kind.AUTOMATIC)
        .values_list("submission_id", "score")
    )
    per_reviewer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for reviewer_id, submission_id, score in (
        Review.objects.filter(submission__project=project, kind=Review.Kind.CALIBRATION)
        .values_list("reviewer_id", "submission_id", "score")
    ):
        if submission_id in automatic:
            per_reviewer[reviewer_id].append((score, automatic[submission_id]))
    written = 0
    pooled: list[tuple[int, int]] = []
    for reviewer_id, pairs in per_reviewer.items():
        pooled.extend(pairs)
        _store(
            AgreementFigure.Kind.REVIEWER_VS_GOLD, project, reviewer_id,
            percent=_percent(sum(1 for a, b in pairs if a == b), len(pairs)),
            alpha=krippendorff_alpha([[a for a, _ in pairs], [b for _, b in pairs]], "ordinal"),
            n=len(pairs), level="ordinal", now=now,
        )
        written += 1
    if pooled:
        _store(
            AgreementFigure.Kind.REVIEWER_VS_GOLD, project, None,
            percent=_percent(sum(1 for a, b in pooled if a == b), len(pooled)),
            alpha=krippendorff_alpha([[a for a, _ in pooled], [b for _, b in pooled]], "ordinal"),
            n=len(pooled), level="ordinal", now=now,
        )
        written += 1
    return written


def _contractor_agreement(project: Project, now: datetime) -> int:
    kind = project.type
    level = kind.agreement_level
    if level is None:
        return 0
    by_task: dict[int, dict[int, dict]] = defaultdict(dict)
    for task_id, contractor_id, answer in (
        Submission.objects.filter(project=project, task__overlap__gt=1)
        .order_by("task_id", "id")
        .values_list("task_id", "contractor_id", "answer")
    ):
        by_task[task_id][contractor_id] = answer
    units = {task_id: answers for task_id, answers in by_task.items() if len(answers) > 1}
    if not units:
        return 0
    # A pair's agreement is 1 or 0 for types compared on one value, the overlap score for the visual ones.
    agreeing_pairs = 0.0
    total_pairs = 0
    per_contractor: dict[int, list[float]] = defaultdict(lambda: [0.0, 0])
    for answers in units.values():
        for (c1, a1), (c2, a2) in combinations(answers.items(), 2):
            same = kind.agreement_between(a1, a2)
            agreeing_pairs += same
            total_pairs += 1
            for contractor_id in (c1, c2):
                per_contractor[contractor_id][0] += same
                per_contractor[contractor_id][1] += 1
    if level == OVERLAP:
        alpha = krippendorff_alpha_by_distance([list(answers.values()) for answers in units.values()],
                                               lambda a, b: 1.0 - kind.agreement_between(a, b))
    else:
        contractors = sorted({c for answers in units.values() for c in answers})
        matrix = [[kind.agreement_value(units[task_id][c]) if c in units[task_id] else None
                   for task_id in sorted(units)] for c in contractors]
        alpha = krippendorff_alpha(matrix, level)
    _store(
        AgreementFigure.Kind.CONTRACTOR_AGREEMENT, project, None,
        percent=_percent(agreeing_pairs, total_pairs), alpha=alpha,
        n=len(units), level=level, now=now,
    )
    for contractor_id, (agreeing, total) in per_contractor.items():
        _store(
            AgreementFigure.Kind.CONTRACTOR_AGREEMENT, project, contractor_id,
            percent=_percent(agreeing, total), alpha=None, n=total, level=level, now=now,
        )
    return 1 + len(per_contractor)


def agreement_figures_compute(*, project_id: int | None = None, now: datetime | None = None) -> int:
    """Recompute the figures of one project (or every project with submissions).

    Idempotent: each figure is keyed by kind, project and subject and replaced in place.
    """
    now = now or timezone.now()
    projects = Project.objects.all() if project_id is None else Project.objects.filter(pk=project_id)
    projects = projects.filter(submissions__isnull=False).distinct()
    written = 0
    for project in projects:
        with transaction.atomic():
            written += _reviewer_vs_gold(project, now)
            written += _contractor_agreement(project, now)
    return written
