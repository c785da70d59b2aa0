"""Turn posted form fields into what services take. Validation itself lives in the services
and the task types, so a page and the API refuse the same input with the same errors."""

from django.http import QueryDict

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


def queue_filters_from_get(get: QueryDict, *, user=None) -> dict:
    """The review queue's filters from the query string; anything malformed is ignored.

    `sprint` narrows to a sprint the user leads: its projects and its time window."""
    def as_id(value):
        return int(value) if value and value.isdigit() else None

    project = as_id(get.get("project"))
    filters = {"project_ids": [project] if project else None, "contractor_id": as_id(get.get("contractor"))}
    sprint = as_id(get.get("sprint"))
    if sprint and user is not None:
        from projects.selectors_sprints import sprint_review_filters

        sprint_filters = sprint_review_filters(sprint_id=sprint, user=user)
        if sprint_filters is not None:
            if project:
                sprint_filters["project_ids"] = [p for p in sprint_filters["project_ids"] if p == project]
            filters.update(sprint_filters)
    return filters
