"""The media library: uploads are checked by their content (Pillow for images, the container and a
decoded frame for video), stored in the default storage, served with byte ranges to signed-in people
only, named by import rows (JSON lines and CSV); S3 storage is configured from the environment."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from projects.errors import MediaRefused
from projects.media import media_inspect
from projects.models import MediaFile, Task
from projects.services import media_file_create, task_import_create, task_import_run
from tests import factories
from tests.annotations.reviewing import claim_for, make_task

DEMO = Path(settings.BASE_DIR) / "static" / "demo"


def _png(width=64, height=48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def image_project(db):
    return factories.ProjectFactory(task_type="image_regions", task_config={"labels": ["car", "person"]})


@pytest.fixture
def video_project(db):
    return factories.ProjectFactory(task_type="video_spans", task_config={"labels": ["car passes"]})


# --- checked by content -------------------------------------------------------------------------------

def test_images_and_clips_are_measured_from_their_content():
    image = media_inspect(io.BytesIO(_png(64, 48)), name="x.png")
    assert (image.kind, image.format, image.width, image.height) == ("image", "PNG", 64, 48)
    clip = media_inspect((DEMO / "traffic.webm").open("rb"), name="traffic.webm")
    assert (clip.kind, clip.format, clip.width, clip.height, clip.duration_seconds, clip.fps) == \
        ("video", "webm", 320, 180, 4.0, 25.0)


@pytest.mark.parametrize(("content", "words"), [
    (b"just text, named like a picture", "is not an image or a video of an accepted format"),
    (b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * 60, "looks like WAV audio but cannot be read"),
    (_png()[:60], "looks like an image but is damaged"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "looks like MP4 video but cannot be read"),
    (b"\x1a\x45\xdf\xa3" + b"\x00" * 100, "looks like WEBM video but cannot be read"),
    (b"", "is empty"),
])
def test_what_is_not_an_accepted_image_or_video_is_refused_by_content(content, words):
    with pytest.raises(MediaRefused) as caught:
        media_inspect(io.BytesIO(content), name="street.png")
    assert caught.value.errors[0]["field"] == "file"
    assert words in caught.value.errors[0]["message"]


def test_an_image_format_browsers_do_not_take_is_refused():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "TIFF")
    with pytest.raises(MediaRefused, match=r"is a TIFF image"):
        media_inspect(io.BytesIO(out.getvalue()), name="scan.tiff")


# --- the library ------------------------------------------------------------------------------------------

def test_an_upload_is_stored_under_a_name_of_ours_and_a_duplicate_name_is_refused(image_project, media_root):
    media = media_file_create(project=image_project, uploaded_file=SimpleUploadedFile("cat photo.png", _png()))
    assert media.name == "cat photo.png" and media.file.name.startswith(f"task-media/{image_project.pk}/")
    assert (media_root / media.file.name).read_bytes() == _png()
    with pytest.raises(MediaRefused, match=r"already has a file named cat photo\.png"):
        media_file_create(project=image_project, uploaded_file=SimpleUploadedFile("cat photo.png", _png()))
    assert MediaFile.objects.count() == 1


def test_a_video_is_refused_by_an_image_project_and_nothing_is_stored(image_project, media_root):
    with pytest.raises(MediaRefused, match=r"is a video; this project's tasks need an image"):
        media_file_create(project=image_project,
                          uploaded_file=SimpleUploadedFile("clip.png", (DEMO / "traffic.webm").read_bytes()))
    assert not MediaFile.objects.exists() and not (media_root / "task-media").exists()


def test_a_file_over_the_limit_is_refused(image_project, settings):
    settings.TASKHUB_MEDIA_MAX_BYTES = 100
    with pytest.raises(MediaRefused, match=r"the largest file accepted is 100 bytes"):
        media_file_create(project=image_project, uploaded_file=SimpleUploadedFile("big.png", _png(300, 300)))


def test_the_upload_endpoint_answers_json_with_the_error_at_the_file(client, image_project,
                                                                    django_assert_max_num_queries):
    client.force_login(factories.AdminFactory())
    url = reverse("manage:media_upload", args=[image_project.pk])
    ok = client.post(url, {"file": SimpleUploadedFile("a.png", _png(30, 20))}, HTTP_ACCEPT="application/json")
    assert ok.status_code == 201 and ok.json()["width"] == 30 and ok.json()["kind"] == "image"
    bad = client.post(url, {"file": SimpleUploadedFile("b.png", b"<html>not a picture</html>")})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "file" and "b.png is not an image" in bad.json()["errors"][0]["message"]
    for name in ("c.png", "d.png", "e.png"):
        media_file_create(project=image_project, uploaded_file=SimpleUploadedFile(name, _png()))
    with django_assert_max_num_queries(6):  # however many files the library has
        page = client.get(reverse("manage:media_library", args=[image_project.pk]))
    assert page.status_code == 200 and b"a.png" in page.content and b"js/media_upload.js" in page.content


def test_contractors_cannot_upload(client, image_project):
    client.force_login(factories.ContractorFactory())
    response = client.post(reverse("manage:media_upload", args=[image_project.pk]),
                           {"file": SimpleUploadedFile("a.png", _png())})
    assert response.status_code == 403 and not MediaFile.objects.exists()


def test_media_is_served_to_signed_in_people_with_byte_ranges_and_imports_are_not(client, video_project):
    media = media_file_create(project=video_project,
                              uploaded_file=SimpleUploadedFile("t.webm", (DEMO / "traffic.webm").read_bytes()))
    url = media.served_url
    assert url == f"/media-files/{media.file.name}"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(factories.ContractorFactory())
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/webm"
    assert b"".join(whole.streaming_content) == (DEMO / "traffic.webm").read_bytes()
    part = client.get(url, HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206 and part["Content-Range"].startswith("bytes 4-11/")
    assert part.content == (DEMO / "traffic.webm").read_bytes()[4:12]
    assert client.get(url, HTTP_RANGE="bytes=99999999-").status_code == 416
    assert client.get("/media-files/imports/2026/01/tasks.jsonl").status_code == 404


# --- import rows that name uploaded files -----------------------------------------------------------------------

def _import(batch, text: str, name: str):
    task_import = task_import_create(batch=batch, uploaded_file=SimpleUploadedFile(name, text.encode()),
                                     enqueue=False)
    return task_import_run(task_import_id=task_import.pk)


def test_jsonl_and_csv_imports_resolve_uploaded_files_and_take_urls(image_project):
    media_file_create(project=image_project, uploaded_file=SimpleUploadedFile("a.png", _png(64, 48)))
    batch = factories.BatchFactory(project=image_project)
    lines = "\n".join(json.dumps(row) for row in [
        {"external_id": "one", "payload": {"file": "a.png"},
         "gold_answer": {"regions": [{"x": 1, "y": 1, "width": 20, "height": 20, "label": "car"}]}},
        {"external_id": "two", "payload": {"image_url": "/static/demo/street-1.png", "width": 640, "height": 400}},
    ])
    done = _import(batch, lines, "tasks.jsonl")
    assert done.status == "done", done.errors
    one = Task.objects.get(batch=batch, external_id="one")
    assert one.payload["media"].startswith("task-media/") and (one.payload["width"], one.payload["height"]) == (64, 48)
    csv_batch = factories.BatchFactory(project=image_project)
    done = _import(csv_batch, "external_id,file,image_url,width,height\nc1,a.png,,,\n"
                              "c2,,/static/demo/street-2.png,640,400\n", "tasks.csv")
    assert done.status == "done", done.errors
    assert Task.objects.get(batch=csv_batch, external_id="c1").payload["width"] == 64


def test_an_import_naming_a_missing_file_fails_whole_naming_the_line(image_project):
    batch = factories.BatchFactory(project=image_project)
    done = _import(batch, '{"external_id": "x", "payload": {"file": "nowhere.png"}}\n', "tasks.jsonl")
    assert done.status == "failed"
    assert done.errors[0]["line"] == 1 and done.errors[0]["field"] == "payload.file"
    assert "nowhere.png" in done.errors[0]["message"] and not Task.objects.filter(batch=batch).exists()


# --- S3 from the environment ---------------------------------------------------------------------------------------

def test_s3_storage_and_its_origin_under_the_csp_come_from_the_environment():
    code = ("import django, json; django.setup(); from django.conf import settings; "
            "from django.core.files.storage import storages; s = storages['default']; "
            "print(json.dumps([type(s).__name__, s.bucket_name, s.endpoint_url, "
            "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'], "
            "s.url('task-media/1/x.png').split('?')[0]]))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskhub.settings", "DEBUG": "true",
           "MEDIA_S3_BUCKET": "taskhub-media", "MEDIA_S3_ENDPOINT_URL": "https://s3.example.test:9000",
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "MEDIA_S3_REGION": "eu-west-1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=settings.BASE_DIR, timeout=60)
    kind, bucket, endpoint, img_src, url = json.loads(out.stdout.strip().splitlines()[-1])
    assert (kind, bucket, endpoint) == ("S3Storage", "taskhub-media", "https://s3.example.test:9000")
    assert "https://s3.example.test:9000" in img_src
    assert url.startswith("https://s3.example.test:9000/") and url.endswith("task-media/1/x.png")


def test_the_workspace_policy_allows_the_projects_own_media_hosts_and_no_other_page_does(client, db):
    project = factories.ProjectFactory(task_type="image_regions", max_active_claims=5, task_config={
        "labels": ["car"], "media_hosts": ["images.example.org"]})
    make_task(project, payload=project.type.validate_payload(
        {"image_url": "https://images.example.org/street.jpg", "width": 100, "height": 80}, project=project))
    contractor = factories.ContractorFactory()
    claim = claim_for(contractor, project)
    client.force_login(contractor)
    page = client.get(reverse("work:claim", args=[claim.pk]))
    policy = page["Content-Security-Policy"]
    img_src = next(d for d in policy.split(";") if d.strip().startswith("img-src"))
    assert "https://images.example.org" in img_src and b'href="https://images.example.org/street.jpg"' in page.content
    assert "images.example.org" not in client.get(reverse("work:dashboard"))["Content-Security-Policy"]
