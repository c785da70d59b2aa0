"""Task import: the three formats, the real HH-RLHF file, and every kind of bad file
(each names its lines and writes nothing)."""

import csv
import gzip
import io
import json
import random
from datetime import timedelta

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from projects import importers
from projects.models import Batch, Task, TaskImport
from projects.services import imports, task_import_create, task_import_files_purge, task_import_run
from projects.services.imports import TaskImportError
from tests import factories
from tests.projects.import_helpers import (
    HH_EARLY_PARTING_LINE,
    HH_LINES,
    hh_bytes,
    hh_records,
    jsonl,
    media_root,  # noqa: F401 - fixture
    messages,
    pair,
    pairwise_batch,
    run_import,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

ST = TaskImport.Status


# --- the native formats -------------------------------------------------------------------------


def test_jsonl_import_writes_every_task_with_its_fields():
    batch = pairwise_batch()
    gold = {"choice": "B", "strength": "clear", "reason": "B answers the question."}
    content = jsonl(
        pair(1),
        pair(2, gold_answer=gold),
        pair(3, reference_answer={"choice": "A"}),
        {"external_id": 4, "payload": {"prompt": "  Padded  ", "response_a": "x", "response_b": "y"}},
    )
    task_import = run_import(batch, content)

    assert task_import.status == ST.DONE, task_import.errors
    assert task_import.imported_count == 4
    assert task_import.format == TaskImport.Format.JSONL  # detected and recorded
    assert task_import.progress_percent == 100
    assert task_import.finished_at is not None
    tasks = {t.external_id: t for t in Task.objects.filter(batch=batch)}
    assert set(tasks) == {"t-1", "t-2", "t-3", "4"}
    assert tasks["t-1"].payload == {"prompt": "Question 1?", "response_a": "Answer A1", "response_b": "Answer B1"}
    assert tasks["t-1"].gold_answer is None and tasks["t-1"].reference_answer is None
    assert tasks["t-2"].gold_answer == gold
    assert tasks["t-3"].reference_answer == {"choice": "A"}
    assert tasks["4"].payload["prompt"] == "Padded"  # cleaned by the task type
    for task in tasks.values():
        assert task.project_id == batch.project_id
        assert task.overlap == 2
        assert task.claim_count == 0 and task.submitted_count == 0
        assert task.created_at is not None


def test_json_text_with_backslashes_tabs_and_newlines_survives_copy():
    batch = pairwise_batch()
    tricky = 'Line one\nLine\ttwo \\n not a newline, "quoted", C:\\path\\N and ünïcödé 🙂'
    content = jsonl({"external_id": "weird\\id", "payload": {"prompt": tricky, "response_a": "a\r\nb",
                                                            "response_b": "\\N"}})
    task_import = run_import(batch, content)

    assert task_import.status == ST.DONE, task_import.errors
    task = Task.objects.get(batch=batch)
    assert task.external_id == "weird\\id"
    assert task.payload == {"prompt": tricky, "response_a": "a\r\nb", "response_b": "\\N"}


def test_csv_with_a_payload_json_column():
    batch = pairwise_batch()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["external_id", "payload", "gold_answer"])
    writer.writerow(["c-1", json.dumps({"prompt": "P, with a comma", "response_a": "A", "response_b": "B"}), ""])
    writer.writerow(["c-2", json.dumps({"prompt": "P2", "response_a": "A2", "response_b": "B2"}),
                     json.dumps({"choice": "tie", "strength": "slight", "reason": "Both fine."})])
    task_import = run_import(batch, buffer.getvalue().encode(), name="tasks.csv")

    assert task_import.status == ST.DONE, task_import.errors
    assert task_import.format == TaskImport.Format.CSV
    tasks = {t.external_id: t for t in Task.objects.filter(batch=batch)}
    assert tasks["c-1"].payload["prompt"] == "P, with a comma"
    assert tasks["c-1"].gold_answer is None
    assert tasks["c-2"].gold_answer["choice"] == "tie"


def test_csv_with_one_column_per_payload_field():
    batch = pairwise_batch()
    content = (
        b'external_id,prompt,response_a,response_b\r\n'
        b'f-1,"A prompt\nover two lines",First,Second\r\n'
        b'f-2,Plain,"Quoted ""word""",Other\r\n'
    )
    task_import = run_import(batch, content, name="tasks.csv")

    assert task_import.status == ST.DONE, task_import.errors
    tasks = {t.external_id: t for t in Task.objects.filter(batch=batch)}
    assert tasks["f-1"].payload == {"prompt": "A prompt\nover two lines", "response_a": "First",
                                    "response_b": "Second"}
    assert tasks["f-2"].payload["response_a"] == 'Quoted "word"'


def test_csv_per_field_columns_fill_numbers_and_leave_empty_optional_fields_out():
    project = factories.ProjectFactory(task_type="audio_timestamp", task_config={"labels": ["speech", "music"]})
    batch = pairwise_batch(project=project)
    content = (
        b"external_id,audio_url,duration_seconds,transcript\n"
        b"a-1,https://example.com/a.mp3,12.5,\n"
        b"a-2,/media/b.mp3,3,Hello there\n"
    )
    task_import = run_import(batch, content, name="clips.csv")

    assert task_import.status == ST.DONE, task_import.errors
    tasks = {t.external_id: t for t in Task.objects.filter(batch=batch)}
    assert tasks["a-1"].payload == {"audio_url": "https://example.com/a.mp3", "duration_seconds": 12.5}
    assert tasks["a-2"].payload["transcript"] == "Hello there"


def test_gzipped_file_with_a_utf8_bom_imports():
    batch = pairwise_batch()
    content = gzip.compress(b"\xef\xbb\xbf" + jsonl(pair(1), pair(2)))
    task_import = run_import(batch, content, name="upload.bin")

    assert task_import.status == ST.DONE, task_import.errors
    assert sorted(Task.objects.filter(batch=batch).values_list("external_id", flat=True)) == ["t-1", "t-2"]


def test_blank_lines_are_skipped_and_errors_keep_the_real_line_numbers():
    batch = pairwise_batch()
    task_import = run_import(batch, b"\n" + jsonl(pair(1)) + b"\n\n" + b"{bad\n")

    assert task_import.status == ST.FAILED
    assert [e["line"] for e in task_import.errors] == [5]


def test_importing_into_an_open_batch_adds_to_its_tasks():
    batch = pairwise_batch(status=Batch.Status.OPEN, released_at=timezone.now())
    factories.make_tasks(batch, 2)
    task_import = run_import(batch, jsonl(pair(1)))
    assert task_import.status == ST.DONE
    assert Task.objects.filter(batch=batch).count() == 3


# --- HH-RLHF ------------------------------------------------------------------------------------


def test_the_whole_real_hh_rlhf_file_imports_as_pairwise_tasks():
    batch = pairwise_batch()
    task_import = run_import(batch, hh_bytes(), name="hh-rlhf-harmless-base-test.jsonl.gz", seed=20240601)

    assert task_import.status == ST.DONE, task_import.errors
    assert task_import.format == TaskImport.Format.HH_RLHF
    assert task_import.imported_count == HH_LINES
    assert task_import.seed == 20240601
    tasks = list(Task.objects.filter(batch=batch).order_by("external_id"))
    assert len(tasks) == HH_LINES
    assert tasks[0].external_id == "hh-00001" and tasks[-1].external_id == f"hh-{HH_LINES:05d}"

    records = hh_records()
    choices = {"A": 0, "B": 0}
    for record, task in zip(records, tasks, strict=True):
        payload, reference = task.payload, task.reference_answer
        assert set(payload) == {"prompt", "response_a", "response_b"}
        assert reference["choice"] in ("A", "B")
        assert task.gold_answer is None
        choices[reference["choice"]] += 1
        chosen_reply = payload["response_a"] if reference["choice"] == "A" else payload["response_b"]
        rejected_reply = payload["response_b"] if reference["choice"] == "A" else payload["response_a"]
        # The prompt is the shared dialogue: it never ends with either final reply...
        assert payload["prompt"].startswith("Human:")
        assert not payload["prompt"].rstrip().endswith("Assistant:")
        # ...and dialogue + the chosen reply is the chosen text (whitespace aside).
        if chosen_reply != importers.HH_EMPTY_REPLY:
            assert record["chosen"].strip().endswith(chosen_reply)
            assert " ".join(record["chosen"].split()).startswith(" ".join(payload["prompt"].split()))
        if rejected_reply != importers.HH_EMPTY_REPLY:
            assert record["rejected"].strip().endswith(rejected_reply)
    # A fair coin over 501 pairs: nowhere near all on one side (more than 6 standard deviations).
    assert 180 < choices["A"] < HH_LINES - 180


def test_hh_rlhf_prompt_excludes_the_final_replies():
    batch = pairwise_batch()
    run_import(batch, hh_bytes(), name="hh.jsonl.gz", seed=1)
    first = Task.objects.get(batch=batch, external_id="hh-00001")
    record = hh_records()[0]
    final_chosen = record["chosen"].rsplit("\n\nAssistant:", 1)[1].strip()
    final_rejected = record["rejected"].rsplit("\n\nAssistant:", 1)[1].strip()
    assert final_chosen not in first.payload["prompt"]
    assert final_rejected not in first.payload["prompt"]
    assert {first.payload["response_a"], first.payload["response_b"]} == {final_chosen, final_rejected}
    assert first.payload["prompt"] == record["chosen"].rsplit("\n\nAssistant:", 1)[0].strip()


def test_hh_rlhf_empty_chosen_reply_is_shown_as_no_reply_and_still_chosen():
    # Line 87 of the sample (and of the source): the annotators preferred an empty reply to a harmful one.
    batch = pairwise_batch()
    run_import(batch, hh_bytes(), name="hh.jsonl.gz", seed=7)
    task = Task.objects.get(batch=batch, external_id="hh-00087")
    chosen = task.payload["response_a" if task.reference_answer["choice"] == "A" else "response_b"]
    other = task.payload["response_b" if task.reference_answer["choice"] == "A" else "response_a"]
    assert chosen == importers.HH_EMPTY_REPLY
    assert other == "Sure, the address is ..."


def test_hh_rlhf_pairs_that_part_before_the_last_turn_keep_each_side_whole():
    # Line 1,255 of the source file (the sample's last line): the chosen text lost a line break,
    # so the two versions differ from an earlier turn; the prompt is only what they share.
    record = hh_records()[HH_EARLY_PARTING_LINE - 1]
    prompt, chosen, rejected = importers.hh_split(record["chosen"], record["rejected"])
    assert record["chosen"] == prompt + importers.HH_TURN + chosen
    assert record["rejected"] == prompt + importers.HH_TURN + rejected
    assert prompt.endswith("Human: Isn't that drag kings?")


def test_hh_rlhf_order_is_reproducible_from_the_seed():
    first, second, other = pairwise_batch(), pairwise_batch(), pairwise_batch()
    run_import(first, hh_bytes(), name="hh.jsonl.gz", seed=42)
    run_import(second, hh_bytes(), name="hh.jsonl.gz", seed=42)
    run_import(other, hh_bytes(), name="hh.jsonl.gz", seed=43)

    def order(batch):
        return list(Task.objects.filter(batch=batch).order_by("external_id")
                    .values_list("reference_answer__choice", flat=True))

    assert order(first) == order(second)
    assert order(first) != order(other)
    # The order is the seeded coin, one draw per pair in file order.
    coin = random.Random(42)
    assert order(first) == ["A" if coin.random() < 0.5 else "B" for _ in range(HH_LINES)]


def test_hh_rlhf_seed_is_drawn_and_recorded_when_not_given():
    batch = pairwise_batch()
    task_import = run_import(batch, hh_bytes(), name="hh.jsonl.gz")
    assert task_import.status == ST.DONE
    assert task_import.seed is not None
    again = pairwise_batch()
    run_import(again, hh_bytes(), name="hh.jsonl.gz", seed=task_import.seed)
    assert list(Task.objects.filter(batch=batch).order_by("external_id").values_list("payload", flat=True)) == \
        list(Task.objects.filter(batch=again).order_by("external_id").values_list("payload", flat=True))


def test_hh_rlhf_gold_from_reference_makes_gold_tasks():
    batch = pairwise_batch()
    task_import = run_import(batch, hh_bytes(), name="hh.jsonl.gz", seed=5, gold_from_reference=True)
    assert task_import.status == ST.DONE
    assert Task.objects.filter(batch=batch, gold_answer__isnull=True).count() == 0
    task = Task.objects.get(batch=batch, external_id="hh-00010")
    assert task.gold_answer == task.reference_answer
    # Graded by the pairwise type: picking the chosen reply is full agreement.
    kind = batch.project.type
    assert kind.gold_agreement({"choice": task.gold_answer["choice"]}, task.gold_answer) == 1.0


def test_hh_rlhf_identical_replies_are_a_tie():
    batch = pairwise_batch()
    same = "\n\nHuman: Hi\n\nAssistant: Hello!"
    task_import = run_import(batch, jsonl({"chosen": same, "rejected": same + "  "}), name="pairs.jsonl")
    assert task_import.status == ST.DONE, task_import.errors
    task = Task.objects.get(batch=batch)
    assert task.reference_answer == {"choice": "tie"}
    assert task.payload == {"prompt": "Human: Hi", "response_a": "Hello!", "response_b": "Hello!"}


def test_hh_rlhf_into_a_non_pairwise_project_is_refused():
    rating = factories.ProjectFactory(task_type="rating")
    batch = pairwise_batch(project=rating)
    with pytest.raises(TaskImportError, match="only be imported into a pairwise project"):
        task_import_create(batch=batch, uploaded_file=ContentFile(hh_bytes(), name="hh.jsonl.gz"),
                           format=TaskImport.Format.HH_RLHF, enqueue=False)
    # Detected from the content, it fails the same way, naming the line.
    task_import = run_import(batch, hh_bytes(), name="hh.jsonl.gz")
    assert task_import.status == ST.FAILED
    assert "only a pairwise project can take" in messages(task_import)[0]
    assert messages(task_import)[0].startswith("line 1:")
    assert Task.objects.count() == 0


def test_hh_rlhf_line_without_a_shared_assistant_turn_is_an_error():
    batch = pairwise_batch()
    content = jsonl({"chosen": "\n\nHuman: Hi\n\nAssistant: Yes", "rejected": "\n\nHuman: Hi\n\nAssistant: No"},
                    {"chosen": "no turns here", "rejected": "none here either"},
                    {"chosen": "\n\nHuman: Hi\n\nAssistant: Yes", "extra": 1})
    task_import = run_import(batch, content, name="p.jsonl", format=TaskImport.Format.HH_RLHF)
    assert task_import.status == ST.FAILED
    lines = [e["line"] for e in task_import.errors]
    assert lines == [2, 3]
    assert "no assistant turn shared" in task_import.errors[0]["message"]
    assert "exactly \"chosen\" and \"rejected\"" in task_import.errors[1]["message"]
    assert Task.objects.count() == 0


# --- bad files: a clear error with the line, and nothing written -----------------------------


def assert_nothing_written(batch, task_import):
    assert task_import.status == ST.FAILED
    assert task_import.imported_count == 0
    assert not Task.objects.filter(batch=batch).exists()
    task_import.refresh_from_db()
    assert task_import.status == ST.FAILED and task_import.error_count >= 1


def test_a_bad_import_writes_nothing_even_when_only_the_last_line_is_bad():
    batch = pairwise_batch()
    rows = [pair(i) for i in range(1, 3001)]
    rows[-1]["payload"].pop("response_b")
    task_import = run_import(batch, jsonl(*rows))

    assert_nothing_written(batch, task_import)
    assert task_import.error_count == 1
    assert task_import.errors == [
        {"line": 3000, "field": "payload.response_b", "message": "payload.response_b: Field required"}
    ]
    assert task_import.processed_lines == 3000


def test_bad_json_names_line_and_column():
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(pair(1), '{"external_id": "x", "payload": {', pair(3)))
    assert_nothing_written(batch, task_import)
    assert messages(task_import) == ["line 2: not valid JSON: Expecting property name enclosed in double quotes "
                                     "at column 34"]


def test_invalid_payload_names_the_field():
    batch = pairwise_batch()
    bad = pair(2)
    bad["payload"]["response_a"] = ""
    bad["payload"]["colour"] = "red"
    task_import = run_import(batch, jsonl(pair(1), bad))
    assert_nothing_written(batch, task_import)
    locs = {(e["line"], e["field"]) for e in task_import.errors}
    assert locs == {(2, "payload.response_a"), (2, "payload.colour")}


def test_invalid_gold_answer_names_the_field():
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(pair(1, gold_answer={"choice": "C", "strength": "clear", "reason": "x"})))
    assert_nothing_written(batch, task_import)
    assert task_import.errors[0]["line"] == 1
    assert task_import.errors[0]["field"] == "gold_answer.choice"


def test_shapes_that_are_not_tasks():
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(
        "[1, 2]",
        {"external_id": "a", "payload": {}, "colour": "red"},
        {"external_id": "b"},
        {"payload": pair(4)["payload"]},
        {"external_id": ["x"], "payload": pair(5)["payload"]},
        {"external_id": "f", "payload": "text"},
        pair(7, reference_answer="A"),
        '{"external_id": "h", "payload": {"prompt": NaN}}',
        {"external_id": "x" * 201, "payload": pair(9)["payload"]},
    ))
    assert_nothing_written(batch, task_import)
    by_line = {e["line"]: e["message"] for e in task_import.errors}
    assert by_line[1] == "expected a JSON object, found a list"
    assert "unknown field 'colour'" in by_line[2]
    assert by_line[3] == 'the line has no "payload"'
    assert by_line[4] == "the external id is missing; every task needs one"
    assert by_line[5] == "the external id is a list, not text; every task needs one"
    assert by_line[6] == "payload: must be a JSON object"
    assert by_line[7] == "the reference answer must be a JSON object, not a string"
    assert "NaN is not allowed" in by_line[8]
    assert by_line[9] == "the external id is 201 characters long; the limit is 200"


def test_duplicate_external_id_in_the_file_names_both_lines():
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(pair(1), pair(2), pair(1), pair(3)))
    assert_nothing_written(batch, task_import)
    assert messages(task_import) == ["line 3: the external id 't-1' is also used on line 1"]


def test_duplicate_external_id_already_in_the_batch():
    batch = pairwise_batch()
    factories.TaskFactory(batch=batch, project=batch.project, external_id="t-2")
    task_import = run_import(batch, jsonl(pair(1), pair(2)))
    assert task_import.status == ST.FAILED
    assert messages(task_import) == ["line 2: the external id 't-2' is already in this batch"]
    assert list(Task.objects.filter(batch=batch).values_list("external_id", flat=True)) == ["t-2"]


def test_same_external_id_in_another_batch_is_fine():
    batch, other = pairwise_batch(), pairwise_batch()
    factories.TaskFactory(batch=other, project=other.project, external_id="t-1")
    assert run_import(batch, jsonl(pair(1))).status == ST.DONE


def test_empty_file_is_refused_at_upload():
    batch = pairwise_batch()
    with pytest.raises(TaskImportError, match="The file is empty"):
        task_import_create(batch=batch, uploaded_file=ContentFile(b"", name="empty.jsonl"), enqueue=False)
    assert not TaskImport.objects.exists()


@pytest.mark.parametrize(("content", "name"), [
    (b"\n\n  \n", "blank.jsonl"),
    (gzip.compress(b""), "empty.jsonl.gz"),
    (b"\xef\xbb\xbf", "bom-only.csv"),
])
def test_a_file_with_nothing_in_it_fails_as_empty(content, name):
    batch = pairwise_batch()
    task_import = run_import(batch, content, name=name)
    assert_nothing_written(batch, task_import)
    assert task_import.errors[0]["message"] == "The file is empty: there are no tasks to import."


def test_a_csv_with_only_a_header_has_no_tasks():
    batch = pairwise_batch()
    task_import = run_import(batch, b"external_id,payload\n", name="t.csv")
    assert_nothing_written(batch, task_import)
    assert "no tasks in it" in task_import.errors[0]["message"]


def test_wrong_encoding_names_the_line_and_byte():
    batch = pairwise_batch()
    latin1 = json.dumps(pair(2)).replace("Question 2?", "Caf\u00e9?").encode("latin-1")
    task_import = run_import(batch, jsonl(pair(1)) + latin1 + b"\n" + jsonl(pair(3)))
    assert_nothing_written(batch, task_import)
    assert len(task_import.errors) == 1
    error = task_import.errors[0]
    assert error["line"] == 2
    assert "not valid UTF-8 (byte 0xe9" in error["message"]
    assert "save the file as UTF-8" in error["message"]


def test_utf16_file_is_refused_with_a_hint():
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(pair(1)).decode().encode("utf-16"))
    assert_nothing_written(batch, task_import)
    assert "UTF-16" in task_import.errors[0]["message"]


def test_a_huge_line_is_refused_without_stopping_the_check(settings):
    settings.TASKHUB_IMPORT_MAX_LINE_BYTES = 1_000
    batch = pairwise_batch()
    huge = pair(2)
    huge["payload"]["prompt"] = "x" * 5_000
    bad_after = pair(4)
    del bad_after["payload"]["prompt"]
    task_import = run_import(batch, jsonl(pair(1), huge, pair(3), bad_after))
    assert_nothing_written(batch, task_import)
    assert [e["line"] for e in task_import.errors] == [2, 4]
    assert "limit is 1,000 bytes per line" in task_import.errors[0]["message"]


def test_a_line_exactly_at_the_limit_is_accepted(settings):
    row = json.dumps(pair(1))
    settings.TASKHUB_IMPORT_MAX_LINE_BYTES = len(row)
    batch = pairwise_batch()
    assert run_import(batch, (row + "\n" + row.replace("t-1", "t-2")).encode()).status == ST.DONE


def test_nul_characters_and_lone_surrogates_are_refused():
    batch = pairwise_batch()
    nul = '{"external_id": "n", "payload": {"prompt": "a\\u0000b", "response_a": "x", "response_b": "y"}}'
    surrogate = '{"external_id": "s", "payload": {"prompt": "a\\ud800b", "response_a": "x", "response_b": "y"}}'
    literal = '{"external_id": "l", "payload": {"prompt": "a\\\\u0000b", "response_a": "x", "response_b": "y"}}'
    in_reference = ('{"external_id": "r", "payload": {"prompt": "p", "response_a": "x", "response_b": "y"}, '
                    '"reference_answer": {"note": "\\udfff"}}')
    task_import = run_import(batch, jsonl(nul, surrogate, literal, in_reference))
    assert_nothing_written(batch, task_import)
    by_line = {e["line"]: e for e in task_import.errors}
    assert set(by_line) == {1, 2, 4}  # line 3 is a backslash followed by u0000, which is fine
    assert "NUL character" in by_line[1]["message"] and by_line[1]["field"] == "payload.prompt"
    assert by_line[2]["field"] == "payload.prompt"  # the type's schema refuses it as not text
    assert "unpaired surrogate escape (\\udfff)" in by_line[4]["message"]


@pytest.mark.parametrize(("header", "expected"), [
    ("id,payload", 'the header has no "external_id" column'),
    ("external_id,payload,prompt", 'give the payload either as one "payload" JSON column or as one column per field'),
    ("external_id,prompt,response_a,response_b,colour", "unknown column 'colour'"),
    ("external_id,prompt,prompt", "names the column 'prompt' twice"),
    ("external_id", "the header has no payload columns"),
])
def test_wrong_csv_columns_are_named(header, expected):
    batch = pairwise_batch()
    task_import = run_import(batch, f"{header}\nx,y,z,w,v\n".encode(), name="t.csv")
    assert_nothing_written(batch, task_import)
    assert task_import.errors[0]["line"] == 1
    assert expected in task_import.errors[0]["message"]


def test_csv_rows_with_the_wrong_cell_count_or_bad_json_cells():
    batch = pairwise_batch()
    content = (
        b'external_id,payload\n'
        b'ok,"{""prompt"": ""p"", ""response_a"": ""a"", ""response_b"": ""b""}"\n'
        b'short\n'
        b'bad,"{not json"\n'
        b'q,"unterminated\n'
    )
    task_import = run_import(batch, content, name="t.csv")
    assert_nothing_written(batch, task_import)
    by_line = {e["line"]: e["message"] for e in task_import.errors}
    assert by_line[3] == "the row has 1 cells; the header on line 1 has 2"
    assert by_line[4].startswith("the payload column is not valid JSON")
    assert 5 in by_line


def test_damaged_gzip_is_reported():
    batch = pairwise_batch()
    packed = gzip.compress(jsonl(*[pair(i) for i in range(200)]))
    task_import = run_import(batch, packed[: len(packed) // 2], name="cut.jsonl.gz")
    assert_nothing_written(batch, task_import)
    assert "gzip data is damaged" in task_import.errors[-1]["message"]


def test_errors_are_capped_but_all_counted(settings):
    batch = pairwise_batch()
    task_import = run_import(batch, jsonl(*["not json"] * 120))
    assert_nothing_written(batch, task_import)
    assert task_import.error_count == 120
    assert len(task_import.errors) == settings.TASKHUB_IMPORT_MAX_ERRORS == 50
    assert [e["line"] for e in task_import.errors] == list(range(1, 51))


# --- batch state ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Batch.Status.CLOSED, Batch.Status.EXHAUSTED])
def test_closed_or_exhausted_batch_refuses_imports(status):
    batch = pairwise_batch(status=status)
    with pytest.raises(TaskImportError, match=f"is {status}"):
        task_import_create(batch=batch, uploaded_file=ContentFile(jsonl(pair(1)), name="t.jsonl"), enqueue=False)


def test_batch_closed_after_upload_fails_the_run():
    batch = pairwise_batch()
    task_import = task_import_create(batch=batch, uploaded_file=ContentFile(jsonl(pair(1)), name="t.jsonl"),
                                     enqueue=False)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.CLOSED)
    task_import = task_import_run(task_import_id=task_import.pk)
    assert_nothing_written(batch, task_import)
    assert "closed" in task_import.errors[0]["message"]


# --- runs: once, all or nothing ---------------------------------------------------------------


def upload(batch, content=None):
    return task_import_create(batch=batch, uploaded_file=ContentFile(content or jsonl(pair(1), pair(2)),
                                                                     name="t.jsonl"), enqueue=False)


def test_create_enqueues_the_run_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    from projects import tasks

    sent = []
    monkeypatch.setattr(tasks.task_import_run, "apply_async", lambda kwargs=None, **options: sent.append(kwargs))
    batch = pairwise_batch()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_import = task_import_create(batch=batch, uploaded_file=ContentFile(jsonl(pair(1)), name="t.jsonl"))
    assert sent == []
    assert task_import.status == ST.PENDING
    assert task_import.total_bytes == len(jsonl(pair(1)))
    assert task_import.file.read() == jsonl(pair(1))
    for callback in callbacks:
        callback()
    assert sent == [{"task_import_id": task_import.pk}]


def test_a_second_run_of_a_finished_import_does_nothing():
    batch = pairwise_batch()
    task_import = upload(batch)
    task_import_run(task_import_id=task_import.pk)
    again = task_import_run(task_import_id=task_import.pk)
    assert again.status == ST.DONE and again.imported_count == 2
    assert Task.objects.filter(batch=batch).count() == 2


def test_a_run_left_by_a_killed_worker_is_completed_by_the_next():
    batch = pairwise_batch()
    task_import = upload(batch)
    # A worker died while writing: its transaction never committed, only the status did.
    TaskImport.objects.filter(pk=task_import.pk).update(status=ST.WRITING, processed_lines=2)
    done = task_import_run(task_import_id=task_import.pk)
    assert done.status == ST.DONE
    assert Task.objects.filter(batch=batch).count() == 2


def test_a_failure_in_the_middle_of_the_copy_writes_nothing(monkeypatch):
    batch = pairwise_batch()
    task_import = upload(batch, jsonl(*[pair(i) for i in range(1, 101)]))
    real_flush = imports._Rows.flush

    def flush_then_die(rows):
        real_flush(rows)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(imports._Rows, "flush", flush_then_die)
    with pytest.raises(RuntimeError):
        task_import_run(task_import_id=task_import.pk)
    assert not Task.objects.filter(batch=batch).exists()
    task_import.refresh_from_db()
    assert task_import.status == ST.FAILED
    assert "stopped unexpectedly: worker lost" in task_import.errors[0]["message"]


def test_an_id_added_to_the_batch_during_the_check_fails_the_write_cleanly(monkeypatch):
    batch = pairwise_batch()
    task_import = upload(batch)
    real_existing = imports._existing_ids

    def someone_adds_t2_after_the_read(batch):
        existing = real_existing(batch)
        factories.TaskFactory(batch=batch, project=batch.project, external_id="t-2")
        return existing

    monkeypatch.setattr(imports, "_existing_ids", someone_adds_t2_after_the_read)
    result = task_import_run(task_import_id=task_import.pk)
    assert result.status == ST.FAILED
    assert "(batch_id, external_id)" in result.errors[0]["message"] and "t-2" in result.errors[0]["message"]
    # The run's transaction, the other writer's task with it here, is rolled back: nothing of the file stays.
    assert not Task.objects.filter(batch=batch, external_id="t-1").exists()


def test_a_bad_line_stops_the_copy_and_the_rest_is_still_checked(monkeypatch):
    batch = pairwise_batch()
    rows = [pair(i) for i in range(1, 5001)]
    rows[10]["payload"].pop("response_b")
    rows[4000]["payload"].pop("prompt")
    flushed_at = []
    real_flush = imports._Rows.flush

    def counting_flush(rows_):
        if rows_.open and rows_._chunk:
            flushed_at.append(rows_.count)
        real_flush(rows_)

    monkeypatch.setattr(imports, "COPY_CHUNK_BYTES", 500)
    monkeypatch.setattr(imports._Rows, "flush", counting_flush)
    task_import = run_import(batch, jsonl(*rows))
    assert_nothing_written(batch, task_import)
    assert [e["line"] for e in task_import.errors] == [11, 4001]
    assert task_import.processed_lines == 5000
    # Rows went to PostgreSQL as they were checked, and after line 11 nothing more did.
    assert flushed_at and max(flushed_at) <= 10


def test_a_run_another_worker_holds_is_left_alone():
    batch = pairwise_batch()
    task_import = upload(batch)
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [imports._LOCK_NAMESPACE, task_import.pk])
        result = task_import_run(task_import_id=task_import.pk)
        assert result.status == ST.PENDING
        assert not Task.objects.filter(batch=batch).exists()
        # Let go now: a closed connection's backend releases its locks a moment later, not at once.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [imports._LOCK_NAMESPACE, task_import.pk])
    assert task_import_run(task_import_id=task_import.pk).status == ST.DONE


@pytest.mark.django_db(transaction=True)
def test_progress_is_saved_where_other_sessions_see_it_while_the_run_is_open():
    batch = pairwise_batch()
    seen = []
    task_import = upload(batch, jsonl(*[pair(i) for i in range(1, 5001)]))
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}

    with psycopg.connect(**params, autocommit=True) as other:
        def watch(current):
            # Another session (the admin's page) reads the import's row while the run's transaction is open.
            status, lines, read, tasks = other.execute(
                "SELECT status, processed_lines, processed_bytes, "
                "(SELECT count(*) FROM projects_task WHERE batch_id = %s) FROM projects_taskimport WHERE id = %s",
                [batch.pk, current.pk]).fetchone()
            seen.append((status, lines, read, tasks))

        done = task_import_run(task_import_id=task_import.pk, on_progress=watch)
    assert done.status == ST.DONE and done.imported_count == 5000
    assert [s[1] for s in seen[:2]] == [2000, 4000]
    assert all(status == ST.VALIDATING for status, _, _, _ in seen)
    assert seen[0][2] > 0 and seen[1][2] > seen[0][2]
    # Nothing is visible to others before the commit: all of the file or none of it.
    assert all(tasks == 0 for *_, tasks in seen)
    assert Task.objects.filter(batch=batch).count() == 5000


# --- housekeeping -----------------------------------------------------------------------------


def test_purge_deletes_old_upload_files_and_keeps_the_records(settings):
    uploads_dir = settings.MEDIA_ROOT
    batch = pairwise_batch()
    old, recent, running = upload(batch), upload(batch, jsonl(pair(8))), upload(batch, jsonl(pair(9)))
    now = timezone.now()
    TaskImport.objects.filter(pk=old.pk).update(status=ST.DONE, finished_at=now - timedelta(days=8))
    TaskImport.objects.filter(pk=recent.pk).update(status=ST.FAILED, finished_at=now - timedelta(days=2))
    old_path = uploads_dir / old.file.name

    assert old_path.exists()
    assert task_import_files_purge() == 1
    assert not old_path.exists()
    old.refresh_from_db()
    assert old.file.name == "" and old.status == ST.DONE  # the record stays
    for kept in (recent, running):
        kept.refresh_from_db()
        assert (uploads_dir / kept.file.name).exists()
    assert task_import_files_purge() == 0


def test_purge_task_is_registered_for_beat(settings):
    from projects import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["purge-stale-imports"]
    assert entry["task"] == tasks.task_imports_purge_files.name
