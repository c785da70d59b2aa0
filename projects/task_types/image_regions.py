from typing import Annotated, Literal

from pydantic import Field, model_validator

from . import overlap
from .base import Strict
from .visual import Label, MediaName, MediaUrl, Note, VisualConfig, VisualTaskType

MAX_SIDE = 30_000  # pixels; Pillow's decompression-bomb guard refuses far less in an upload


class Config(VisualConfig):
    # The smallest box (or polygon bounding box) side that counts as a mark, in image pixels.
    min_region_size: float = Field(default=4, ge=1, le=1_000, description="The smallest side of a mark, in pixels.")
    polygons: bool = Field(default=True, description="Contractors may draw polygons as well as boxes.")


class Payload(Strict):
    image_url: str | None = MediaUrl
    file: str | None = MediaName
    media: str | None = Field(default=None, min_length=1, max_length=300)
    width: int = Field(ge=1, le=MAX_SIDE)
    height: int = Field(ge=1, le=MAX_SIDE)
    caption: str | None = Field(default=None, max_length=5_000)


Coordinate = Field(default=None, ge=-1e6, le=1e6, allow_inf_nan=False)
PointValue = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class Region(Strict):
    shape: Literal["box", "polygon"] = "box"
    x: float | None = Coordinate
    y: float | None = Coordinate
    width: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)
    height: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False)
    points: list[tuple[PointValue, PointValue]] | None = Field(default=None, min_length=3, max_length=500)
    label: str = Label
    note: str = Note

    @model_validator(mode="after")
    def _shape(self):
        box = (self.x, self.y, self.width, self.height)
        if self.shape == "box":
            if any(v is None for v in box):
                raise ValueError("a box needs x, y, width and height")
            if self.points is not None:
                raise ValueError("a box has no points (use shape 'polygon')")
        else:
            if self.points is None:
                raise ValueError("a polygon needs at least 3 points")
            if any(v is not None for v in box):
                raise ValueError("a polygon has points, not x, y, width and height")
        return self


class Answer(Strict):
    regions: list[Region] = Field(default_factory=list, max_length=500)
    nothing_to_mark: bool = False


def _n(value: float) -> str:
    return f"{value:g}"


class ImageRegions(VisualTaskType):
    key = "image_regions"
    label = "Image regions"
    description = "Mark labelled boxes or polygons in an image, or say there is nothing to mark."
    payload_schema = Payload
    answer_schema = Answer
    config_schema = Config
    example_payload = {"image_url": "/static/demo/street-1.png", "width": 640, "height": 400}
    url_field = "image_url"
    media_kind = "image"
    marks_field = "regions"
    mark_noun = "region"
    workspace_script = "js/regions.js"

    iou = staticmethod(overlap.region_iou)

    def check_answer(self, answer, task, project):
        self.check_marks_present(answer)
        config = (project.task_config or {}) if project else {}
        labels = config.get("labels")
        min_size = float(config.get("min_region_size", 4))
        polygons = config.get("polygons", True)
        width = task.payload["width"] if task is not None else None
        height = task.payload["height"] if task is not None else None
        for index, region in enumerate(answer.regions):
            loc = f"regions.{index}"
            name = f"region {index + 1} ({region.label})"
            if labels and region.label not in labels:
                self.fail(f"{loc}.label", f"{name}: the label must be one of: {', '.join(labels)}")
            if region.shape == "polygon" and not polygons:
                self.fail(f"{loc}.shape", f"{name}: this project marks boxes only, not polygons")
            left, top, right, bottom = overlap.region_bounds(region.model_dump())
            if left < 0 or top < 0:
                self.fail(loc, f"{name} starts outside the image (at {_n(left)}, {_n(top)}); "
                               "coordinates start at 0, 0 in the top left corner")
            if width is not None and right > width:
                self.fail(loc, f"{name} leaves the image on the right: it ends at x = {_n(right)}, "
                               f"the image is {width} px wide")
            if height is not None and bottom > height:
                self.fail(loc, f"{name} leaves the image at the bottom: it ends at y = {_n(bottom)}, "
                               f"the image is {height} px high")
            if right - left < min_size or bottom - top < min_size:
                self.fail(loc, f"{name} is {_n(right - left)} × {_n(bottom - top)} px; the smallest region "
                               f"this project takes is {_n(min_size)} px a side")
            if region.shape == "polygon" and overlap.polygon_area(region.points) <= 0:
                self.fail(loc, f"{name}: the polygon's points lie on one line; it has no area")
