"""The export formats: one registry, one function per format.

A format is a function decorated with `@export_format(...)` that returns the `Statement` of its
rows, written in SQL over these aliases: `s` (annotations_submission), `t` (projects_task) and,
when final labels are asked for, `fl` (annotations_tasklabel, LEFT JOINed). `Parts` carries what
every format shares: the contractor column (a per-project pseudonym, or the id when an admin asks),
the common trailing fields, and the options. PostgreSQL builds each row, so an export streams
straight from a `COPY (SELECT ...) TO STDOUT` into the file (annotations.exports.writer).

Layouts: `lines` (one JSON document per line: JSON Lines, as Hugging Face `datasets` and TRL read
it), `json_array` (one JSON array of the rows, Label Studio's import format) and `csv` (a header,
then one row per result row; the statement's SELECT list names the columns).

To add a format for a new task type (issue 22: image_regions as COCO, video_spans as spans), write
one function here with `task_type="..."`. Label Studio's annotation results are per type too: one
`@labelstudio_result("type")` function returning the SQL of the `result` array of one submission;
a type without one exports its raw answer beside an empty result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .options import ExportOptions


@dataclass(frozen=True)
class Parts:
    """What every format's statement is made of."""

    options: ExportOptions
    task_type: str
    contractor: str  # SQL of the contractor column: the pseudonym, or the id

    @property
    def contractor_key(self) -> str:
        return "contractor_id" if self.options.contractor_ids else "contractor"

    def common_fields(self) -> str:
        """The trailing fields of each JSON row (json_build_object arguments)."""
        fields = (f"'submission_id', s.id, 'task', t.external_id, '{self.contractor_key}', {self.contractor}, "
                  "'final_grade', s.final_grade")
        if self.options.final_labels:
            fields += ", 'final_label', fl.label, 'agreement', fl.agreement"
        return fields


@dataclass(frozen=True)
class Statement:
    select: str
    where: str = ""  # the format's own condition, ANDed to the filters
    joins: str = ""  # further FROM items (e.g. a LATERAL over an answer's array)
    group_by: str = ""
    order_by: str = "s.id"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    task_type: str | None  # None: every type
    layout: str  # "lines", "json_array" or "csv"
    build: Callable[[Parts], Statement]

    @property
    def extension(self) -> str:
        return {"lines": "jsonl", "json_array": "json", "csv": "csv"}[self.layout]

    @property
    def content_type(self) -> str:
        return {"lines": "application/jsonl", "json_array": "application/json", "csv": "text/csv"}[self.layout]

    def applies_to(self, task_type: str) -> bool:
        return self.task_type is None or self.task_type == task_type


FORMATS: dict[str, ExportFormat] = {}
LABELSTUDIO_RESULTS: dict[str, Callable[[], str]] = {}


def export_format(key: str, *, label: str, task_type: str | None, layout: str = "lines"):
    def register(build: Callable[[Parts], Statement]) -> Callable[[Parts], Statement]:
        FORMATS[key] = ExportFormat(key=key, label=label, task_type=task_type, layout=layout, build=build)
        return build

    return register


def labelstudio_result(task_type: str):
    def register(result: Callable[[], str]) -> Callable[[], str]:
        LABELSTUDIO_RESULTS[task_type] = result
        return result

    return register


def formats_for(task_type: str) -> list[ExportFormat]:
    return [f for f in FORMATS.values() if f.applies_to(task_type)]


# --- per task type ----------------------------------------------------------------------------

_CHOSE_A = "s.answer->>'choice' = 'A'"


@export_format("dpo", label="DPO preference pairs (prompt, chosen, rejected)", task_type="pairwise")
def dpo(parts: Parts) -> Statement:
    """TRL's preference format: the chosen and the rejected response. A tie has no chosen one: it is
    left out, or kept (response A as "chosen") with "tie": true."""
    return Statement(
        select=(
            "json_build_object('prompt', t.payload->>'prompt', "
            f"'chosen', CASE WHEN {_CHOSE_A} OR s.answer->>'choice' = 'tie' THEN t.payload->>'response_a' "
            "ELSE t.payload->>'response_b' END, "
            f"'rejected', CASE WHEN {_CHOSE_A} OR s.answer->>'choice' = 'tie' THEN t.payload->>'response_b' "
            "ELSE t.payload->>'response_a' END, "
            "'tie', s.answer->>'choice' = 'tie', 'strength', s.answer->>'strength', 'reason', s.answer->>'reason', "
            f"{parts.common_fields()})"
        ),
        where="s.answer->>'choice' <> 'tie'" if parts.options.ties == "drop" else "",
    )


@export_format("sft", label="SFT rewrites (prompt, original, rewrite)", task_type="rewrite")
def sft(parts: Parts) -> Statement:
    return Statement(select=(
        "json_build_object('prompt', t.payload->>'prompt', 'original', t.payload->>'response', "
        f"'rewrite', s.answer->>'text', {parts.common_fields()})"
    ))


@export_format("reward", label="Reward-model ratings (prompt, response, scores, overall)", task_type="rating")
def reward(parts: Parts) -> Statement:
    return Statement(select=(
        "json_build_object('prompt', t.payload->>'prompt', 'response', t.payload->>'response', "
        "'scores', s.answer->'scores', 'overall', (s.answer->>'overall')::int, 'comment', s.answer->>'comment', "
        f"{parts.common_fields()})"
    ))


@export_format("redteam", label="Red-team attempts (prompts, model reply, category, success)", task_type="redteam")
def redteam(parts: Parts) -> Statement:
    return Statement(select=(
        "json_build_object('goal', t.payload->>'goal', 'target_model', t.payload->>'target_model', "
        "'prompts', s.answer->'attack_prompts', 'model_reply', s.answer->>'model_reply', "
        "'category', s.answer->>'category', 'success', (s.answer->>'success')::boolean, "
        f"'notes', s.answer->>'notes', {parts.common_fields()})"
    ))


@export_format("audio_spans", label="Audio spans (clip, start, end, label), one line per span",
               task_type="audio_timestamp")
def audio_spans(parts: Parts) -> Statement:
    return Statement(
        select=(
            "json_build_object('clip', t.payload->>'audio_url', 'duration_seconds', "
            "(t.payload->>'duration_seconds')::float8, 'start', (span->>'start')::float8, "
            f"'end', (span->>'end')::float8, 'label', span->>'label', {parts.common_fields()})"
        ),
        joins="CROSS JOIN LATERAL jsonb_array_elements(s.answer->'spans') WITH ORDINALITY AS spans(span, n)",
        order_by="s.id, spans.n",
    )


@export_format("creative_eval", label="Creative writing judgements (text, scores, critique)",
               task_type="creative_eval")
def creative_eval(parts: Parts) -> Statement:
    return Statement(select=(
        "json_build_object('brief', t.payload->>'brief', 'text', t.payload->>'text', 'scores', s.answer->'scores', "
        f"'critique', s.answer->>'critique', {parts.common_fields()})"
    ))


# --- every type -------------------------------------------------------------------------------


@export_format("csv", label="CSV, one row per submission", task_type=None, layout="csv")
def csv(parts: Parts) -> Statement:
    columns = (
        f"s.id AS submission_id, t.batch_id AS batch_id, t.external_id AS task, {parts.contractor} AS "
        f"{parts.contractor_key}, s.submitted_at, s.active_seconds, s.is_gold, s.final_grade, "
        "t.payload::text AS payload, s.answer::text AS answer"
    )
    if parts.options.final_labels:
        columns += ", fl.label::text AS final_label, fl.agreement"
    return Statement(select=columns)


@export_format("labelstudio", label="Label Studio tasks with annotations (JSON)", task_type=None,
               layout="json_array")
def labelstudio(parts: Parts) -> Statement:
    """Label Studio's JSON import: one task per TaskHub task (its payload as `data`), each submission an
    annotation whose `result` is in Label Studio's result format for the type."""
    final = ", 'taskhub_final_label', fl.label, 'taskhub_agreement', fl.agreement" if parts.options.final_labels else ""
    result = LABELSTUDIO_RESULTS.get(parts.task_type, lambda: "'[]'::jsonb")()
    return Statement(
        select=(
            "json_build_object('data', t.payload || jsonb_build_object('taskhub_task', t.external_id, "
            "'taskhub_batch', t.batch_id), 'annotations', json_agg(json_build_object("
            f"'result', {result}, 'lead_time', s.active_seconds, 'created_at', s.submitted_at, "
            f"'taskhub_submission', s.id, 'taskhub_{parts.contractor_key}', {parts.contractor}, "
            "'taskhub_final_grade', s.final_grade, 'taskhub_answer', s.answer) ORDER BY s.id)"
            f"{final})"
        ),
        group_by="t.id" + (", fl.task_id" if parts.options.final_labels else ""),
        order_by="t.id",
    )


def _ls(from_name: str, to_name: str, kind: str, value: str) -> str:
    return (f"jsonb_build_object('from_name', '{from_name}', 'to_name', '{to_name}', 'type', '{kind}', "
            f"'value', {value})")


def _choices(value: str) -> str:
    return f"jsonb_build_object('choices', jsonb_build_array({value}))"


def _text(value: str) -> str:
    return f"jsonb_build_object('text', jsonb_build_array({value}))"


@labelstudio_result("pairwise")
def _pairwise_result() -> str:
    selected = ("CASE s.answer->>'choice' WHEN 'A' THEN jsonb_build_array("
                + _ls("comparison", "comparison", "pairwise", "jsonb_build_object('selected', 'left')")
                + ") WHEN 'B' THEN jsonb_build_array("
                + _ls("comparison", "comparison", "pairwise", "jsonb_build_object('selected', 'right')")
                + ") ELSE '[]'::jsonb END")
    return (selected + " || jsonb_build_array("
            + _ls("strength", "prompt", "choices", _choices("s.answer->'strength'"))
            + ", " + _ls("reason", "prompt", "textarea", _text("s.answer->'reason'"))
            + ")")


@labelstudio_result("rating")
def _rating_result() -> str:
    return ("COALESCE((SELECT jsonb_agg(" + _ls("' || c.key || '", "response", "rating",
                                                "jsonb_build_object('rating', c.value)")
            + " ORDER BY c.key) FROM jsonb_each(s.answer->'scores') AS c), '[]'::jsonb) || jsonb_build_array("
            + _ls("overall", "response", "rating", "jsonb_build_object('rating', s.answer->'overall')") + ")")


@labelstudio_result("creative_eval")
def _creative_result() -> str:
    return ("COALESCE((SELECT jsonb_agg(" + _ls("' || c.key || '", "text", "rating",
                                                "jsonb_build_object('rating', c.value)")
            + " ORDER BY c.key) FROM jsonb_each(s.answer->'scores') AS c), '[]'::jsonb) || jsonb_build_array("
            + _ls("critique", "text", "textarea", _text("s.answer->'critique'"))
            + ")")


@labelstudio_result("rewrite")
def _rewrite_result() -> str:
    return "jsonb_build_array(" + _ls("rewrite", "response", "textarea",
                                      "jsonb_build_object('text', jsonb_build_array(s.answer->'text'))") + ")"


@labelstudio_result("redteam")
def _redteam_result() -> str:
    return ("jsonb_build_array("
            + _ls("category", "goal", "choices", _choices("s.answer->'category'"))
            + ", " + _ls("success", "goal", "choices", "jsonb_build_object('choices', jsonb_build_array("
                         "CASE WHEN (s.answer->>'success')::boolean THEN 'success' ELSE 'failure' END))")
            + ", " + _ls("model_reply", "goal", "textarea",
                         "jsonb_build_object('text', jsonb_build_array(s.answer->'model_reply'))")
            + ")")


@labelstudio_result("audio_timestamp")
def _audio_result() -> str:
    return ("COALESCE((SELECT jsonb_agg(" + _ls("label", "audio", "labels",
                                                "jsonb_build_object('start', sp->'start', 'end', sp->'end', "
                                                "'labels', jsonb_build_array(sp->'label'))")
            + " ORDER BY n) FROM jsonb_array_elements(s.answer->'spans') WITH ORDINALITY AS x(sp, n)), '[]'::jsonb)")
