"""The media library of a project: images, video and audio clips uploaded once, checked by their content
(`projects.media.media_inspect`), stored in the default storage (MEDIA_ROOT in development, an
S3-compatible bucket in production) and named by `file` in import rows."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from ..errors import MediaRefused
from ..media import media_inspect
from ..models import MediaFile, Project

NAME_MAX = MediaFile._meta.get_field("name").max_length
# The kind of file each type's tasks show; the types without one have no media library.
MEDIA_KINDS = {"image_regions": "image", "video_spans": "video", "audio_timestamp": "audio"}
_A = {"image": "an image", "video": "a video", "audio": "an audio clip"}


def media_file_create(*, project: Project, uploaded_file: File, uploaded_by=None, name: str | None = None) -> MediaFile:
    """Check an upload by its content and add it to the project's library under its file name.

    Refused (MediaRefused at `file`, nothing stored): a file that is not an accepted image or video,
    one larger than TASKHUB_MEDIA_MAX_BYTES, or a name the library already has."""
    wanted = MEDIA_KINDS.get(project.task_type)
    if wanted is None:
        raise MediaRefused.at("file", f"{project.name!r} is a {project.type.label.lower()} project; only image, "
                                      "video and audio projects have a media library")
    name = Path(name or getattr(uploaded_file, "name", "") or "upload").name.strip()[:NAME_MAX]
    if not name:
        raise MediaRefused.at("file", "the file has no name")
    size = getattr(uploaded_file, "size", None) or 0
    limit = settings.TASKHUB_MEDIA_MAX_BYTES
    if size > limit:
        raise MediaRefused.at("file", f"{name} is {size:,} bytes; the largest file accepted is {limit:,} bytes")
    facts = media_inspect(uploaded_file, name=name)
    if facts.kind != wanted:
        raise MediaRefused.at("file", f"{name} is {_A[facts.kind]}; this project's tasks need {_A[wanted]}")
    if MediaFile.objects.filter(project=project, name=name).exists():
        raise MediaRefused.at("file", f"the library already has a file named {name}; rename the file or "
                                      "use the one there")
    media = MediaFile(project=project, name=name, kind=facts.kind, format=facts.format,
                      content_type=facts.content_type, size_bytes=facts.size_bytes, sha256=facts.sha256,
                      width=facts.width, height=facts.height, duration_seconds=facts.duration_seconds,
                      fps=facts.fps, uploaded_by=uploaded_by)
    try:
        with transaction.atomic():
            media.file.save(name, uploaded_file, save=False)
            media.save()
    except IntegrityError:
        # The same name won a race; the stored bytes stay (another row may share their content-named key).
        raise MediaRefused.at("file", f"the library already has a file named {name}") from None
    return media
