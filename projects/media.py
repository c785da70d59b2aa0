"""What an uploaded file really is, read from its content, never from its name or the browser's word.

Images are opened by Pillow, which recognises the format by its signature, checks the whole file
(`verify`) and refuses decompression bombs; accepted: JPEG, PNG, WebP and GIF. Video is sniffed for
the MP4 (`ftyp` box) or WebM/Matroska (EBML) signature, then the container is opened by FFmpeg's
demuxer of that one format (PyAV; never a probe over every format, so a playlist cannot make it
fetch other files), must hold a video stream in a codec browsers play (H.264, VP8, VP9, AV1), and
its first frame must decode. The duration, frame rate and size come from the container. Audio clips
(audio time-stamping) are sniffed for the WAV, MP3, Ogg and FLAC signatures and opened the same way, by
that one demuxer; they must hold an audio stream with a recorded duration.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import av
from PIL import Image, UnidentifiedImageError

from .errors import MediaRefused

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
VIDEO_CODECS = {"h264", "vp8", "vp9", "av1"}
# An image larger than this many pixels is refused (Pillow warns at this and refuses at twice it).
MAX_IMAGE_PIXELS = 50_000_000
ACCEPTED = "JPEG, PNG, WebP or GIF images; MP4 or WebM video (H.264, VP8, VP9 or AV1); WAV, MP3, Ogg or FLAC audio"
# Audio containers by signature: (FFmpeg demuxer, content type).
AUDIO_FORMATS = {"wav": ("wav", "audio/wav"), "mp3": ("mp3", "audio/mpeg"), "ogg": ("ogg", "audio/ogg"),
                 "flac": ("flac", "audio/flac")}


@dataclass(frozen=True)
class MediaFacts:
    kind: str  # "image", "video" or "audio"
    format: str  # JPEG, PNG, WEBP, GIF, mp4, webm
    content_type: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    duration_seconds: float | None = None
    fps: float | None = None


def _digest(stream: BinaryIO) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _container(head: bytes) -> str | None:
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"  # FFmpeg's one demuxer for WebM and Matroska
    return None


def _audio_container(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    return None


def _audio(stream: BinaryIO, name: str, container: str) -> float:
    """The duration in seconds of a playable audio clip."""
    stream.seek(0)
    demuxer, _content_type = AUDIO_FORMATS[container]
    try:
        with av.open(stream, mode="r", format=demuxer) as media:
            audio = [s for s in media.streams if s.type == "audio"]
            if not audio:
                raise MediaRefused.at("file", f"{name} is a {container.upper()} file with no audio in it")
            duration = None
            if media.duration:
                duration = media.duration / av.time_base
            elif audio[0].duration is not None and audio[0].time_base is not None:
                duration = float(audio[0].duration * audio[0].time_base)
    except MediaRefused:
        raise
    except (av.FFmpegError, ValueError, OSError, EOFError) as exc:
        raise MediaRefused.at("file", f"{name} looks like {container.upper()} audio but cannot be read: "
                                      f"{exc}") from None
    finally:
        stream.seek(0)
    if not duration or duration <= 0:
        raise MediaRefused.at("file", f"{name}: the clip's duration is not recorded in the file")
    return float(duration)


def _image(stream: BinaryIO, name: str) -> tuple[str, int, int] | None:
    """(format, width, height) of an accepted image, None when the content is not an image at all."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                fmt, (width, height) = image.format, image.size
                if fmt not in IMAGE_FORMATS:
                    raise MediaRefused.at("file", f"{name} is a {fmt} image; accepted are {ACCEPTED}")
                if width * height > MAX_IMAGE_PIXELS:
                    raise MediaRefused.at("file", f"{name} is {width} × {height} pixels; the largest image "
                                                  f"accepted has {MAX_IMAGE_PIXELS:,} pixels")
                image.verify()
            # verify() leaves the image unusable; decoding it whole catches truncated pixel data too.
            stream.seek(0)
            with Image.open(stream) as image:
                image.load()
    except MediaRefused:
        raise
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRefused.at("file", f"{name} is too large an image to open safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaRefused.at("file", f"{name} looks like an image but is damaged: {exc}") from None
    finally:
        stream.seek(0)
    return fmt, width, height


def _video(stream: BinaryIO, name: str, container: str) -> tuple[int, int, float, float]:
    """(width, height, duration in seconds, frames per second) of a playable clip."""
    stream.seek(0)
    try:
        with av.open(stream, mode="r", format="mp4" if container == "mp4" else "matroska") as media:
            videos = [s for s in media.streams if s.type == "video"]
            if not videos:
                raise MediaRefused.at("file", f"{name} is a {container.upper()} file with no video in it")
            video = videos[0]
            codec = video.codec_context.name
            if codec not in VIDEO_CODECS:
                raise MediaRefused.at("file", f"{name} holds {codec} video, which browsers cannot play; accepted "
                                              f"are {ACCEPTED}")
            if container == "webm" and codec == "h264":
                raise MediaRefused.at("file", f"{name} is Matroska with H.264 video, which browsers do not play; "
                                              "convert it to MP4 or to WebM with VP9")
            width, height = video.codec_context.width, video.codec_context.height
            rate = video.average_rate or video.guessed_rate
            fps = float(rate) if rate else 0.0
            duration = 0.0
            if video.duration is not None and video.time_base is not None:
                duration = float(video.duration * video.time_base)
            if not duration and media.duration:
                duration = media.duration / av.time_base
            frame = next(media.decode(video), None)
            if frame is None:
                raise MediaRefused.at("file", f"{name}: no frame of its video could be decoded")
    except MediaRefused:
        raise
    except (av.FFmpegError, ValueError, StopIteration) as exc:
        raise MediaRefused.at("file", f"{name} looks like {container.upper()} video but cannot be read: "
                                      f"{exc}") from None
    finally:
        stream.seek(0)
    if not (width and height):
        raise MediaRefused.at("file", f"{name}: the video has no frame size")
    if not duration > 0:
        raise MediaRefused.at("file", f"{name}: the video's duration is not recorded in the file")
    if not 0 < fps <= 240:
        raise MediaRefused.at("file", f"{name}: the video's frame rate ({fps:g}) is not one we can step through")
    return width, height, round(duration, 3), round(fps, 3)


def media_inspect(stream: BinaryIO, *, name: str = "the file") -> MediaFacts:
    """The facts of an accepted image, video or audio clip, or MediaRefused saying what the file is and why not."""
    sha256, size = _digest(stream)
    if not size:
        raise MediaRefused.at("file", f"{name} is empty")
    head = stream.read(64)
    stream.seek(0)
    container = _container(head)
    sound = _audio_container(head) if container is None else None
    if sound is not None:
        duration = _audio(stream, name, sound)
        return MediaFacts(kind="audio", format=sound, content_type=AUDIO_FORMATS[sound][1], width=0, height=0,
                          size_bytes=size, sha256=sha256, duration_seconds=duration)
    if container is None:
        image = _image(stream, name)
        if image is None:
            raise MediaRefused.at("file", f"{name} is not an image or a video of an accepted format ({ACCEPTED})")
        fmt, width, height = image
        return MediaFacts(kind="image", format=fmt, content_type=IMAGE_FORMATS[fmt], width=width, height=height,
                          size_bytes=size, sha256=sha256)
    width, height, duration, fps = _video(stream, name, container)
    return MediaFacts(kind="video", format=container, content_type=f"video/{container}", width=width,
                      height=height, size_bytes=size, sha256=sha256, duration_seconds=duration, fps=fps)


def media_csp_allow(response, project):
    """Let a page that shows a project's tasks load images and clips from the hosts the project allows
    (its `media_hosts`), on top of the site's policy (django-csp's per-response update)."""
    if project is None or project.task_type not in ("image_regions", "video_spans"):
        return response
    hosts = (project.task_config or {}).get("media_hosts") or []
    if not hosts:
        return response
    origins = [f"https://{host}" for host in hosts]
    update = dict(getattr(response, "_csp_update", None) or {})
    for directive in ("img-src", "media-src"):
        update[directive] = [*update.get(directive, []), *origins]
    response._csp_update = update
    return response
