"""Greedy placement of point labels on a chart, in pixel space.

Each label tries positions around its point at growing distances, in a fixed order, and takes
the first one that stays inside the plot, overlaps no label already placed and covers no point
(its own included). Labels are placed in priority order, so when the plot is crowded the least
important ones are dropped rather than piled up. Labels placed away from their point get a
leader line. Deterministic: same points and sizes, same placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (pixels, y up)

# Directions tried at each distance: right, left, above, below, then the diagonals.
_DIRECTIONS: tuple[tuple[float, float], ...] = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
_DISTANCES: tuple[float, ...] = (4.0, 10.0, 18.0, 28.0, 40.0)


@dataclass(frozen=True)
class Placed:
    """Where one label went.

    Attributes:
        index: Position of the label's point in the input.
        box: The label's box in pixels.
        leader: True when the label sits away from its point and needs a leader line.
    """

    index: int
    box: Box
    leader: bool


def intersects(a: Box, b: Box) -> bool:
    """True when two boxes share interior area (touching edges do not count)."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def covers(box: Box, x: float, y: float, radius: float) -> bool:
    """True when a point's marker (a square of half-side ``radius``) overlaps the box."""
    return intersects(box, (x - radius, y - radius, x + radius, y + radius))


def _candidate(x: float, y: float, w: float, h: float, dx: float, dy: float, d: float, r: float) -> Box:
    # The box's near edge sits ``d`` beyond the marker's edge in the given direction.
    if dx > 0:
        x0 = x + r + d
    elif dx < 0:
        x0 = x - r - d - w
    else:
        x0 = x - w / 2
    if dy > 0:
        y0 = y + r + d
    elif dy < 0:
        y0 = y - r - d - h
    else:
        y0 = y - h / 2
    return (x0, y0, x0 + w, y0 + h)


def place_labels(
    points: Sequence[tuple[float, float]],
    sizes: Sequence[tuple[float, float] | None],
    bounds: Box,
    radius: float | Sequence[float] = 3.0,
    obstacles: Sequence[Box] = (),
    leader_beyond: float = 6.0,
) -> list[Placed]:
    """Place labels next to points without overlaps.

    Args:
        points: Every point on the plot, in pixels; labels must cover none of them.
        sizes: ``(width, height)`` of each point's label in pixels, in priority order of the
            points (the first is placed first); None for a point that gets no label.
        bounds: The plot area labels must stay inside.
        radius: Half-size of the points' markers in pixels: one for all, or one per point.
        obstacles: Other boxes labels must not overlap (legends, fixed texts).
        leader_beyond: A label further than this from its marker gets a leader line.

    Returns:
        The labels that found a place, in the order placed.
    """
    radii = [float(radius)] * len(points) if isinstance(radius, (int, float)) else [float(r) for r in radius]
    placed: list[Placed] = []
    taken: list[Box] = list(obstacles)
    for i, size in enumerate(sizes):
        if size is None:
            continue
        x, y = points[i]
        w, h = size
        for d in _DISTANCES:
            box = next((b for dx, dy in _DIRECTIONS
                        if _fits(b := _candidate(x, y, w, h, dx, dy, d, radii[i]), bounds, taken, points, radii)), None)
            if box is not None:
                placed.append(Placed(i, box, d > leader_beyond))
                taken.append(box)
                break
    return placed


def _fits(box: Box, bounds: Box, taken: list[Box], points: Sequence[tuple[float, float]], radii: Sequence[float]) -> bool:
    if box[0] < bounds[0] or box[1] < bounds[1] or box[2] > bounds[2] or box[3] > bounds[3]:
        return False
    if any(intersects(box, t) for t in taken):
        return False
    return not any(covers(box, px, py, r) for (px, py), r in zip(points, radii))
