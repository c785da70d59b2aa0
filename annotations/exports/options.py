"""The typed boundary of exports: every way in (the admin page, the API, the management command)
hands its raw values to `parse_options`, which refuses what does not fit, naming the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ExportError


class ExportOptions(BaseModel):
    """What goes into an export besides its project, batch and format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_grade: int | None = Field(default=None, ge=1, le=5,
                                  description="Only submissions whose final grade is at least this.")
    exclude_gold: bool = Field(default=False, description="Leave out submissions to gold tasks.")
    reviewed_only: bool = Field(default=False, description="Only submissions that have a final grade.")
    full_overlap_only: bool = Field(default=False, description="Only tasks that have all their submissions.")
    submitted_from: AwareDatetime | None = Field(default=None, description="Submitted at or after (with time zone).")
    submitted_to: AwareDatetime | None = Field(default=None, description="Submitted before (with time zone).")
    ties: Literal["drop", "keep"] = Field(default="drop", description="dpo: leave ties out, or keep them flagged.")
    final_labels: bool = Field(default=False, description="Add each task's final label and agreement.")
    contractor_ids: bool = Field(default=False, description="Contractor ids instead of per-project pseudonyms.")

    @model_validator(mode="after")
    def _window(self):
        if self.submitted_from and self.submitted_to and self.submitted_from >= self.submitted_to:
            raise ValueError("submitted_from must be before submitted_to")
        return self

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)


def parse_options(raw: dict[str, Any] | ExportOptions | None) -> ExportOptions:
    """Raw values (JSON, form strings) as options, or an ExportError with one item per bad field."""
    if isinstance(raw, ExportOptions):
        return raw
    raw = {k: v for k, v in (raw or {}).items() if v is not None and v != ""}
    try:
        return ExportOptions.model_validate(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in err["loc"]) or "submitted_to"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"there is no export option {field!r}"
            errors.append({"field": field, "message": message})
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ExportError(f"Invalid export options: {summary}", field=errors[0]["field"], errors=errors) from None


def options_from_stored(stored: dict[str, Any]) -> ExportOptions:
    return ExportOptions.model_validate(stored or {})

