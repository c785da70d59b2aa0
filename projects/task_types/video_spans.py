from pydantic import Field, model_validator

from . import overlap
from .base import Strict
from .visual import Label, MediaName, MediaUrl, Note, VisualConfig, VisualTaskType

MAX_DURATION = 6 * 3600
Seconds = Field(ge=0, le=MAX_DURATION, allow_inf_nan=False)


class Config(VisualConfig):
    # The shortest span that counts as a mark, in seconds.
    min_span_seconds: float = Field(default=0.04, gt=0, le=3600, description="The shortest span that counts (s).")
    key_frame_boxes: bool = Field(default=True, description="Contractors may box the subject on one key frame.")


class Payload(Strict):
    video_url: str | None = MediaUrl
    file: str | None = MediaName
    media: str | None = Field(default=None, min_length=1, max_length=300)
    duration_seconds: float = Field(gt=0, le=MAX_DURATION, allow_inf_nan=False)
    fps: float = Field(default=25.0, gt=0, le=240, allow_inf_nan=False)
    width: int | None = Field(default=None, ge=1, le=16_384)
    height: int | None = Field(default=None, ge=1, le=16_384)
    caption: str | None = Field(default=None, max_length=5_000)


class KeyFrameBox(Strict):
    """A box on one frame of the span, in the video's pixels."""

    time: float = Seconds
    x: float = Field(ge=0, le=16_384, allow_inf_nan=False)
    y: float = Field(ge=0, le=16_384, allow_inf_nan=False)
    width: float = Field(gt=0, le=16_384, allow_inf_nan=False)
    height: float = Field(gt=0, le=16_384, allow_inf_nan=False)


class Span(Strict):
    start: float = Seconds
    end: float = Seconds
    label: str = Label
    note: str = Note
    box: KeyFrameBox | None = None

    @model_validator(mode="after")
    def _order(self):
        if self.end <= self.start:
            raise ValueError(f"the end ({self.end:g} s) must come after the start ({self.start:g} s)")
        return self


class Answer(Strict):
    spans: list[Span] = Field(default_factory=list, max_length=2_000)
    nothing_to_mark: bool = False


class VideoSpans(VisualTaskType):
    key = "video_spans"
    label = "Video spans"
    description = "Watch a clip and mark labelled time spans, with an optional box on a key frame."
    payload_schema = Payload
    answer_schema = Answer
    config_schema = Config
    example_payload = {"video_url": "/static/demo/traffic.webm", "duration_seconds": 4.0, "fps": 25,
                       "width": 320, "height": 180}
    url_field = "video_url"
    media_kind = "video"
    marks_field = "spans"
    mark_noun = "span"
    measured_fields = ("duration_seconds", "fps", "width", "height")
    workspace_script = "js/spans.js"

    iou = staticmethod(overlap.span_iou)

    def check_answer(self, answer, task, project):
        self.check_marks_present(answer)
        config = (project.task_config or {}) if project else {}
        labels = config.get("labels")
        shortest = float(config.get("min_span_seconds", 0.04))
        boxes = config.get("key_frame_boxes", True)
        payload = task.payload if task is not None else {}
        duration = payload.get("duration_seconds")
        width, height = payload.get("width"), payload.get("height")
        for index, span in enumerate(answer.spans):
            loc = f"spans.{index}"
            name = f"span {index + 1} ({span.label}, {span.start:g}–{span.end:g} s)"
            if labels and span.label not in labels:
                self.fail(f"{loc}.label", f"{name}: the label must be one of: {', '.join(labels)}")
            if duration is not None and span.end > duration + 1e-6:
                self.fail(f"{loc}.end", f"{name} ends past the end of the clip ({duration:g} s)")
            if span.end - span.start < shortest - 1e-9:
                self.fail(loc, f"{name} is {span.end - span.start:g} s long; the shortest span this project "
                               f"takes is {shortest:g} s")
            if span.box is None:
                continue
            box = span.box
            if not boxes:
                self.fail(f"{loc}.box", f"{name}: this project takes no boxes on key frames")
            if not span.start - 1e-6 <= box.time <= span.end + 1e-6:
                self.fail(f"{loc}.box.time", f"{name}: the key frame ({box.time:g} s) must lie inside the span")
            if width is not None and box.x + box.width > width:
                self.fail(f"{loc}.box", f"{name}: the box leaves the frame on the right (x + width = "
                                        f"{box.x + box.width:g}, the video is {width} px wide)")
            if height is not None and box.y + box.height > height:
                self.fail(f"{loc}.box", f"{name}: the box leaves the frame at the bottom (y + height = "
                                        f"{box.y + box.height:g}, the video is {height} px high)")
