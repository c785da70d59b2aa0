"""The registry of task types.

Each module in this package defines one `TaskType` subclass; it is found and registered
automatically, so adding a type means adding one module here.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import InvalidData, TaskType

_REGISTRY: dict[str, TaskType] = {}


def _discover() -> None:
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            defined_here = isinstance(value, type) and value.__module__ == module.__name__
            if defined_here and issubclass(value, TaskType) and getattr(value, "key", None):
                _REGISTRY[value.key] = value()


_discover()


def get(key: str) -> TaskType:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise InvalidData(f"Unknown task type {key!r}.", field="task_type") from None


def all_types() -> list[TaskType]:
    return sorted(_REGISTRY.values(), key=lambda t: t.label)


def choices() -> list[tuple[str, str]]:
    return [(t.key, t.label) for t in all_types()]


__all__ = ["InvalidData", "TaskType", "all_types", "choices", "get"]
