from pydantic import Field

from .base import Number, Strict, TaskType


class Config(Strict):
    labels: list[str] = Field(min_length=1, description="The labels a span may have, e.g. speech, music.")


class Payload(Strict):
    # A URL, or the name of a clip uploaded to the project's media library (`file`, resolved to its stored
    # name in `media`, with its measured duration).
    audio_url: str | None = Field(default=None, min_length=1, max_length=2_000, pattern=r"^(https?://|/)")
    file: str | None = Field(default=None, min_length=1, max_length=255)
    media: str | None = Field(default=None, min_length=1, max_length=300)
    duration_seconds: Number = Field(gt=0, le=6 * 3600)
    transcript: str | None = Field(default=None, max_length=200_000)


class Span(Strict):
    start: Number = Field(ge=0)
    end: Number = Field(gt=0)
    label: str


class Answer(Strict):
    spans: list[Span] = Field(min_length=1, max_length=2_000)


class AudioTimestamp(TaskType):
    key = "audio_timestamp"

    def form_field(self, loc, project=None):
        parts = loc.split(".")
        if parts[0] == "spans" and len(parts) > 2 and parts[1].isdigit():
            name = {"start": "start", "end": "end", "label": "label"}.get(parts[2], "start")
            return f"span_{name}", f"the {name} of span {int(parts[1]) + 1}"
        return "span_start", "the spans"
    label = "Audio time-stamping"
    description = "Listen to a clip and mark labelled time spans."
    payload_schema = Payload
    answer_schema = Answer
    config_schema = Config
    example_payload = {"audio_url": "/static/demo/chime.wav", "duration_seconds": 4.0}

    def validate_payload(self, payload, *, project=None, storable=False):
        if isinstance(payload, dict) and payload.get("file") and project is not None:
            name = payload["file"]
            found = project.media_index().get(name) if isinstance(name, str) else None
            if found is None or found["kind"] != "audio":
                self.fail("file", f"no audio clip named {name!r} in the project's media library; upload it first "
                                  "(Manage, the project's media library)")
            payload = {**payload, "media": found["media"], "duration_seconds": found["duration_seconds"]}
        return super().validate_payload(payload, project=project, storable=storable)

    def check_payload(self, payload, project):
        if (payload.audio_url is None) == (payload.file is None):
            self.fail("audio_url", "give either audio_url (a URL) or file (an uploaded clip), not "
                                   f"{'both' if payload.audio_url else 'neither'}")
        if payload.file is not None and project is not None and payload.media is None:
            self.fail("file", "the clip was not found in the project's media library")

    def answer_from_form(self, post):
        starts, ends, labels = post.getlist("span_start"), post.getlist("span_end"), post.getlist("span_label")
        spans = [
            {"start": start, "end": end, "label": label}
            for start, end, label in zip(starts, ends, labels, strict=False)
            if start or end or label
        ]
        return {"spans": spans}

    def check_answer(self, answer, task, project):
        labels = (project.task_config or {}).get("labels") if project else None
        duration = task.payload["duration_seconds"] if task is not None else None
        for index, span in enumerate(answer.spans):
            loc = f"spans.{index}"
            if span.end <= span.start:
                self.fail(loc, f"end ({span.end}) must be after start ({span.start})")
            if duration is not None and span.end > duration:
                self.fail(f"{loc}.end", f"{span.end} is past the end of the clip ({duration} s)")
            if labels and span.label not in labels:
                self.fail(f"{loc}.label", f"must be one of: {', '.join(labels)}")

    def gold_agreement(self, answer, gold):
        """Mean best overlap (intersection over union) of each gold span with a same-label span."""
        gold_spans = gold.get("spans", [])
        if not gold_spans:
            return 1.0 if not answer["spans"] else 0.0
        total = 0.0
        for g in gold_spans:
            best = 0.0
            for s in answer["spans"]:
                if s["label"] != g["label"]:
                    continue
                inter = max(0.0, min(s["end"], g["end"]) - max(s["start"], g["start"]))
                union = max(s["end"], g["end"]) - min(s["start"], g["start"])
                best = max(best, inter / union if union else 0.0)
            total += best
        return total / len(gold_spans)
