"""What every task type provides: payload and answer validation, and comparison with gold."""

from __future__ import annotations

import re
import statistics
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from taskhub.parsing import json_problem, whole_number_or_none

from ..errors import InvalidData


class Strict(BaseModel):
    """Base for payload, answer and config schemas: unknown keys are refused, text is trimmed, and
    no number is infinite or NaN (JSON and PostgreSQL have neither)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


def _not_true_or_false(value: Any) -> Any:
    # JSON true is 1 to Python; a grade or a time in seconds is never true/false.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


# A 1–5 grade: a JSON whole number only (not true, "4" or 4.0; forms convert their digits first,
# see `form_number`).
Grade = Annotated[int, Field(strict=True, ge=1, le=5)]
# A number that may have decimals (seconds into a clip, ...), never true/false.
Number = Annotated[float, BeforeValidator(_not_true_or_false)]


def form_number(value: Any) -> Any:
    """A form field's whole number as an int, for the strict schemas; anything else is left as it was
    so the schema refuses it with its own message."""
    number = whole_number_or_none(value)
    return value if number is None else number


# Form fields that belong to the page, not to the answer.
FORM_CONTROL_FIELDS = frozenset({"csrfmiddlewaretoken", "next"})


def form_scores(post, prefix: str = "score__") -> dict:
    """`score__<criterion>` fields as {criterion: value} (whole numbers as ints); empty fields are left out."""
    return {key.removeprefix(prefix): form_number(value) for key, value in post.items()
            if key.startswith(prefix) and value != ""}


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(root)"


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """pydantic's errors as error items: the dotted location as `field`, and its `message`."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = _location(err["loc"])
        errors.append({"field": f"{prefix}{loc}" if prefix else loc, "message": err["msg"]})
    return errors


# pydantic's wording -> plain words; `{what}` is the field's name in words, numbers are kept.
_PLAIN = [
    (re.compile(r"^Field required$|^is required$"), lambda m, what: f"Please fill in {what}."),
    (re.compile(r"valid integer|parse string as an integer|whole number"),
     lambda m, what: f"Please give {what} as a whole number."),
    (re.compile(r"valid number|parse string as a number|finite number"),
     lambda m, what: f"Please give {what} as a number, such as 2.5."),
    (re.compile(r"greater than or equal to (\S+)"), lambda m, what: f"{what.capitalize()} must be {m[1]} or more."),
    (re.compile(r"less than or equal to (\S+)"), lambda m, what: f"{what.capitalize()} must be {m[1]} or less."),
    (re.compile(r"greater than (\S+)"), lambda m, what: f"{what.capitalize()} must be more than {m[1]}."),
    (re.compile(r"less than (\S+)"), lambda m, what: f"{what.capitalize()} must be less than {m[1]}."),
    (re.compile(r"at least 1 (character|item)"), lambda m, what: f"Please fill in {what}."),
    (re.compile(r"at least (\d+) (character|item)"), lambda m, what: f"{what.capitalize()} needs at least {m[1]} "
                                                                     f"{m[2]}s."),
    (re.compile(r"at most (\d+) (character|item)"), lambda m, what: f"{what.capitalize()} can have at most {m[1]} "
                                                                    f"{m[2]}s."),
    (re.compile(r"^Input should be (.+)$"), lambda m, what: f"Please choose {what}: {m[1].replace(chr(39), '')}."),
    (re.compile(r"valid boolean"), lambda m, what: f"Please answer {what} with yes or no."),
    (re.compile(r"Extra inputs are not permitted"), lambda m, what: f"{what.capitalize()} is not part of this answer."),
    (re.compile(r"valid (list|array|dictionary|object)"), lambda m, what: f"{what.capitalize()} is not in the right "
                                                                          "form; please mark it again."),
]


def plain_message(message: str, what: str) -> str:
    """A validation message in plain words about `what` (a field's name in words)."""
    for pattern, word in _PLAIN:
        found = pattern.search(message)
        if found:
            return word(found, what)
    # Messages written by the task types themselves are plain already; make them a sentence.
    text = message.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else f"Please check {what}."


class TaskType:
    """A kind of task. Subclasses set the schemas and may add rules that need the project."""

    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    payload_schema: ClassVar[type[Strict]]
    answer_schema: ClassVar[type[Strict]]
    config_schema: ClassVar[type[Strict] | None] = None
    # The shape of a known (gold) answer, when it is not a whole answer (a red-team gold has no conversation).
    gold_schema: ClassVar[type[Strict] | None] = None
    # Tasks of this type are conversations with the project's model, recorded on the claim; the answer
    # carries the recorded transcript (annotations.services.conversation).
    records_conversation: ClassVar[bool] = False
    # The workspace's own script (a static path) when the type needs more than workspace.js.
    workspace_script: ClassVar[str | None] = None
    # Example payload for documentation, admin help and demo data.
    example_payload: ClassVar[dict[str, Any]] = {}

    def _validate(self, schema: type[Strict], data: Any, what: str, *, storable: bool = False) -> Strict:
        if not isinstance(data, dict):
            raise InvalidData(f"The {what} must be a JSON object.",
                              errors=[{"field": "(root)", "message": "not an object"}])
        # `storable`: the caller knows nothing in `data` is unstorable (an import line without escapes).
        found = None if storable else json_problem(data)
        if found:  # NUL, an unpaired surrogate, nesting too deep: nothing PostgreSQL could store
            where, problem = found
            raise InvalidData(f"Invalid {what} for a {self.key} task: {where or '(root)'} {problem}",
                              errors=[{"field": where or "(root)", "message": problem}])
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            errors = pydantic_errors(exc)
            summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
            raise InvalidData(f"Invalid {what} for a {self.key} task: {summary}", errors=errors) from None

    # --- project configuration (labels, harm categories, ...) ---------------------------
    def validate_config(self, config: dict) -> dict:
        if self.config_schema is None:
            if config:
                raise InvalidData(f"A {self.key} project takes no task configuration.")
            return {}
        return self._validate(self.config_schema, config or {}, "task configuration").model_dump()

    # --- payloads -------------------------------------------------------------------------
    def validate_payload(self, payload: Any, *, project=None, storable: bool = False) -> dict:
        cleaned = self._validate(self.payload_schema, payload, "payload", storable=storable)
        self.check_payload(cleaned, project)
        return cleaned.model_dump(exclude_none=True)

    def check_payload(self, payload: Strict, project) -> None:
        """Rules that need the project; raise InvalidData."""

    # --- answers --------------------------------------------------------------------------
    def validate_answer(self, answer: Any, *, task=None, project=None) -> dict:
        cleaned = self._validate(self.answer_schema, answer, "answer")
        self.check_answer(cleaned, task, project)
        return self.finish_answer(cleaned.model_dump(exclude_none=True), task)

    def check_answer(self, answer: Strict, task, project) -> None:
        """Rules that need the task or the project; raise InvalidData."""

    def validate_gold(self, gold: Any, *, project=None) -> dict:
        """A known answer to grade against: a whole answer, or the type's `gold_schema`."""
        if self.gold_schema is None:
            return self.validate_answer(gold, task=None, project=project)
        cleaned = self._validate(self.gold_schema, gold, "gold answer")
        self.check_gold(cleaned, project)
        return cleaned.model_dump(exclude_none=True)

    def check_gold(self, gold: Strict, project) -> None:
        """Rules of a gold answer that need the project; raise InvalidData."""

    def finish_answer(self, answer: dict, task) -> dict:
        """Add derived fields to a valid answer (e.g. the diff of a rewrite)."""
        return answer

    # --- the task page's form ---------------------------------------------------------------
    def answer_from_form(self, post) -> dict:
        """Turn the task page's form fields (a QueryDict) into the answer this type validates."""
        return {key: value for key, value in post.items() if key not in FORM_CONTROL_FIELDS}

    # --- errors in plain words, at the form's own fields (issue 19) ---------------------------
    # The answer's fields as the task page names them: {answer location: (form field, what it is)}.
    # A location not listed maps by its first part; a type overrides `form_field` for the rest.
    form_fields: ClassVar[dict[str, tuple[str, str]]] = {}

    def form_field(self, loc: str, project=None) -> tuple[str, str]:
        """(form field name, its name in words) for an error at answer location `loc`."""
        head = loc.split(".")[0]
        if loc in self.form_fields:
            return self.form_fields[loc]
        if head in self.form_fields:
            return self.form_fields[head]
        return head, head.replace("_", " ")

    def form_errors(self, errors: list[dict], project=None) -> list[dict[str, str]]:
        """The answer's validation errors as the task page shows them: each at its own form field, in
        plain words (never pydantic's wording), one per field."""
        shown: dict[str, str] = {}
        for item in errors or []:
            loc, message = str(item.get("field") or ""), str(item.get("message") or "")
            field, what = self.form_field(loc, project)
            if field not in shown:
                shown[field] = plain_message(message, what)
        return [{"field": field, "message": message} for field, message in shown.items()]

    # --- agreement between contractors ----------------------------------------------------------
    # The level of measurement of `agreement_value` for Krippendorff's alpha, or None when the
    # answers of this type have no single comparable value (free text, time spans); "overlap" when
    # answers are compared by `agreement_between` and alpha is taken with its distance (1 - agreement).
    agreement_level: ClassVar[str | None] = None

    def agreement_value(self, answer: dict):
        """The one value of an answer that contractors on the same task are compared on."""
        return None

    def agreement_between(self, a: dict, b: dict) -> float:
        """How far two contractors' answers to one task agree, 0.0–1.0: whether their values are equal.
        Types compared by overlap (agreement_level "overlap": image regions, video spans) measure it."""
        return 1.0 if self.agreement_value(a) == self.agreement_value(b) else 0.0

    # --- the project's settings -----------------------------------------------------------------
    def configured(self, config: dict | None) -> TaskType:
        """This type as a project configures it (`Project.type`): the visual types take their overlap
        threshold from the project's task configuration; the others are the same for every project."""
        return self

    # --- the final label of a task several contractors did -------------------------------------
    # The rule, as shown to admins beside the labels; None for types without a final label.
    final_label_rule: ClassVar[str | None] = None

    def final_label(self, answers: list[dict]) -> dict | None:
        """One label from the answers of the distinct contractors who did a task (overlap > 1), or
        None when this type has no such rule (free text, time spans)."""
        return None

    # --- gold -----------------------------------------------------------------------------
    def gold_agreement(self, answer: dict, gold: dict) -> float:
        """How far an answer agrees with the known answer, from 0.0 (not at all) to 1.0."""
        raise NotImplementedError

    @staticmethod
    def fail(loc: str, msg: str) -> None:
        raise InvalidData(f"{loc}: {msg}", errors=[{"field": loc, "message": msg}])


def rubric_keys(project) -> list[str]:
    if project is None:
        return []
    return [criterion["key"] for criterion in (project.rubric or [])]


# What 1 and 5 mean on a criterion that does not say (a criterion's "low" and "high" anchor words).
DEFAULT_ANCHORS = {"low": "Very poor", "high": "Excellent"}
OVERALL_ANCHORS = {"low": "Unusable", "high": "Could not be better"}


def rubric_criteria(project) -> list[dict]:
    """The rubric's criteria as a page shows them: key, label (the key when it has none), description
    and the anchor words of 1 (`low`) and 5 (`high`), the defaults where the rubric names none."""
    criteria = []
    for criterion in (getattr(project, "rubric", None) or []):
        if not isinstance(criterion, dict):
            continue
        key = str(criterion.get("key", ""))
        criteria.append({
            "key": key, "label": str(criterion.get("label") or key),
            "description": str(criterion.get("description", "")),
            "low": str(criterion.get("low") or DEFAULT_ANCHORS["low"]),
            "high": str(criterion.get("high") or DEFAULT_ANCHORS["high"]),
        })
    return criteria


def rubric_labels(project) -> dict[str, str]:
    """Criterion key -> label, for pages that show marks (never the raw key when a label exists)."""
    return {c["key"]: c["label"] for c in rubric_criteria(project)}


def check_rubric_scores(scores: dict[str, int], project, loc: str = "scores") -> None:
    keys = rubric_keys(project)
    if project is None or not keys:
        return
    missing = [k for k in keys if k not in scores]
    unknown = [k for k in scores if k not in keys]
    if missing:
        TaskType.fail(loc, f"missing a score for {', '.join(missing)}")
    if unknown:
        TaskType.fail(loc, f"no rubric criterion named {', '.join(unknown)}")


def score_agreement(scores: dict[str, int], gold_scores: dict[str, int]) -> float:
    """1.0 when every shared 1–5 score matches, falling linearly to 0.0 at 4 points apart."""
    shared = [k for k in gold_scores if k in scores]
    if not shared:
        return 0.0
    distance = sum(abs(scores[k] - gold_scores[k]) for k in shared) / len(shared)
    return max(0.0, 1.0 - distance / 4)


def score_summary(values: list[float | int]) -> dict[str, float]:
    """Mean and median of one criterion's scores (the final label of rated work)."""
    return {"mean": round(statistics.fmean(values), 4), "median": float(statistics.median(values))}


def scores_final_label(answers: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and median per rubric criterion, over the answers that scored it."""
    by_criterion: dict[str, list[int]] = {}
    for answer in answers:
        for key, value in (answer.get("scores") or {}).items():
            by_criterion.setdefault(key, []).append(value)
    return {key: score_summary(values) for key, values in sorted(by_criterion.items())}


class ScoredFormErrors:
    """Form errors of the types scored 1–5 per rubric criterion (rating, creative evaluation): a score's
    error is at its own buttons, named by the criterion's label."""

    def form_field(self, loc, project=None):
        parts = loc.split(".")
        if parts[0] == "scores" and len(parts) > 1:
            label = rubric_labels(project).get(parts[1], parts[1])
            return f"score__{parts[1]}", f"the {label} score"
        return super().form_field(loc, project)

    def form_errors(self, errors, project=None):
        spread = []
        for item in errors or []:
            found = re.match(r"missing a score for (.+)$", str(item.get("message", "")))
            if item.get("field") == "scores" and found:
                spread += [{"field": f"scores.{key}", "message": "Field required"} for key in found[1].split(", ")]
            else:
                spread.append(item)
        return super().form_errors(spread, project)
