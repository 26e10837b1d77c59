"""The oracle: recover a record's answer by measuring its pixels, so tests need not trust the generator.

Objects are the pixels whose colour channels spread more than a threshold (the background is grey); video
answers come from trends over time, image answers from connected components. Only a record's options are
read, never its solution. :func:`answer_from_cue` is the single-frame shortcut: the answer a direction
record's static cue points to, measured on one frame.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from video_r1.data.synthetic.spec import (
    _CHROMA_THRESHOLD,
    IMAGE_TASKS,
    PALETTE,
    VIDEO_TASKS,
    SyntheticSpec,
)


def _object_mask(frame: np.ndarray) -> np.ndarray:
    """Pixels that belong to a coloured object: large spread between colour channels (grey has none)."""
    frame = frame.astype(np.int16)
    return (frame.max(axis=-1) - frame.min(axis=-1)) > _CHROMA_THRESHOLD


def _option_texts(record: Mapping[str, Any]) -> dict[str, str]:
    """``{"left": "A", ...}`` from options like ``"A. left"``."""
    mapping: dict[str, str] = {}
    for option in record.get("options") or ():
        letter, _, text = option.partition(". ")
        mapping[text.strip()] = letter.strip()
    return mapping


def _slope(values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against their index (over the frames where they exist)."""
    pairs = [(i, v) for i, v in enumerate(values) if not math.isnan(v)]
    if len(pairs) < 2:
        raise ValueError("the object is visible in fewer than 2 frames; cannot measure a trend")
    t = np.array([p[0] for p in pairs], dtype=float)
    v = np.array([p[1] for p in pairs], dtype=float)
    return float(np.polyfit(t, v, 1)[0])


def _nearest_colour(pixels: np.ndarray, candidates: Sequence[str]) -> str:
    mean = pixels.reshape(-1, 3).astype(float).mean(axis=0)
    return min(candidates, key=lambda name: float(np.sum((mean - np.array(PALETTE[name])) ** 2)))


def _components(mask: np.ndarray, min_area: int = 9) -> list[np.ndarray]:
    """Pixel coordinates ``(n, 2)`` of each 4-connected component of ``mask`` with at least ``min_area``
    pixels. A plain flood fill (tiny images, no scipy); the area floor drops the odd noise pixel whose
    channel spread crosses the threshold, which real objects (>= 36 px in image tasks) never approach."""
    seen = np.zeros_like(mask, dtype=bool)
    height, width = mask.shape
    found: list[np.ndarray] = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        stack, pixels = [(int(y0), int(x0))], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            pixels.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(pixels) >= min_area:
            found.append(np.array(pixels))
    return found


def answer_from_frames(frames: np.ndarray, task: str, record: Mapping[str, Any]) -> str:
    """Recover the answer (the text inside ``<answer>``) of ``record`` by measuring its pixels.

    ``frames`` is ``(T, H, W, C)`` uint8 RGB in the order to be judged (images: ``(H, W, C)`` or a single
    frame). Only the options are read from ``record``, never the solution. Video answers come from trends
    over time - centroid x (direction), mean time index of each colour (appearance order), object area
    (size change) - so reversing the frames flips them and shuffling makes them arbitrary.
    """
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] < 3:
        raise ValueError(f"expected (T, H, W, C) frames, got shape {frames.shape}")
    frames = frames[..., :3]
    options = _option_texts(record)
    masks = [_object_mask(frame) for frame in frames]

    if task == "direction":
        xs = [float(np.nonzero(m)[1].mean()) if m.any() else math.nan for m in masks]
        return options["right" if _slope(xs) > 0 else "left"]
    if task == "size_change":
        areas = [float(m.sum()) for m in masks]
        return options["grows" if _slope(areas) > 0 else "shrinks"]
    if task == "appearance_order":
        times: dict[str, list[int]] = {name: [] for name in options}
        for i, (frame, mask) in enumerate(zip(frames, masks)):
            if mask.sum() >= 4:
                times[_nearest_colour(frame[mask], list(options))].append(i)
        if not all(times.values()):
            raise ValueError(f"appearance_order: could not see both colours, frames per colour {times}")
        first = min(times, key=lambda name: float(np.mean(times[name])))
        return options[first]
    if task in IMAGE_TASKS:
        if len(frames) != 1:
            raise ValueError(f"{task} is an image task; got {len(frames)} frames")
        image, mask = frames[0], masks[0]
        components = _components(mask)
        if task == "count":
            return str(len(components))
        if not components:
            raise ValueError(f"{task}: no object found in the image")
        largest = max(components, key=len)
        if task == "square_size":
            return str(int(largest[:, 1].max() - largest[:, 1].min() + 1))
        return options[_nearest_colour(image[largest[:, 0], largest[:, 1]], list(options))]
    raise ValueError(f"unknown synthetic task {task!r}; expected one of {VIDEO_TASKS + IMAGE_TASKS}")


def answer_from_cue(frame: np.ndarray, record: Mapping[str, Any], spec: SyntheticSpec) -> str:
    """The answer the static cue of a direction record points to, measured on one frame (``(H, W, C)``).

    The single-frame shortcut of :attr:`SyntheticSpec.shortcut_cue`: the square's colour (which half of the
    colours), the background's grey level (below or above the middle of the range) or the square's row
    (above or below the middle). It sees no order, so it scores the same on any frame of a clip; it is
    right exactly on the records whose cue agrees. Only the options are read from ``record``.
    """
    frame = np.asarray(frame)[..., :3]
    if frame.ndim != 3:
        raise ValueError(f"expected one (H, W, C) frame, got shape {frame.shape}")
    mask = _object_mask(frame)
    cue = spec.shortcut_cue
    if cue == "colour":
        if not mask.any():
            raise ValueError("colour cue: no object in the frame")
        says_left = _nearest_colour(frame[mask], spec.colour_names()) in spec.cue_colours(0)
    elif cue == "background":
        says_left = float(np.median(frame[~mask])) < sum(spec.background) / 2
    elif cue == "row":
        if not mask.any():
            raise ValueError("row cue: no object in the frame")
        says_left = float(np.nonzero(mask)[0].mean()) + 0.5 < spec.size / 2
    else:
        raise ValueError(f"spec.shortcut_cue={cue!r}: no cue to measure")
    return _option_texts(record)["left" if says_left else "right"]
