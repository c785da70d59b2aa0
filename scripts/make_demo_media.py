"""Draw the demo media of the visual task types (static/demo/): street scenes as PNG for
image_regions and a short WebM clip for video_spans. Made here, from shapes, so the licence is ours
(the project's). Run it again to regenerate: `.venv/bin/python scripts/make_demo_media.py`."""

from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "demo"
SKY, ROAD, LINE = (186, 219, 245), (90, 92, 98), (240, 240, 235)


def _car(draw: ImageDraw.ImageDraw, x: int, y: int, w: int, colour) -> None:
    h = w * 2 // 5
    draw.rounded_rectangle((x, y + h // 3, x + w, y + h), radius=6, fill=colour)
    draw.polygon([(x + w // 5, y + h // 3), (x + w // 3, y), (x + w * 2 // 3, y), (x + w * 4 // 5, y + h // 3)],
                 fill=colour)
    for cx in (x + w // 4, x + w * 3 // 4):
        draw.ellipse((cx - h // 5, y + h - h // 5, cx + h // 5, y + h + h // 5), fill=(25, 25, 25))


def _person(draw: ImageDraw.ImageDraw, x: int, y: int, h: int) -> None:
    draw.ellipse((x - h // 10, y, x + h // 10, y + h // 5), fill=(120, 72, 40))
    draw.rectangle((x - h // 8, y + h // 5, x + h // 8, y + h * 3 // 5), fill=(200, 60, 60))
    draw.rectangle((x - h // 8, y + h * 3 // 5, x + h // 8, y + h), fill=(40, 50, 120))


def street(name: str, cars, people, sign: bool) -> None:
    image = Image.new("RGB", (640, 400), SKY)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 640, 400), fill=ROAD)
    for x in range(0, 640, 80):
        draw.rectangle((x + 10, 322, x + 50, 328), fill=LINE)
    draw.rectangle((0, 236, 640, 250), fill=(170, 170, 165))
    if sign:
        draw.rectangle((556, 150, 562, 240), fill=(80, 80, 80))
        draw.regular_polygon((559, 140, 26), 8, fill=(200, 30, 30))
    for x, y, w, colour in cars:
        _car(draw, x, y, w, colour)
    for x, y, h in people:
        _person(draw, x, y, h)
    image.save(OUT / name, optimize=True)


def clip(name: str, seconds: int = 4, fps: int = 25, size=(320, 180)) -> None:
    """A car crosses the road from 1 s to 3 s; a person stands on the pavement from 2 s on."""
    with av.open(str(OUT / name), mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 150_000
        stream.time_base = Fraction(1, fps)
        for n in range(seconds * fps):
            t = n / fps
            image = Image.new("RGB", size, SKY)
            draw = ImageDraw.Draw(image)
            draw.rectangle((0, 110, 320, 180), fill=ROAD)
            draw.rectangle((0, 102, 320, 110), fill=(170, 170, 165))
            if 1 <= t < 3:
                _car(draw, int(-90 + (t - 1) * 250), 118, 90, (30, 110, 200))
            if t >= 2:
                _person(draw, 250, 52, 54)
            frame = av.VideoFrame.from_image(image)
            frame.pts = n
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    street("street-1.png", cars=[(60, 262, 160, (30, 110, 200)), (380, 280, 120, (220, 180, 40))],
           people=[(300, 170, 80)], sign=True)
    street("street-2.png", cars=[(250, 270, 180, (60, 160, 80))], people=[(80, 160, 90), (130, 176, 70)],
           sign=False)
    street("street-3.png", cars=[], people=[], sign=False)
    clip("traffic.webm")
    for path in [*sorted(OUT.glob("street-*.png")), OUT / "traffic.webm"]:
        print(path.relative_to(OUT.parent.parent), path.stat().st_size, "bytes")
