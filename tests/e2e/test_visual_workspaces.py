"""The visual workspaces in Chromium: regions drawn, edited and submitted over an image, and spans
marked on a playing clip, by mouse and by keyboard; a region the server refuses is named at its row.
The reviewer then sees the answer drawn over the image."""

import json
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from annotations.models import Submission
from projects.services import media_file_create
from tests import factories
from tests.annotations.reviewing import make_project, make_task, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CLIP = Path(django_settings.BASE_DIR) / "static" / "demo" / "traffic.webm"


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _wait_until(page, expression, timeout=10):
    # page.wait_for_function evaluates a string in the page, which the CSP (rightly) refuses.
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _open(page, login, task_type, ready):
    person = factories.ContractorFactory()
    project = make_project(task_type, name=f"Try {task_type}")
    if task_type == "video_spans":
        # From the media library, whose files are served with byte ranges: a clip must seek to step frames.
        media_file_create(project=project, uploaded_file=SimpleUploadedFile("traffic.webm", CLIP.read_bytes()))
        make_task(project, payload=project.type.validate_payload({"file": "traffic.webm"}, project=project))
    else:
        make_task(project)
    login(person)
    page.goto(f"/work/projects/{project.slug}/")
    page.get_by_role("button", name="Start working").click()
    page.wait_for_selector(f"#answer-form[data-ready][{ready}]")
    return person, project


def _regions(page) -> list[dict]:
    return json.loads(page.locator("#regions-field").input_value() or "[]")


def _to_screen(page, x, y):
    """Image pixels (640 × 400) to page coordinates, at the current zoom (fit)."""
    rect = page.locator("#region-canvas").bounding_box()
    return rect["x"] + x * rect["width"] / 640, rect["y"] + y * rect["height"] / 400


def test_image_regions_drawn_edited_and_submitted_by_mouse_and_keyboard(page, login):
    person, _project = _open(page, login, "image_regions", "data-regions-ready")
    # Mouse: drag out a box over the blue car, then drag it 20 px to the right.
    page.mouse.move(*_to_screen(page, 60, 260))
    page.mouse.down()
    page.mouse.move(*_to_screen(page, 140, 300), steps=4)
    page.mouse.move(*_to_screen(page, 220, 332), steps=4)
    page.mouse.up()
    (drawn,) = _regions(page)
    assert drawn["label"] == "car" and abs(drawn["x"] - 60) <= 2 and abs(drawn["width"] - 160) <= 3
    page.mouse.move(*_to_screen(page, 140, 296))
    page.mouse.down()
    page.mouse.move(*_to_screen(page, 150, 296), steps=3)
    page.mouse.move(*_to_screen(page, 160, 296), steps=3)
    page.mouse.up()
    assert abs(_regions(page)[0]["x"] - 80) <= 2
    expect(page.locator("#region-status")).to_contain_text("Region 1 (car) moved")

    # Keyboard: a new box in the middle, label 2 (person), moved by arrows (Shift: ten), then resized.
    page.locator("body").press("n")
    page.keyboard.press("2")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("e")
    expect(page.locator("#arrow-mode")).to_have_text("resize")
    page.keyboard.press("Shift+ArrowRight")
    second = _regions(page)[1]
    assert second == {"shape": "box", "x": 258, "y": 170, "width": 138, "height": 80, "label": "person"}
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Control+z")  # undo the last resize
    assert _regions(page)[1]["width"] == 138
    page.keyboard.press("l")  # cycle the label: person -> sign
    assert _regions(page)[1]["label"] == "sign"
    page.keyboard.press("1")  # and back to car by number
    assert _regions(page)[1]["label"] == "car"
    page.keyboard.press("2")

    # Zoom in and out by keys.
    page.keyboard.press("+")
    expect(page.locator("#zoom-level")).to_have_text("150%")
    page.keyboard.press("0")
    expect(page.locator("#zoom-level")).to_have_text("100%")

    # A region the server refuses comes back named at its row; removing it by keyboard fixes the answer.
    page.evaluate("""() => {
      const field = document.getElementById('regions-field');
      const regions = JSON.parse(field.value);
      regions.push({shape: 'box', x: 600, y: 10, width: 80, height: 20, label: 'sign'});
      field.value = JSON.stringify(regions);
    }""")
    page.get_by_role("button", name="Submit and next").click()
    expect(page.locator(".region-row.invalid .region-error")).to_contain_text(
        "region 3 (sign) leaves the image on the right")
    page.wait_for_selector("#answer-form[data-regions-ready]")
    page.locator("body").press("[")  # from region 1, back round to the last one
    page.keyboard.press("Delete")
    assert len(_regions(page)) == 2
    page.get_by_role("button", name="Submit and next").click()
    expect(page.get_by_role("heading", name="No task is available on")).to_be_visible()
    answer = Submission.objects.get(contractor=person).answer
    assert [r["label"] for r in answer["regions"]] == ["car", "person"] and answer["nothing_to_mark"] is False
    assert answer["regions"][1]["x"] == 258


def test_the_reviewer_sees_the_regions_drawn_over_the_image(page, login):
    project = make_project("image_regions", name="Boxes to review")
    submit(factories.ContractorFactory(), project)
    login(factories.LeadFactory())
    page.goto("/review/next/")
    drawing = page.locator("figure.review-drawing svg")
    expect(drawing).to_be_visible()
    expect(drawing.locator("rect.region")).to_have_count(1)
    assert float(drawing.locator("rect.region").get_attribute("x")) == 60
    expect(page.locator("figure.review-drawing figcaption")).to_contain_text("1 region, drawn over the image")


def _time(page) -> float:
    return page.evaluate("document.getElementById('video-clip').currentTime")


def test_video_spans_marked_while_playing_stepped_by_frames_and_edited(page, login):
    person, _project = _open(page, login, "video_spans", "data-spans-ready")
    _wait_until(page, "document.getElementById('video-clip').readyState >= 1")
    # Keyboard: play, [ at the start and ] at the end, while the clip plays.
    page.locator("body").press("p")
    _wait_until(page, "document.getElementById('video-clip').currentTime > 0.5")
    page.keyboard.press("[")
    _wait_until(page, "document.getElementById('video-clip').currentTime > 1.3")
    page.keyboard.press("]")
    expect(page.locator(".video-span-row")).to_have_count(1)
    page.keyboard.press("p")  # pause
    _wait_until(page, "document.getElementById('video-clip').paused")

    # Frame stepping: one frame, then ten with Shift; ] then moves the selected span's end here.
    page.keyboard.press("ArrowLeft")  # onto an exact frame, whatever time the pause left
    _wait_until(page, "Math.abs(document.getElementById('video-clip').currentTime * 25 - "
                      "Math.round(document.getElementById('video-clip').currentTime * 25)) < 0.01")
    frame = round(_time(page) * 25)
    expect(page.locator("#video-frame")).to_have_text(str(frame))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#video-frame")).to_have_text(str(frame + 1))
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#video-frame")).to_have_text(str(frame + 11))
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#video-frame")).to_have_text(str(frame + 10))
    page.keyboard.press("]")
    expect(page.locator("#video-status")).to_contain_text("end moved to")
    page.keyboard.press("2")  # label: person visible
    # A box on this frame, moved by the arrows (Shift: ten pixels).
    page.keyboard.press("b")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Escape")

    # Mouse: drag along the timeline from 3.0 s to 3.6 s for a second span; undo and redo it.
    rect = page.locator("#video-timeline").bounding_box()
    y = rect["y"] + rect["height"] / 2
    page.mouse.move(rect["x"] + rect["width"] * 0.75, y)
    page.mouse.down()
    page.mouse.move(rect["x"] + rect["width"] * 0.82, y, steps=3)
    page.mouse.move(rect["x"] + rect["width"] * 0.9, y, steps=3)
    page.mouse.up()
    expect(page.locator(".video-span-row")).to_have_count(2)
    page.keyboard.press("Control+z")
    expect(page.locator(".video-span-row")).to_have_count(1)
    page.keyboard.press("Control+y")
    expect(page.locator(".video-span-row")).to_have_count(2)

    page.get_by_role("button", name="Submit and next").click()
    expect(page.get_by_role("heading", name="No task is available on")).to_be_visible()
    first, second = Submission.objects.get(contractor=person).answer["spans"]
    assert first["label"] == "person visible" and 0.4 <= first["start"] < first["end"] <= 4.0
    assert round(first["end"] * 25) == frame + 10  # the end is on the stepped frame
    assert first["box"]["x"] == 130 and first["box"]["time"] == first["end"]
    assert second["label"] == "person visible" and second["start"] == pytest.approx(3.0, abs=0.05)
    assert second["end"] == pytest.approx(3.6, abs=0.05)


def test_media_uploads_show_their_progress_and_a_refusal_by_content(page, login, tmp_path):
    project = make_project("image_regions", name="Photos to box")
    fake = tmp_path / "holiday.png"
    fake.write_text("this is text with an image's name")
    login(factories.AdminFactory())
    page.goto(f"/manage/projects/{project.pk}/media/")
    page.wait_for_selector("#media-form[data-ready]")
    page.get_by_label("Files").set_input_files([str(Path(django_settings.BASE_DIR) / "static/demo/street-1.png"),
                                                str(fake)])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("#media-form[data-done]")
    rows = page.locator("#media-uploads li")
    expect(rows.nth(0)).to_contain_text("added: PNG, 640 × 400")
    assert rows.nth(0).locator("progress").get_attribute("value") == "100"
    expect(rows.nth(1)).to_contain_text("refused: holiday.png is not an image or a video of an accepted format")
    assert list(project.media_files.values_list("name", flat=True)) == ["street-1.png"]
