"""Every route of the site, found by walking the URLconf (what the matrix and the fuzz test cover)."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


def site_routes() -> Iterator[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every route; an unnamed one is `<namespace>:?`."""

    def walk(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, ns)
            elif isinstance(entry, URLPattern):
                yield namespace + (entry.name or "?"), entry

    yield from walk(get_resolver().url_patterns)


def sample_kwargs(pattern: URLPattern) -> dict[str, str]:
    """Values that reverse a route whose arguments do not matter (the Django admin's)."""
    kwargs: dict[str, str] = {}
    if isinstance(pattern.pattern, RoutePattern):
        for name, converter in pattern.pattern.converters.items():
            kwargs[name] = "1" if type(converter).__name__ in ("IntConverter", "PathConverter", "StringConverter") \
                else "x"
    elif isinstance(pattern.pattern, RegexPattern):
        for name in pattern.pattern.regex.groupindex:
            kwargs[name] = "projects" if name == "app_label" else "1"
    return kwargs
