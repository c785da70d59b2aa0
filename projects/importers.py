"""Reading task import files: numbered lines, format detection and the three parsers.

Everything here is pure: it reads bytes and yields records or line errors, and never
touches the database. The service (`projects.services.imports`) validates the records
against the task type, finds duplicates and writes the tasks.

Formats:

- TaskHub JSON Lines: one object per line,
  `{"external_id": "...", "payload": {...}, "gold_answer": {...}, "reference_answer": {...}}`
  (the last two optional).
- CSV with a header row: an `external_id` column, the payload either as one `payload`
  column holding JSON or as one column per payload field, optional `gold_answer` and
  `reference_answer` columns holding JSON.
- HH-RLHF preference pairs: `{"chosen": "...", "rejected": "..."}`, two versions of one
  dialogue that differ in the final assistant reply. The shared dialogue becomes the
  prompt and the two replies are shown as A and B in a seeded random order.

Any of them may be gzipped (detected by its magic bytes) and may start with a UTF-8 BOM.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from taskhub.parsing import JSON_MAX_DEPTH

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

NATIVE_FIELDS = ("external_id", "payload", "gold_answer", "reference_answer")
CSV_JSON_COLUMNS = ("gold_answer", "reference_answer")

HH_TURN = "\n\nAssistant:"
# An empty final reply is real data (the annotators preferred saying nothing to the
# alternative); a response cannot be blank, so the page shows this instead.
HH_EMPTY_REPLY = "(The assistant gave no reply.)"


class FileError(Exception):
    """The file cannot be read any further (damaged gzip data, UTF-16, ...)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class LineError:
    """What is wrong with one line (or, with no line, the whole file), as an error item."""

    line: int | None
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class Record:
    """One task as read from the file, before validation against the task type."""

    line: int
    external_id: Any
    payload: Any
    gold_answer: Any = None
    reference_answer: Any = None
    # HH-RLHF: the gold answer was derived here from the source, not written by a person.
    gold_is_reference: bool = False
    # Nothing in it can be unstorable (see `storable_json_text`): validation need not walk it.
    storable: bool = False
    # The payload already validated against its task type, as stored (JSON text): see `parse_jsonl`.
    payload_text: str | None = None
    errors: list[LineError] = field(default_factory=list)


# --- lines --------------------------------------------------------------------------------


@dataclass
class Line:
    number: int
    text: str | None  # None when the line could not be read (see `error`)
    error: str | None = None


class LineReader:
    """The numbered, decoded lines of an upload, gzipped or not.

    Lines longer than `max_line_bytes` are skipped without being held in memory and
    reported; bytes that are not UTF-8 are reported with their line and position.
    Reading stops with a `FileError` after `max_bytes` bytes of content (counted after
    decompression: a small gzip may hold gigabytes) or `max_lines` lines, so no file holds
    a worker for long. `position()` is how far into the stored (possibly compressed) file
    reading has got.
    """

    def __init__(self, raw: BinaryIO, *, max_line_bytes: int, max_bytes: int | None = None,
                 max_lines: int | None = None) -> None:
        self.raw = raw
        self.max_line_bytes = max_line_bytes
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.content_bytes = 0
        head = raw.read(2)
        raw.seek(0)
        self.compressed = head == GZIP_MAGIC
        self.stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if self.compressed else raw

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def _readline(self, size: int, number: int) -> bytes:
        try:
            chunk = self.stream.readline(size)
        except (OSError, EOFError, zlib.error) as exc:
            # gzip.BadGzipFile is an OSError; a truncated stream raises EOFError.
            raise FileError(f"The gzip data is damaged after line {number - 1}: {exc}.", line=number) from None
        self.content_bytes += len(chunk)
        if self.max_bytes is not None and self.content_bytes > self.max_bytes:
            unpacked = " once decompressed" if self.compressed else ""
            raise FileError(
                f"The file holds more than {self.max_bytes:,} bytes{unpacked} (reading stopped at line {number}); "
                "split it into smaller files.",
                line=number,
            )
        return chunk

    def __iter__(self) -> Iterator[Line]:
        limit = self.max_line_bytes
        number = 0
        while True:
            number += 1
            chunk = self._readline(limit + 1, number)
            if not chunk:
                return
            if self.max_lines is not None and number > self.max_lines:
                raise FileError(f"The file has more than {self.max_lines:,} lines; split it into smaller files.",
                                line=number)
            if number == 1:
                if chunk.startswith(UTF16_BOMS):
                    raise FileError(
                        "The file is UTF-16 encoded; save it as UTF-8 (with or without a BOM) and upload it again.",
                        line=1,
                    )
                if chunk.startswith(UTF8_BOM):
                    chunk = chunk[len(UTF8_BOM):]
            if not chunk.endswith(b"\n") and len(chunk) > limit:
                size = len(chunk)
                while chunk and not chunk.endswith(b"\n"):
                    chunk = self._readline(1 << 16, number)
                    size += len(chunk)
                yield Line(number, None, f"the line is {size:,} bytes long; the limit is {limit:,} bytes per line")
                continue
            content = chunk.rstrip(b"\n").rstrip(b"\r")
            try:
                yield Line(number, content.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad = content[exc.start]
                yield Line(
                    number,
                    None,
                    f"the text is not valid UTF-8 (byte 0x{bad:02x} at byte {exc.start + 1} of the line); "
                    "save the file as UTF-8",
                )


# --- format detection -----------------------------------------------------------------------


def detect_format(first_text: str, original_name: str) -> str:
    """`jsonl`, `hh_rlhf` or `csv`, from the first non-blank line (and the file name)."""
    name = original_name.lower().removesuffix(".gz")
    stripped = first_text.lstrip()
    if stripped.startswith("{"):
        try:
            first = json.loads(stripped)
        except ValueError:
            return "csv" if name.endswith(".csv") else "jsonl"
        if isinstance(first, dict) and set(first) == {"chosen", "rejected"}:
            return "hh_rlhf"
        return "jsonl"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "csv"


# --- JSON helpers ---------------------------------------------------------------------------


class _Refused(ValueError):
    """JSON that parses but cannot be stored (1e999, nesting too deep): its message says why."""


def _refuse_constant(name: str):
    raise _Refused(f"{name} is not allowed in JSON")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise _Refused(f"the number {literal[:30]} is too large")
    return number


_JSON_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def json_loads(text: str) -> Any:
    """Strict JSON: NaN, Infinity and numbers too large for a float (1e999) are refused (the
    database cannot store them), and so is nesting deeper than JSON_MAX_DEPTH levels."""
    try:
        value = _JSON_DECODER.decode(text)
    except RecursionError:
        raise _Refused(f"it nests deeper than {JSON_MAX_DEPTH} levels") from None
    # A value cannot nest deeper than the text has brackets: most lines need no walk at all.
    if text.count("{") + text.count("[") > JSON_MAX_DEPTH and json_depth(value) > JSON_MAX_DEPTH:
        raise _Refused(f"it nests deeper than {JSON_MAX_DEPTH} levels")
    return value


def storable_json_text(text: str) -> bool:
    """Whether everything parsed from this JSON text (by `json_loads`) is sure to be storable: text
    without an escape (\\u...) can hold no NUL and no unpaired surrogate (strict JSON has no raw
    control characters in strings, and decoded UTF-8 no surrogates), and `json_loads` already
    refused non-finite numbers and deep nesting. Then the walk over the value may be skipped."""
    return "\\u" not in text and "\x00" not in text


def json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 1), counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > JSON_MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, _Refused):
        return f"JSON that cannot be stored: {exc}"
    return f"not valid JSON: {exc}"


def describe(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


# --- native JSON Lines ----------------------------------------------------------------------


def _fast_lines(lines: Iterator[Line], fast: FastLine) -> Iterator[Line | Record]:
    """The lines, with those the fast check takes whole already turned into records."""
    for line in lines:
        # Only lines that cannot hold anything unstorable nor nest too deeply, whatever the schema.
        if (line.text is not None and storable_json_text(line.text)
                and line.text.count("{") + line.text.count("[") <= JSON_MAX_DEPTH):
            taken = fast(line.text)
            if taken is not None:
                yield Record(line=line.number, external_id=taken[0], payload=None, storable=True,
                             payload_text=taken[1])
                continue
        yield line


def _json_lines(lines) -> Iterator[tuple[Line, object] | LineError | Record]:
    """Each non-blank line parsed as JSON, or the error that stops it (records pass through)."""
    for line in lines:
        if isinstance(line, Record):
            yield line
            continue
        if line.text is None:
            yield LineError(line.number, line.error or "unreadable line")
            continue
        if not line.text.strip():
            continue
        try:
            yield line, json_loads(line.text)
        except ValueError as exc:
            yield LineError(line.number, json_error(exc))


# A fast check of a whole line: the line's text in, (external id, the payload as stored) out, or None
# when the line needs the full reading below (which says what is wrong with it, if anything).
FastLine = Callable[[str], "tuple[str, str] | None"]


def parse_jsonl(lines: Iterator[Line], *, fast: FastLine | None = None) -> Iterator[Record | LineError]:
    if fast is not None:
        lines = _fast_lines(lines, fast)
    for parsed in _json_lines(lines):
        if isinstance(parsed, Record):
            yield parsed
            continue
        if isinstance(parsed, LineError):
            yield parsed
            continue
        line, data = parsed
        if not isinstance(data, dict):
            yield LineError(line.number, f"expected a JSON object, found {describe(data)}")
            continue
        unknown = sorted(set(data) - set(NATIVE_FIELDS))
        if unknown:
            yield LineError(
                line.number,
                f"unknown field {', '.join(repr(k) for k in unknown)}; a line has {', '.join(NATIVE_FIELDS)}",
                field=unknown[0],
            )
            continue
        if "payload" not in data:
            yield LineError(line.number, "the line has no \"payload\"", field="payload")
            continue
        yield Record(
            line=line.number,
            external_id=data.get("external_id"),
            payload=data["payload"],
            gold_answer=data.get("gold_answer"),
            reference_answer=data.get("reference_answer"),
            storable=storable_json_text(line.text),
        )


# --- CSV ------------------------------------------------------------------------------------


class _CsvLines:
    """Feeds csv.reader the decoded lines and remembers where each record started."""

    def __init__(self, lines: Iterator[Line]) -> None:
        self.lines = lines
        self.current = 0
        self.errors: list[LineError] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            line = next(self.lines)
            self.current = line.number
            if line.text is None:
                # Reported, and left out of the CSV stream so the next records still parse.
                self.errors.append(LineError(line.number, line.error or "unreadable line"))
                continue
            return line.text + "\n"


def parse_csv(lines: Iterator[Line], *, payload_fields: list[str]) -> Iterator[Record | LineError]:
    source = _CsvLines(lines)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    header_line = 0
    per_field = False
    while True:
        start = source.current + 1
        try:
            row = next(reader)
        except StopIteration:
            yield from source.errors
            break
        except csv.Error as exc:
            yield from source.errors
            source.errors.clear()
            yield LineError(start, f"not valid CSV: {exc}")
            continue
        yield from source.errors
        source.errors.clear()
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            header_line = source.current
            problem = _check_header(header, payload_fields)
            if problem:
                yield LineError(header_line, problem)
                return
            per_field = "payload" not in header
            continue
        if len(row) != len(header):
            yield LineError(start, f"the row has {len(row)} cells; the header on line {header_line} has {len(header)}")
            continue
        cells = dict(zip(header, row, strict=True))
        record = Record(line=start, external_id=cells["external_id"], payload=None)
        if per_field:
            # Empty cells are left out so optional fields keep their defaults; the type's
            # schema turns "12.5" into a number where the field is one.
            record.payload = {name: cells[name] for name in payload_fields if cells.get(name, "") != ""}
        else:
            record.payload = _json_cell(cells["payload"], "payload", record)
        for column in CSV_JSON_COLUMNS:
            if cells.get(column, "").strip():
                setattr(record, column, _json_cell(cells[column], column, record))
        if record.errors:
            yield from record.errors
            continue
        yield record


def _json_cell(text: str, column: str, record: Record) -> Any:
    try:
        return json_loads(text)
    except ValueError as exc:
        record.errors.append(LineError(record.line, f"the {column} column is {json_error(exc)}", field=column))
        return None


def _check_header(header: list[str], payload_fields: list[str]) -> str | None:
    seen: set[str] = set()
    for name in header:
        if not name:
            return "the header has an empty column name"
        if name in seen:
            return f"the header names the column {name!r} twice"
        seen.add(name)
    if "external_id" not in seen:
        return "the header has no \"external_id\" column"
    extra = seen - {"external_id", *CSV_JSON_COLUMNS}
    if "payload" in extra:
        others = sorted(extra - {"payload"})
        if others:
            return (
                f"give the payload either as one \"payload\" JSON column or as one column per field, not both "
                f"(found \"payload\" and {', '.join(repr(c) for c in others)})"
            )
        return None
    unknown = sorted(extra - set(payload_fields))
    if unknown:
        return (
            f"unknown column {', '.join(repr(c) for c in unknown)}; the columns are external_id, "
            f"gold_answer, reference_answer and either payload (JSON) or the payload fields "
            f"{', '.join(payload_fields)}"
        )
    if not extra:
        return "the header has no payload columns: add a \"payload\" JSON column or one column per payload field"
    return None


# --- HH-RLHF preference pairs -----------------------------------------------------------------


def _shared_length(a: str, b: str) -> int:
    """How many leading characters two texts have in common."""
    limit = min(len(a), len(b))
    if a[:limit] == b[:limit]:
        return limit
    low, high = 0, limit  # a[:low] == b[:low] and a[:high] != b[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle
    return low


def hh_split(chosen: str, rejected: str) -> tuple[str, str, str]:
    """(prompt, chosen reply, rejected reply) of one preference pair.

    The prompt is the dialogue both texts share, up to the last assistant turn they both
    reach. Nearly always that is the final turn; in a few real pairs the two versions part
    earlier (a turn that lost its line breaks), and then each reply carries the rest of its
    own version of the conversation, so no text is lost or attributed to the wrong side.
    """
    common = _shared_length(chosen, rejected)
    cut = chosen.rfind(HH_TURN, 0, common)
    # The marker must be complete in both texts, i.e. end within the shared prefix.
    while cut != -1 and cut + len(HH_TURN) > common:
        cut = chosen.rfind(HH_TURN, 0, cut)
    if cut == -1:
        return "", chosen, rejected
    start = cut + len(HH_TURN)
    return chosen[:cut], chosen[start:], rejected[start:]


def parse_hh_rlhf(lines: Iterator[Line], *, seed: int, gold_from_reference: bool) -> Iterator[Record | LineError]:
    order = random.Random(seed)  # noqa: S311 - a presentation order, not a secret
    for parsed in _json_lines(lines):
        if isinstance(parsed, LineError):
            yield parsed
            continue
        line, data = parsed
        if not isinstance(data, dict) or set(data) != {"chosen", "rejected"}:
            found = ", ".join(repr(k) for k in data) if isinstance(data, dict) else describe(data)
            yield LineError(line.number, f"an HH-RLHF line is an object with exactly \"chosen\" and \"rejected\" "
                                         f"(found {found or 'an empty object'})")
            continue
        chosen, rejected = data["chosen"], data["rejected"]
        if not isinstance(chosen, str) or not isinstance(rejected, str):
            yield LineError(line.number, "\"chosen\" and \"rejected\" must both be text", field="chosen")
            continue
        # One draw per pair, whatever the pair holds, so a pair's order depends only on the
        # seed and its position in the file.
        chosen_first = order.random() < 0.5
        prompt, chosen_reply, rejected_reply = hh_split(chosen, rejected)
        if not prompt.strip():
            yield LineError(line.number, "the dialogue has no assistant turn shared by \"chosen\" and \"rejected\", "
                                         "so there is no prompt to split off", field="chosen")
            continue
        chosen_reply = chosen_reply.strip() or HH_EMPTY_REPLY
        rejected_reply = rejected_reply.strip() or HH_EMPTY_REPLY
        first, second = (chosen_reply, rejected_reply) if chosen_first else (rejected_reply, chosen_reply)
        # Nothing tells identical replies apart: a preference between them is a tie.
        reference = {"choice": "tie" if chosen_reply == rejected_reply else "A" if chosen_first else "B"}
        yield Record(
            line=line.number,
            external_id=f"hh-{line.number:05d}",
            payload={"prompt": prompt.strip(), "response_a": first, "response_b": second},
            reference_answer=reference,
            gold_answer=dict(reference) if gold_from_reference else None,
            gold_is_reference=gold_from_reference,
        )


# --- COPY text format -------------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | None) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if "\\" not in value and "\t" not in value and "\n" not in value and "\r" not in value:
        return value  # four scans in C are cheaper than translating what needs no escape
    return value.translate(_COPY_ESCAPES)


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_text(value: Any) -> str | None:
    if value is None:
        return None
    return _JSON_ENCODER.encode(value)


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False
