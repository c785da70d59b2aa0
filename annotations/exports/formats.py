"""The export formats: one registry, one function per format.

A format is a function decorated with `@export_format(...)` that returns the `Statement` of its
rows, written in SQL over these aliases: `s` (annotations_submission), `t` (projects_task) and,
when final labels are asked for, `fl` (annotations_tasklabel, LEFT JOINed). `Parts` carries what
every format shares: the contractor column (a per-project pseudonym, or the id when an admin asks),
the common trailing fields, and the options. PostgreSQL builds each row, so an export streams
straight from a `COPY (SELECT ...) TO STDOUT` into the file (annotations.exports.writer).

Layouts: `lines` (one JSON document per line: JSON Lines, as Hugging Face `datasets` and TRL read
it), `json_array` (one JSON array of the rows, Label Studio's import format), `json_object` (one JSON
object of fixed keys and arrays, each array a `Section` with its own statement: COCO) and `csv` (a
header, then one row per result row; the statement's SELECT list names the columns).

To add a format for a new task type (issue 22: image_regions as COCO, video_spans as spans), write
one function here with `task_type="..."`. Label Studio's annotation results are per type too: one
`@labelstudio_result("type")` function returning the SQL of the `result` array of one submission;
a type without one exports its raw answer beside an empty result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

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
class Section:
    """One array of a `json_object` document: a statement over the export's filters (as a format's
    rows are), or a query of its own (one JSON column; it may use the `%(project)s` parameter)."""

    key: str
    statement: Statement | None = None
    query: str | None = None
    counted: bool = False  # its rows are the export's rows (progress, the row count)


@dataclass(frozen=True)
class Document:
    """A format written as one JSON object (layout `json_object`, e.g. COCO): fixed keys, then arrays."""

    head: dict
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    task_type: str | None  # None: every type
    layout: str  # "lines", "json_array" or "csv"
    build: Callable[[Parts], Statement | Document]

    @property
    def extension(self) -> str:
        return {"lines": "jsonl", "json_array": "json", "json_object": "json", "csv": "csv"}[self.layout]

    @property
    def content_type(self) -> str:
        return {"lines": "application/jsonl", "json_array": "application/json", "json_object": "application/json",
                "csv": "text/csv"}[self.layout]

    def applies_to(self, task_type: str) -> bool:
        return self.task_type is None or self.task_type == task_type


FORMATS: dict[str, ExportFormat] = {}
LABELSTUDIO_RESULTS: dict[str, Callable[[], str]] = {}


def export_format(key: str, *, label: str, task_type: str | None, layout: str = "lines"):
    def register(build: Callable[[Parts], Statement | Document]) -> Callable[[Parts], Statement | Document]:
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


# A red-team answer carries the recorded conversation (issue 21); older answers had the prompts and the
# reply as typed. The reply exported as `model_reply` is the failing turn's, else the last one's.
_REDTEAM_FAILING = "NULLIF(s.answer->>'failing_turn', '')::int"
_REDTEAM_REPLY = (
    "COALESCE(s.answer->>'model_reply', "
    f"s.answer->'transcript'->({_REDTEAM_FAILING} - 1)->>'reply', s.answer->'transcript'->-1->>'reply')"
)
_REDTEAM_PROMPTS = "COALESCE(s.answer->'attack_prompts', jsonb_path_query_array(s.answer, '$.transcript[*].prompt'))"


@export_format("redteam", label="Red-team conversations (transcript, failing turn, category, success)",
               task_type="redteam")
def redteam(parts: Parts) -> Statement:
    return Statement(select=(
        "json_build_object('goal', t.payload->>'goal', 'target_model', t.payload->>'target_model', "
        "'transcript', COALESCE(s.answer->'transcript', '[]'::jsonb), "
        f"'failing_turn', {_REDTEAM_FAILING}, "
        "'models', (SELECT COALESCE(jsonb_agg(DISTINCT turn->>'model'), '[]'::jsonb) "
        "           FROM jsonb_array_elements(COALESCE(s.answer->'transcript', '[]'::jsonb)) turn), "
        f"'prompts', {_REDTEAM_PROMPTS}, 'model_reply', {_REDTEAM_REPLY}, "
        "'category', s.answer->>'category', 'success', (s.answer->>'success')::boolean, "
        f"'notes', s.answer->>'notes', 'active_seconds', s.active_seconds, {parts.common_fields()})"
    ))


@export_format("audio_spans", label="Audio spans (clip, start, end, label), one line per span",
               task_type="audio_timestamp")
def audio_spans(parts: Parts) -> Statement:
    return Statement(
        select=(
            "json_build_object('clip', coalesce(t.payload->>'audio_url', t.payload->>'file'), 'duration_seconds', "
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
                         f"jsonb_build_object('text', jsonb_build_array({_REDTEAM_REPLY}))")
            + ")")


@labelstudio_result("audio_timestamp")
def _audio_result() -> str:
    return ("COALESCE((SELECT jsonb_agg(" + _ls("label", "audio", "labels",
                                                "jsonb_build_object('start', sp->'start', 'end', sp->'end', "
                                                "'labels', jsonb_build_array(sp->'label'))")
            + " ORDER BY n) FROM jsonb_array_elements(s.answer->'spans') WITH ORDINALITY AS x(sp, n)), '[]'::jsonb)")


# --- the visual types (issue 22) ----------------------------------------------------------------

_MEDIA = "COALESCE(t.payload->>'file', t.payload->>'{url}')"
_POINTS = "jsonb_array_elements(r.region->'points')"
_REGION_BOUNDS = (
    "CROSS JOIN LATERAL jsonb_array_elements(s.answer->'regions') WITH ORDINALITY AS r(region, n) "
    "JOIN projects_project p ON p.id = s.project_id "
    "CROSS JOIN LATERAL (SELECT "
    + ", ".join(
        f"CASE WHEN r.region->>'shape' = 'polygon' THEN (SELECT {agg}((pt->>{axis})::float8) FROM {_POINTS} pt) "
        f"ELSE {box} END AS {name}"
        for name, agg, axis, box in (
            ("x0", "min", 0, "(r.region->>'x')::float8"),
            ("y0", "min", 1, "(r.region->>'y')::float8"),
            ("x1", "max", 0, "(r.region->>'x')::float8 + (r.region->>'width')::float8"),
            ("y1", "max", 1, "(r.region->>'y')::float8 + (r.region->>'height')::float8"),
        )
    )
    + ") b "
    "LEFT JOIN LATERAL (SELECT l.n AS category_id FROM jsonb_array_elements_text(p.task_config->'labels') "
    "WITH ORDINALITY AS l(label, n) WHERE l.label = r.region->>'label') c ON true"
)
# A polygon's area by the shoelace formula; a box's is width × height.
_REGION_AREA = (
    "CASE WHEN r.region->>'shape' = 'polygon' THEN (SELECT abs(sum((p1->>0)::float8 * (p2->>1)::float8 "
    "- (p2->>0)::float8 * (p1->>1)::float8)) / 2 FROM jsonb_array_elements(r.region->'points') WITH ORDINALITY "
    "AS a(p1, i) JOIN jsonb_array_elements(r.region->'points') WITH ORDINALITY AS z(p2, j) "
    "ON j = i %% jsonb_array_length(r.region->'points') + 1) ELSE (b.x1 - b.x0) * (b.y1 - b.y0) END"
)
# COCO's segmentation: one flat [x1, y1, x2, y2, ...] polygon; a box as its four corners.
_REGION_SEGMENTATION = (
    "CASE WHEN r.region->>'shape' = 'polygon' THEN json_build_array((SELECT json_agg(v ORDER BY i, k) "
    "FROM jsonb_array_elements(r.region->'points') WITH ORDINALITY AS a(pt, i) "
    "CROSS JOIN LATERAL jsonb_array_elements(pt) WITH ORDINALITY AS xy(v, k))) "
    "ELSE json_build_array(json_build_array(b.x0, b.y0, b.x1, b.y0, b.x1, b.y1, b.x0, b.y1)) END"
)


@export_format("coco", label="COCO boxes and polygons (one JSON file: images, annotations, categories)",
               task_type="image_regions", layout="json_object")
def coco(parts: Parts) -> Document:
    """COCO's object-detection format, as pycocotools loads it: one image per task (its id the task's),
    one annotation per region with its bbox [x, y, width, height], area and segmentation, and the
    project's labels as categories (ids in their order, from 1). Each annotation also carries the
    submission, the contractor and the note, so several contractors' regions on one image stay apart."""
    images = Statement(
        select=(
            f"json_build_object('id', t.id, 'file_name', {_MEDIA.format(url='image_url')}, "
            "'width', (t.payload->>'width')::int, 'height', (t.payload->>'height')::int, "
            "'taskhub_task', t.external_id, 'taskhub_media', t.payload->>'media')"
        ),
        group_by="t.id",
        order_by="t.id",
    )
    annotations = Statement(
        select=(
            "json_build_object('id', row_number() OVER (ORDER BY s.id, r.n), 'image_id', t.id, "
            "'category_id', c.category_id, 'bbox', json_build_array(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0), "
            f"'area', {_REGION_AREA}, 'segmentation', {_REGION_SEGMENTATION}, 'iscrowd', 0, "
            "'label', r.region->>'label', 'note', COALESCE(r.region->>'note', ''), "
            f"{parts.common_fields()})"
        ),
        joins=_REGION_BOUNDS,
        order_by="s.id, r.n",
    )
    categories = (
        "SELECT json_build_object('id', l.n, 'name', l.label, 'supercategory', '') FROM projects_project p "
        "CROSS JOIN LATERAL jsonb_array_elements_text(p.task_config->'labels') WITH ORDINALITY AS l(label, n) "
        "WHERE p.id = %(project)s ORDER BY l.n"
    )
    return Document(
        head={"info": {"description": "TaskHub image regions", "version": "1.0",
                       "date_created": datetime.now(UTC).isoformat(timespec="seconds")},
              "licenses": []},
        sections=(Section("images", statement=images), Section("annotations", statement=annotations, counted=True),
                  Section("categories", query=categories)),
    )


@export_format("video_spans", label="Video spans (clip, spans with start, end, label and key-frame box), "
                                    "one line per submission", task_type="video_spans")
def video_spans(parts: Parts) -> Statement:
    return Statement(select=(
        f"json_build_object('video', {_MEDIA.format(url='video_url')}, 'media', t.payload->>'media', "
        "'duration_seconds', (t.payload->>'duration_seconds')::float8, "
        "'fps', COALESCE((t.payload->>'fps')::float8, 25), 'width', (t.payload->>'width')::int, "
        "'height', (t.payload->>'height')::int, 'spans', COALESCE(s.answer->'spans', '[]'::jsonb), "
        "'nothing_to_mark', COALESCE((s.answer->>'nothing_to_mark')::boolean, false), "
        f"{parts.common_fields()})"
    ))


@labelstudio_result("image_regions")
def _image_regions_result() -> str:
    """Label Studio's rectanglelabels / polygonlabels, in percent of the image's size."""
    width, height = "(t.payload->>'width')::float8", "(t.payload->>'height')::float8"
    box = _ls("label", "image", "rectanglelabels",
              f"jsonb_build_object('x', (rg->>'x')::float8 * 100 / {width}, 'y', (rg->>'y')::float8 * 100 / {height}, "
              f"'width', (rg->>'width')::float8 * 100 / {width}, 'height', (rg->>'height')::float8 * 100 / {height}, "
              "'rotation', 0, 'rectanglelabels', jsonb_build_array(rg->'label'))")
    polygon = _ls("label", "image", "polygonlabels",
                  "jsonb_build_object('points', (SELECT jsonb_agg(jsonb_build_array("
                  f"(pt->>0)::float8 * 100 / {width}, (pt->>1)::float8 * 100 / {height}) ORDER BY i) "
                  "FROM jsonb_array_elements(rg->'points') WITH ORDINALITY AS q(pt, i)), "
                  "'polygonlabels', jsonb_build_array(rg->'label'))")
    return (f"COALESCE((SELECT jsonb_agg(CASE WHEN rg->>'shape' = 'polygon' THEN {polygon} ELSE {box} END "
            "ORDER BY n) FROM jsonb_array_elements(s.answer->'regions') WITH ORDINALITY AS x(rg, n)), '[]'::jsonb)")


@labelstudio_result("video_spans")
def _video_spans_result() -> str:
    """Label Studio's timelinelabels, in frames."""
    fps = "COALESCE((t.payload->>'fps')::float8, 25)"
    return ("COALESCE((SELECT jsonb_agg(" + _ls("label", "video", "timelinelabels",
                                                f"jsonb_build_object('ranges', jsonb_build_array(jsonb_build_object("
                                                f"'start', round((sp->>'start')::float8 * {fps})::int + 1, "
                                                f"'end', round((sp->>'end')::float8 * {fps})::int)), "
                                                "'timelinelabels', jsonb_build_array(sp->'label'))")
            + " ORDER BY n) FROM jsonb_array_elements(s.answer->'spans') WITH ORDINALITY AS x(sp, n)), '[]'::jsonb)")
