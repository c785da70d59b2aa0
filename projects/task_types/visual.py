"""What the visual task types share (image_regions, video_spans): a payload's medium is either a URL
on a host the project allows or a file uploaded to the project's media library (named by `file`,
resolved to its stored name in `media`, with its measured size, duration and frame rate), and answers
are compared by overlap (`overlap.py`) at the project's threshold.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from ..errors import InvalidData
from . import overlap
from .base import Strict, TaskType

DEFAULT_IOU_THRESHOLD = 0.5
Label = Field(min_length=1, max_length=100)
Note = Field(default="", max_length=1_000)
MediaName = Field(default=None, min_length=1, max_length=255)
MediaUrl = Field(default=None, min_length=1, max_length=2_000, pattern=r"^(https://|/static/)")


class VisualConfig(Strict):
    labels: list[str] = Field(min_length=1, max_length=50, description="The labels a mark may have, e.g. car, person.")
    # A mark agrees with another (gold, or a second contractor's) when they overlap by at least this.
    iou_threshold: float = Field(default=DEFAULT_IOU_THRESHOLD, gt=0, le=1,
                                 description="How far two marks must overlap to agree (0–1, e.g. 0.5).")
    # Hosts whose https URLs tasks may point at; the Content Security Policy lets the pages load them.
    media_hosts: list[str] = Field(default_factory=list, max_length=20,
                                   description="Hosts whose https URLs tasks may point at, e.g. images.example.org.")


def check_labels(config: VisualConfig) -> None:
    seen = set()
    for index, label in enumerate(config.labels):
        if not label:
            TaskType.fail(f"labels.{index}", "a label cannot be empty")
        if label in seen:
            TaskType.fail(f"labels.{index}", f"the label {label!r} is listed twice")
        seen.add(label)
    for index, host in enumerate(config.media_hosts):
        if not host or "/" in host or ":" in host or " " in host:
            TaskType.fail(f"media_hosts.{index}", f"{host!r} is not a host name (e.g. images.example.org)")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def form_json(post, name: str) -> Any:
    """A form field holding JSON; malformed text is passed on as it is, so validation names the field."""
    text = post.get(name, "")
    if not text.strip():
        return []
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        return text


def form_flag(post, name: str) -> bool:
    return post.get(name, "") in ("yes", "true", "on", "1")


class VisualTaskType(TaskType):
    """Base of the visual types (no `key`, so the registry does not list it)."""

    url_field: ClassVar[str]  # "image_url" or "video_url"
    media_kind: ClassVar[str]  # the media library's kind: "image" or "video"
    marks_field: ClassVar[str]  # "regions" or "spans"

    def form_errors(self, errors, project=None):
        """A mark's own errors (`regions.2.x`) are shown at its row by the workspace's script, from the
        answer's locations; the rest at their fields."""
        def at_a_mark(item) -> bool:
            parts = str(item.get("field", "")).split(".")
            return len(parts) > 1 and parts[0] == self.marks_field and parts[1].isdigit()

        own = [e for e in errors or [] if not at_a_mark(e)]
        return super().form_errors(own, project)

    def form_field(self, loc, project=None):
        if loc.split(".")[0] == "nothing_to_mark":
            return "nothing_to_mark", "'nothing to mark'"
        return self.marks_field, f"the {self.marks_field}"
    iou_threshold: float = DEFAULT_IOU_THRESHOLD
    agreement_level = "overlap"

    @staticmethod
    def iou(a: dict, b: dict) -> float:
        raise NotImplementedError

    def configured(self, config: dict | None) -> TaskType:
        kind = copy.copy(self)
        try:
            kind.iou_threshold = float((config or {}).get("iou_threshold", DEFAULT_IOU_THRESHOLD))
        except (TypeError, ValueError):
            kind.iou_threshold = DEFAULT_IOU_THRESHOLD
        return kind

    def validate_config(self, config):
        cleaned = super().validate_config(config)
        check_labels(self.config_schema.model_validate(cleaned))
        return cleaned

    # --- payloads: a URL the project allows, or a file of its media library ---------------------
    def validate_payload(self, payload, *, project=None, storable=False):
        if isinstance(payload, dict) and payload.get("file") and project is not None:
            payload = self.resolve_file(payload, project)
        return super().validate_payload(payload, project=project, storable=storable)

    def resolve_file(self, payload: dict, project) -> dict:
        """Fill in the stored name and the measured facts of the library file the payload names."""
        name = payload["file"]
        found = project.media_index().get(name) if isinstance(name, str) else None
        if found is None:
            raise InvalidData(
                f"file: no file named {name!r} has been uploaded to this project's media library",
                errors=[{"field": "file", "message": f"no file named {name!r} in the project's media library; "
                                                     "upload it first (Manage, the project's media)"}])
        if found["kind"] != self.media_kind:
            raise InvalidData(f"file: {name!r} is {found['kind']}, not {self.media_kind}",
                              errors=[{"field": "file", "message": f"{name!r} is {_an(found['kind'])} file; "
                                                                  f"this task needs {_an(self.media_kind)}"}])
        resolved = {**payload, "media": found["media"]}
        for key in self.measured_fields:
            if found.get(key) is not None:
                resolved[key] = found[key]
        return resolved

    measured_fields: ClassVar[tuple[str, ...]] = ("width", "height")

    def check_payload(self, payload, project):
        url = getattr(payload, self.url_field)
        has_file = payload.file is not None
        if (url is None) == (not has_file):
            self.fail(self.url_field, f"give either {self.url_field} (a URL) or file (an uploaded file), not "
                                      f"{'both' if url else 'neither'}")
        if has_file and project is not None and payload.media is None:
            self.fail("file", "the file was not found in the project's media library")
        if url and url.startswith("https://"):
            host = (urlsplit(url).hostname or "").lower()
            allowed = [h.lower() for h in ((project.task_config or {}).get("media_hosts") or [])] if project else []
            if project is not None and host not in allowed:
                self.fail(self.url_field, f"the host {host!r} is not one this project allows "
                                          f"({', '.join(allowed) or 'none yet: add it to media_hosts'})")

    # --- the task page ------------------------------------------------------------------------------
    def answer_from_form(self, post):
        # The workspace keeps its marks in one hidden field as JSON; the rows beside the picture are views.
        return {self.marks_field: form_json(post, self.marks_field),
                "nothing_to_mark": form_flag(post, "nothing_to_mark")}

    def check_marks_present(self, answer) -> None:
        marks = getattr(answer, self.marks_field)
        if answer.nothing_to_mark and marks:
            self.fail(self.marks_field, f"'nothing to mark' is ticked, but {len(marks)} "
                                        f"{self.mark_noun}{'s are' if len(marks) > 1 else ' is'} marked")
        if not answer.nothing_to_mark and not marks:
            self.fail(self.marks_field, f"mark at least one {self.mark_noun}, or tick 'nothing to mark'")

    mark_noun: ClassVar[str] = "mark"

    # --- comparisons -------------------------------------------------------------------------------
    def marks(self, answer: dict) -> list[dict]:
        return list(answer.get(self.marks_field) or [])

    def gold_agreement(self, answer, gold):
        """F1 of the one-to-one matching with the known answer at the project's IoU threshold."""
        return overlap.agreement(self.marks(answer), self.marks(gold), self.iou, self.iou_threshold)

    def agreement_between(self, a, b):
        return overlap.agreement(self.marks(a), self.marks(b), self.iou, self.iou_threshold)

    @property
    def final_label_rule(self) -> str:
        return (f"The {self.mark_noun}s more than half of the contractors marked with the same label, overlapping "
                f"by at least {self.iou_threshold:.0%} (IoU); each is the {self.mark_noun} of its group that "
                "overlaps the others most, with its number of votes.")

    def final_label(self, answers):
        marks = overlap.consensus([self.marks(a) for a in answers], self.iou, self.iou_threshold)
        return {self.marks_field: marks, "nothing_to_mark": not marks}


def _an(noun: str) -> str:
    """ "image" -> "an image", "video" -> "a video"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
