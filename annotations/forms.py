"""Turn posted form fields into what services take. Validation itself lives in the services
and the task types, so a page and the API refuse the same input with the same errors."""

from django.http import QueryDict

from projects import task_types
from projects.task_types.base import rubric_keys
from taskhub.parsing import moment_or_none, whole_number_or_none


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
    """The review queue's filters from the query string; anything malformed is ignored (they come
    from links), through the one parser: ids are positive bigints in ASCII digits, times are aware
    and within 2000-2099."""
    projects = [pk for pk in (object_id_or_none(v) for v in get.getlist("project")) if pk]
    return {
        "project_ids": projects or None,
        "contractor_id": object_id_or_none(get.get("contractor")),
        "submitted_from": moment_or_none(get.get("from")),
        "submitted_to": moment_or_none(get.get("until")),
    }


def object_id_or_none(value) -> int | None:
    return whole_number_or_none(value, minimum=1)
