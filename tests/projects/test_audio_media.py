"""Audio clips in the media library: uploaded, checked by their content, stored in the default storage
(MEDIA_ROOT here, the S3 bucket in production) and named by `file` in an audio task's payload."""

import io
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects import services
from projects.errors import InvalidData, MediaRefused
from projects.templatetags.media import media_src
from tests import factories


def _wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"\x00\x00" * int(seconds * rate))
    return buffer.getvalue()


@pytest.fixture
def audio_project(db):
    return factories.ProjectFactory(task_type="audio_timestamp", task_config={"labels": ["speech", "music"]})


def test_a_wav_clip_is_measured_stored_and_named_by_file_in_a_payload(audio_project, admin_user):
    media = services.media_file_create(project=audio_project, uploaded_file=SimpleUploadedFile(
        "hello.wav", _wav(2.0), content_type="application/octet-stream"), uploaded_by=admin_user)
    assert (media.kind, media.format, media.content_type) == ("audio", "wav", "audio/wav")
    assert media.duration_seconds == pytest.approx(2.0, abs=0.01)
    payload = audio_project.type.validate_payload({"file": "hello.wav"}, project=audio_project)
    assert payload["media"] == media.file.name and payload["duration_seconds"] == pytest.approx(2.0, abs=0.01)
    assert media_src(payload) == media.served_url == reverse("media", args=[media.file.name])


def test_a_file_that_is_not_audio_is_refused_at_the_file_field(audio_project):
    with pytest.raises(MediaRefused) as refused:
        services.media_file_create(project=audio_project, uploaded_file=SimpleUploadedFile("x.wav", b"not audio"))
    assert refused.value.errors[0]["field"] == "file" and "x.wav" in refused.value.message


def test_a_payload_naming_a_missing_clip_or_both_sources_is_refused(audio_project):
    with pytest.raises(InvalidData) as missing:
        audio_project.type.validate_payload({"file": "nope.wav"}, project=audio_project)
    assert missing.value.errors[0]["field"] == "file"
    with pytest.raises(InvalidData) as neither:
        audio_project.type.validate_payload({"duration_seconds": 3}, project=audio_project)
    assert neither.value.errors[0]["field"] == "audio_url"


def test_the_media_library_page_takes_audio_uploads(client, admin_user, audio_project):
    client.force_login(admin_user)
    response = client.post(reverse("manage:media_library", args=[audio_project.pk]),
                           {"file": SimpleUploadedFile("a.wav", _wav(1.0))})
    assert response.status_code == 302
    page = client.get(reverse("manage:media_library", args=[audio_project.pk])).content.decode()
    assert "Audio clips" in page and "a.wav" in page


def test_an_audio_clip_is_refused_by_an_image_project(db):
    visual = factories.ProjectFactory(task_type="image_regions", task_config={"labels": ["car"]})
    with pytest.raises(MediaRefused, match="is an audio clip; this project's tasks need an image"):
        services.media_file_create(project=visual, uploaded_file=SimpleUploadedFile("chime.wav", _wav(1.0)))
