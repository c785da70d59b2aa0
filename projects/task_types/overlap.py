"""Overlap measures of the visual task types: intersection over union (IoU) of image regions and
of time spans, the one-to-one matching of two answers' marks, and the consensus of several answers.

Two answers agree on a mark when both have one of the same label overlapping by at least the
project's threshold; marks are matched one to one, greediest overlap first (as COCO's evaluation
matches detections to ground truth). The agreement of two answers is the F1 score of that matching,
2 * matched / (marks in one + marks in the other): 1.0 when every mark has its partner, 0.0 when none
has, and 1.0 when both say there is nothing to mark. It is symmetric, so it grades an answer against
gold and compares two contractors alike.

Polygons are compared as masks, the way COCO compares segmentations: both are drawn on a grid over
their joint bounding box (at most MASK_CELLS cells a side) and the cells are counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

MASK_CELLS = 256


# --- image regions ----------------------------------------------------------------------------

def region_bounds(region: dict) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a box or a polygon."""
    if region.get("shape") == "polygon":
        xs = [p[0] for p in region["points"]]
        ys = [p[1] for p in region["points"]]
        return min(xs), min(ys), max(xs), max(ys)
    return region["x"], region["y"], region["x"] + region["width"], region["y"] + region["height"]


def polygon_area(points: Sequence[Sequence[float]]) -> float:
    """The area of a simple polygon (the shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def region_area(region: dict) -> float:
    if region.get("shape") == "polygon":
        return polygon_area(region["points"])
    return region["width"] * region["height"]


def _outline(region: dict) -> list[tuple[float, float]]:
    if region.get("shape") == "polygon":
        return [(p[0], p[1]) for p in region["points"]]
    left, top, right, bottom = region_bounds(region)
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def region_iou(a: dict, b: dict) -> float:
    """Intersection over union of two regions, 0.0–1.0: exact for two boxes, by mask otherwise."""
    al, at, ar, ab = region_bounds(a)
    bl, bt, br, bb = region_bounds(b)
    if min(ar, br) <= max(al, bl) or min(ab, bb) <= max(at, bt):
        return 0.0
    if a.get("shape") != "polygon" and b.get("shape") != "polygon":
        inter = (min(ar, br) - max(al, bl)) * (min(ab, bb) - max(at, bt))
        union = region_area(a) + region_area(b) - inter
        return inter / union if union > 0 else 0.0
    left, top = min(al, bl), min(at, bt)
    scale = MASK_CELLS / max(max(ar, br) - left, max(ab, bb) - top)
    size = (max(1, round((max(ar, br) - left) * scale)), max(1, round((max(ab, bb) - top) * scale)))

    def mask(region: dict) -> np.ndarray:
        canvas = Image.new("1", size, 0)
        ImageDraw.Draw(canvas).polygon([((x - left) * scale, (y - top) * scale) for x, y in _outline(region)],
                                       fill=1)
        return np.asarray(canvas, dtype=bool)

    ma, mb = mask(a), mask(b)
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 0.0


# --- time spans ---------------------------------------------------------------------------------

def span_iou(a: dict, b: dict) -> float:
    """Temporal intersection over union of two spans (seconds), 0.0–1.0."""
    inter = min(a["end"], b["end"]) - max(a["start"], b["start"])
    if inter <= 0:
        return 0.0
    union = max(a["end"], b["end"]) - min(a["start"], b["start"])
    return inter / union if union > 0 else 0.0


# --- matching and agreement ------------------------------------------------------------------------

Measure = Callable[[dict, dict], float]


def match(a: Sequence[dict], b: Sequence[dict], iou: Measure, threshold: float) -> list[tuple[int, int, float]]:
    """One-to-one pairs (index in a, index in b, IoU) of same-label marks overlapping by at least
    `threshold`, the largest overlaps paired first."""
    candidates = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            if x["label"] == y["label"]:
                value = iou(x, y)
                if value >= threshold and value > 0:
                    candidates.append((value, i, j))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for value, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j, value))
    return pairs


def agreement(a: Sequence[dict], b: Sequence[dict], iou: Measure, threshold: float) -> float:
    """The F1 score of the matching: 2 * matched / (len(a) + len(b)); 1.0 when both are empty."""
    if not a and not b:
        return 1.0
    return 2 * len(match(a, b, iou, threshold)) / (len(a) + len(b))


def consensus(answers: Sequence[Sequence[dict]], iou: Measure, threshold: float) -> list[dict]:
    """The marks more than half of the answers agree on.

    Each mark is linked to its matched partner in every other answer; a group of linked marks from
    more than half of the answers becomes one mark of the final label: the member that overlaps the
    rest of its group most (a mark someone really made, not an average), with its number of votes.
    """
    nodes = [(n, k) for n, marks in enumerate(answers) for k in range(len(marks))]
    parent = {node: node for node in nodes}

    def find(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for n in range(len(answers)):
        for m in range(n + 1, len(answers)):
            for i, j, _ in match(answers[n], answers[m], iou, threshold):
                parent[find((n, i))] = find((m, j))
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for node in nodes:
        groups.setdefault(find(node), []).append(node)
    needed = len(answers) // 2 + 1
    final = []
    for members in groups.values():
        if len({n for n, _ in members}) < needed:
            continue
        marks = [answers[n][k] for n, k in members]
        best = max(range(len(marks)), key=lambda i: (sum(iou(marks[i], other) for other in marks), -i))
        final.append({**marks[best], "votes": len({n for n, _ in members})})
    return sorted(final, key=lambda mark: (mark["label"], mark.get("start", 0), *region_key(mark)))


def region_key(mark: dict) -> tuple[float, float]:
    if "start" in mark:
        return (0.0, 0.0)
    left, top, _, _ = region_bounds(mark)
    return (top, left)
