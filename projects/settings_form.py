"""Form fields generated from a task type's settings schema (its pydantic `config_schema`), so the set-up
page asks for each setting in its own field (a list one item a line, a number, a tick) instead of raw
JSON, and a refusal of the type's validation lands at the setting it is about."""

from __future__ import annotations

import math
from typing import Any, get_origin

from django import forms
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from . import task_types
from .errors import InvalidData


def field_name(type_key: str, name: str) -> str:
    return f"config__{type_key}__{name}"


def _bounds(info: FieldInfo) -> dict[str, Any]:
    attrs = {}
    for item in info.metadata:
        for key, attr in (("ge", "min"), ("gt", "min"), ("le", "max"), ("lt", "max")):
            value = getattr(item, key, None)
            if value is not None:
                attrs[attr] = value
    return attrs


class _FiniteFloatField(forms.FloatField):
    def clean(self, value):
        number = super().clean(value)
        if number is not None and not math.isfinite(number):
            raise forms.ValidationError("Enter a finite number.")
        return number


class LinesField(forms.CharField):
    """A list of short texts, typed one a line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(str(item) for item in value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


def form_field(name: str, info: FieldInfo) -> forms.Field:
    """The form field of one setting (never required at the form level: only the chosen type's count,
    and the schema says what is missing)."""
    label = name.replace("_", " ").capitalize()
    help_text = info.description or ""
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    annotation = info.annotation
    if annotation is bool:
        return forms.BooleanField(required=False, label=label, help_text=help_text, initial=bool(default))
    if get_origin(annotation) is list:
        return LinesField(required=False, label=label, max_length=20_000, initial=default or None,
                          help_text=(help_text + " One a line.").strip())
    initial = None if default is None or default is PydanticUndefined else default
    if annotation is int:
        return forms.IntegerField(required=False, label=label, help_text=help_text, initial=initial,
                                  widget=forms.NumberInput(attrs=_bounds(info)))
    if annotation is float:
        return _FiniteFloatField(required=False, label=label, help_text=help_text, initial=initial,
                                 widget=forms.NumberInput(attrs={"step": "any", **_bounds(info)}))
    return forms.CharField(required=False, label=label, help_text=help_text, initial=initial, max_length=2_000)


def settings_fields(type_key: str) -> dict[str, forms.Field]:
    """{form field name: field} for the settings of one type (none for a type without settings)."""
    schema = task_types.get(type_key).config_schema
    if schema is None:
        return {}
    return {field_name(type_key, name): form_field(name, info) for name, info in schema.model_fields.items()}


def settings_initial(type_key: str, config: dict | None) -> dict[str, Any]:
    return {field_name(type_key, name): value for name, value in (config or {}).items()}


def settings_from(type_key: str, cleaned: dict) -> dict[str, Any]:
    """The chosen type's settings from a form's cleaned data; a blank setting is left to its default."""
    schema = task_types.get(type_key).config_schema
    if schema is None:
        return {}
    config = {}
    for name, info in schema.model_fields.items():
        value = cleaned.get(field_name(type_key, name))
        if value is None or value == "":
            continue
        if value == [] and not info.is_required():
            continue
        config[name] = value
    return config


def settings_errors(type_key: str, exc: InvalidData) -> list[tuple[str | None, str]]:
    """The type's refusal as (form field name or None, message): `labels.1` is about the labels field."""
    schema = task_types.get(type_key).config_schema
    names = set(schema.model_fields) if schema is not None else set()
    located = []
    for item in exc.errors or [{"field": exc.field, "message": exc.message}]:
        where = str(item.get("field") or "")
        head, _, rest = where.partition(".")
        if head in names:
            message = item["message"]
            if rest.isdigit():
                message = f"line {int(rest) + 1}: {message}"
            located.append((field_name(type_key, head), message))
        else:
            located.append((None, item["message"]))
    return located
