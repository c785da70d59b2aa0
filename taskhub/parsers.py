"""The API's JSON body parser: strict JSON through taskhub.parsing, refused with a clear 400.

Kept apart from taskhub.api: DRF reads its parser classes while `rest_framework.views` is imported."""

from rest_framework.parsers import JSONParser

from .parsing import json_value


class StrictJSONParser(JSONParser):
    """No NaN, infinity or 1e999, bounded nesting, no NUL or unpaired surrogate anywhere: a body with
    one is refused (`InvalidInput`, 400) with the place it was found, e.g. `body.answer.reason`."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw.strip():
            return {}
        return json_value(raw, field="body")
