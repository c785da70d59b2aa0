"""Turn posted form fields into what services take. Validation itself lives in the services
and the task types, so a page and the API refuse the same input with the same errors."""

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from projects import task_types
from projects.task_types.base import rubric_keys


def answer_from_post(task_type: str, post: QueryDict) -> dict:
    """The answer object of the task page's form: each task type reads its own fields."""
    return task_types.get(task_type).answer_from_form(post)


def review_from_post(project, post: QueryDict) -> dict:
    """Score, rubric marks (`mark__<criterion>`) and reason of the grading form."""
    marks = {key: post.get(f"mark__{key}", "") for key in rubric_keys(project)}
    # Unknown criteria are passed on so the service names them in its error.
    marks.update({k.removeprefix("mark__"): v for k, v in post.items() if k.startswith("mark__")})
    return {"score": post.get("score", ""), "marks": marks, "reason": post.get("reason", "")}


# The review queue's filters in a query string: projects (repeatable), one contractor, and a window
# of submission times (ISO 8601 with offset). A sprint's board links to its work this way.
QUEUE_FILTERS = ("project", "contractor", "from", "until")


def queue_filters_from_get(get: QueryDict) -> dict:
    """The review queue's filters from the query string; anything malformed is ignored."""

    def as_id(value):
        return int(value) if value and value.isascii() and value.isdigit() else None

    def as_time(value):
        try:
            moment = parse_datetime(value or "")
        except ValueError:
            return None
        return moment if moment is not None and not timezone.is_naive(moment) else None

    projects = [pk for pk in (as_id(v) for v in get.getlist("project")) if pk]
    return {
        "project_ids": projects or None,
        "contractor_id": as_id(get.get("contractor")),
        "submitted_from": as_time(get.get("from")),
        "submitted_to": as_time(get.get("until")),
    }
