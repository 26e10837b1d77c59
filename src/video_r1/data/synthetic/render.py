"""Rendering: one sample of a task from its own random generator, with the label deciding only the order.

Each ``_render_<task>`` draws every latent (sizes, positions, speed, colours, background noise) without
looking at the label and paints the image, or the frames in a canonical order that video tasks play
backwards for the other answer; it also writes the question, the options and the one-sentence ``<think>``
process of the record. :func:`generate_sample` dispatches on the task name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from video_r1.data.synthetic.spec import IMAGE_TASKS, PALETTE, VIDEO_TASKS, Sample, SyntheticSpec

_LETTERS = "AB"
_DIRECTION_OPTIONS = ["A. left", "B. right"]
_SIZE_CHANGE_OPTIONS = ["A. grows", "B. shrinks"]
_MAX_COUNT = 5


def _background(
    rng: np.random.Generator, shape: tuple[int, ...], noise: float, level: tuple[float, float] = (20.0, 60.0)
) -> np.ndarray:
    """Grey canvas (level drawn from ``level``) with i.i.d. Gaussian noise per pixel and channel, as float
    (clipped at the end)."""
    base = rng.uniform(*level)
    return base + rng.normal(0.0, noise, size=shape) if noise > 0 else np.full(shape, base)


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def _colour_names(rng: np.random.Generator, k: int, allowed: Sequence[str] | None = None) -> list[str]:
    names = list(allowed) if allowed else list(PALETTE)
    return [names[i] for i in rng.choice(len(names), size=k, replace=False)]


def _where(centre: float, width: int) -> str:
    third = width / 3
    return "on the left" if centre < third else ("on the right" if centre >= 2 * third else "in the middle")


def _render_direction(
    rng: np.random.Generator, label: int, spec: SyntheticSpec, cue_agrees: bool | None = None
) -> Sample:
    t, s = spec.num_frames, spec.size
    cue = spec.shortcut_cue
    # cue value 0 says "left" (label 0), 1 says "right"; it agrees with the answer or says the other one
    value = None if cue is None else (label if cue_agrees else 1 - label)
    side = int(rng.integers(spec.square_min, spec.square_max + 1))
    fastest = (s - side) / (t - 1)
    speed = rng.uniform(spec.min_speed, fastest if spec.max_speed is None else min(spec.max_speed, fastest))
    x0 = rng.uniform(0.0, s - side - (t - 1) * speed)
    low_y, high_y = spec.cue_rows(side, value) if cue == "row" else (0, s - side)
    y = int(rng.integers(low_y, high_y + 1))
    (colour,) = _colour_names(rng, 1, spec.cue_colours(value) if cue == "colour" else spec.colours)
    level = spec.cue_background(value) if cue == "background" else spec.background
    frames = _background(rng, (t, s, s, 3), spec.noise, level)
    xs = [min(int(round(x0 + i * speed)), s - side) for i in range(t)]
    for i, x in enumerate(xs):
        frames[i, y : y + side, x : x + side] = PALETTE[colour]
    # Canonical order moves right (option B, index 1); the other answer plays the same frames backwards.
    if label == 0:
        frames, xs = frames[::-1], xs[::-1]
    word = "left" if label == 0 else "right"
    start, end = _where(xs[0] + side / 2, s), _where(xs[-1] + side / 2, s)
    process = (
        f"<think>The {colour} square is {start} in the first frame and {end} in the last frame, "
        f"so it moves {word}.</think>"
    )
    return Sample(
        "direction",
        "video",
        "multiple choice",
        "In which direction does the square move?\n",
        list(_DIRECTION_OPTIONS),
        _LETTERS[label],
        process,
        _to_uint8(frames),
        cue_agrees=None if cue is None else bool(cue_agrees),
    )


def _place(rng: np.random.Generator, side: int, canvas: int) -> tuple[int, int]:
    return int(rng.integers(0, canvas - side + 1)), int(rng.integers(0, canvas - side + 1))


def _render_appearance_order(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    t, s = spec.num_frames, spec.size
    names = _colour_names(rng, 2, spec.colours)  # option order; canonical clip shows names[0] first
    half = (
        t // 2
    )  # equal, disjoint intervals [0, half) and [t - half, t); a middle frame stays empty if t odd
    frames = _background(rng, (t, s, s, 3), spec.noise, spec.background)
    for k, name in enumerate(names):
        side = int(rng.integers(spec.square_min, spec.square_max + 1))
        y, x = _place(rng, side, s)
        span = range(0, half) if k == 0 else range(t - half, t)
        for i in span:
            frames[i, y : y + side, x : x + side] = PALETTE[name]
    if label == 1:
        frames = frames[::-1]
    first, second = names[label], names[1 - label]
    process = (
        f"<think>The {first} square is in the early frames and the {second} square only in the later ones, "
        f"so the first one is {first}.</think>"
    )
    return Sample(
        "appearance_order",
        "video",
        "multiple choice",
        "Two squares of different colours are shown one after the other. Which colour appears first?\n",
        [f"{_LETTERS[k]}. {name}" for k, name in enumerate(names)],
        _LETTERS[label],
        process,
        _to_uint8(frames),
    )


def _render_size_change(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    t, s = spec.num_frames, spec.size
    small = int(rng.integers(max(2, spec.square_min // 2), spec.square_min + 1))
    # at least 1 px of growth per frame; at most 60% of the width so the square never fills the frame
    low = max(small + t - 1, round(0.45 * s))
    large = int(rng.integers(low, min(s, max(low, round(0.6 * s))) + 1))
    cy, cx = (rng.uniform(large / 2, s - large / 2) for _ in range(2))
    frames = _background(rng, (t, s, s, 3), spec.noise, spec.background)
    (colour,) = _colour_names(rng, 1, spec.colours)
    sides = [int(round(small + (large - small) * i / (t - 1))) for i in range(t)]
    for i, side in enumerate(sides):
        y0 = min(max(int(round(cy - side / 2)), 0), s - side)
        x0 = min(max(int(round(cx - side / 2)), 0), s - side)
        frames[i, y0 : y0 + side, x0 : x0 + side] = PALETTE[colour]
    # Canonical order grows (option A, index 0); "shrinks" is the same clip backwards.
    if label == 1:
        frames, sides = frames[::-1], sides[::-1]
    verb = "grows" if label == 0 else "shrinks"
    process = (
        f"<think>The square is about {sides[0]} px wide in the first frame and {sides[-1]} px in the last "
        f"frame, so it {verb}.</think>"
    )
    return Sample(
        "size_change",
        "video",
        "multiple choice",
        "Does the square grow or shrink during the video?\n",
        list(_SIZE_CHANGE_OPTIONS),
        _LETTERS[label],
        process,
        _to_uint8(frames),
    )


def _render_count(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    s = spec.image_side
    n = int(rng.integers(1, _MAX_COUNT + 1))
    boxes: list[tuple[int, int, int]] = []
    while len(boxes) < n:  # rejection sampling; 5 squares of <= 10 px fit easily in 56 px
        side = int(rng.integers(6, 11))
        y, x = _place(rng, side, s)
        # keep a gap of >= 2 px so squares never touch (they must stay separate components)
        if all(
            y + side + 2 <= by or by + bs + 2 <= y or x + side + 2 <= bx or bx + bs + 2 <= x
            for by, bx, bs in boxes
        ):
            boxes.append((y, x, side))
    image = _background(rng, (s, s, 3), spec.noise, spec.background)
    for y, x, side in boxes:
        image[y : y + side, x : x + side] = PALETTE[_colour_names(rng, 1, spec.colours)[0]]
    return Sample(
        "count",
        "image",
        "numerical",
        "How many squares are in the image?",
        [],
        str(n),
        f"<think>Counting the squares one by one gives {n}.</think>",
        _to_uint8(image),
    )


def _render_square_size(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    s = spec.image_side
    side = int(rng.integers(8, min(40, s - 4) + 1))
    y, x = _place(rng, side, s)
    image = _background(rng, (s, s, 3), spec.noise, spec.background)
    image[y : y + side, x : x + side] = PALETTE[_colour_names(rng, 1, spec.colours)[0]]
    return Sample(
        "square_size",
        "image",
        "regression",
        "What is the side length of the square in pixels?",
        [],
        str(side),
        f"<think>The square spans about {side} pixels from its left edge to its right edge.</think>",
        _to_uint8(image),
    )


def _render_colour(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    s = spec.image_side
    true, distractor = _colour_names(rng, 2, spec.colours)
    side = int(rng.integers(spec.square_min, 2 * spec.square_max + 1))
    y, x = _place(rng, side, s)
    image = _background(rng, (s, s, 3), spec.noise, spec.background)
    image[y : y + side, x : x + side] = PALETTE[true]
    names = [true, distractor] if label == 0 else [distractor, true]
    return Sample(
        "colour",
        "image",
        "multiple choice",
        "What colour is the square?\n",
        [f"{_LETTERS[k]}. {name}" for k, name in enumerate(names)],
        _LETTERS[label],
        f"<think>The square's pixels are {true}.</think>",
        _to_uint8(image),
    )


_RENDERERS = {
    "direction": _render_direction,
    "appearance_order": _render_appearance_order,
    "size_change": _render_size_change,
    "count": _render_count,
    "square_size": _render_square_size,
    "colour": _render_colour,
}


def generate_sample(
    task: str,
    label: int,
    rng: np.random.Generator,
    spec: SyntheticSpec | None = None,
    *,
    cue_agrees: bool = True,
) -> Sample:
    """Render one sample of ``task`` with answer option ``label`` (0 -> "A", 1 -> "B").

    ``label`` is ignored by the numerical/regression tasks. The random draws never depend on ``label``, so
    two calls with equally seeded generators and different labels give the same latents; for video tasks
    the two clips are then exact time reversals of each other (the property the tests check). The one
    exception is ``spec.shortcut_cue`` (direction task only): the cue's half of its latent is chosen by the
    label, the answer the cue points to when ``cue_agrees`` and the other one otherwise.
    """
    if task not in _RENDERERS:
        raise ValueError(f"unknown synthetic task {task!r}; expected one of {VIDEO_TASKS + IMAGE_TASKS}")
    if label not in (0, 1):
        raise ValueError(f"label={label!r}: must be 0 (A) or 1 (B)")
    spec = spec or SyntheticSpec()
    if task == "direction" and spec.shortcut_cue is not None:
        return _render_direction(rng, label, spec, cue_agrees)
    return _RENDERERS[task](rng, label, spec)
