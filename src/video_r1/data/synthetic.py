"""A small synthetic dataset whose video questions can only be answered from frame order.

Video-R1's T-GRPO rewards a model for answering better from ordered frames than from shuffled ones. To see
that mechanism work end to end on a laptop we need data where temporal order is *the* signal: a model that
only sees the unordered bag of frames must be at chance, and one that reads the order can be perfect. This
module writes such data in the original record format (``train.json``, ``cot.json``, ``test.json`` plus
``videos/*.mp4`` and ``images/*.png``), and an oracle that recovers every label by measurement so tests can
check the labels without trusting the generator.

Video tasks (all two-option multiple choice, answers balanced per task, chance = 0.5):

* ``direction``   - one coloured square slides horizontally; "A. left" / "B. right".
* ``appearance_order`` - two squares of different colours, each visible on its own half of the clip
  (disjoint intervals of equal length); "which colour appears first?", options are the two colours.
* ``size_change`` - one square whose side changes linearly; "A. grows" / "B. shrinks".

Why shuffled frames carry no information (the multiset argument). Every video sample is drawn as latent
parameters (colours, sizes, positions, speed, per-frame background noise) from the sample's own random
generator, *without looking at the label*; the frames are rendered in a canonical order whose answer is
fixed (moving right, the first-listed colour first, growing), and the label only decides whether that frame
sequence is played forwards or backwards. Reversal permutes frames, so the multiset of frames is exactly
the same function of the latents under both answers: its distribution does not depend on the label, and by
the same token no function of the unordered frames (e.g. a model given a shuffled clip) can beat chance. The
answer is recoverable only from the order: centroid trend, which colour is seen earlier, area trend.
In the appearance task each frame shows exactly one object and both are shown for the same number of
frames, so even "which colour is shown more often" says nothing (reversal alone would already keep any
label-independent interval lengths fair; equal lengths make it evident at a glance).

The codec must not break the argument either. With ordinary inter-frame H.264, the first frame is an
I-frame of different quality than the P-frames that follow, so a shuffled clip would still reveal which
frame came first (and hence the direction). Videos are therefore encoded intra-only (every frame a
keyframe) at a constant quantiser, with one encoder thread: each decoded frame is then a deterministic
function of that frame alone, decoding a reversed clip gives exactly the reversed decoded frames, and the
files are byte-identical for a seed. H.264/yuv420p in MP4 is read by decord, PyAV and qwen-vl-utils.

Image tasks (they exercise mixed image+video batches; PNG is lossless so labels are exact):

* ``count``       - 1..5 separated squares; "numerical", e.g. ``<answer>3</answer>``.
* ``square_size`` - one square; its side length in pixels, "regression".
* ``colour``      - one square; two colour options, "multiple choice".

Defaults follow what a tiny random-init model learned on CPU (``demo-notes.md``): 8 frames at 2 fps of
56x56 (the Qwen2.5-VL 2-fps sampler then keeps every frame), squares of 10-14 px, speed >= 4.5 px/frame,
mild noise. Chain-of-thought text in ``cot.json`` is one short templated sentence, because long ``<think>``
targets dilute the single informative answer token in a tiny model's loss.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from video_r1.prompts import DATA_TYPES, PROBLEM_TYPES

VIDEO_TASKS: tuple[str, ...] = ("direction", "appearance_order", "size_change")
IMAGE_TASKS: tuple[str, ...] = ("count", "square_size", "colour")

#: problem_type of each task, as in the Video-R1 record format.
TASK_PROBLEM_TYPES: dict[str, str] = {
    "direction": "multiple choice",
    "appearance_order": "multiple choice",
    "size_change": "multiple choice",
    "count": "numerical",
    "square_size": "regression",
    "colour": "multiple choice",
}

#: Saturated colours only: every one has a channel spread (max - min) >= 160, while the grey, mildly noisy
#: background stays far below 80, so "is this pixel part of an object" is a simple threshold even after
#: H.264's 4:2:0 chroma subsampling. No white: it would be as grey as the background.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (40, 90, 240),
    "yellow": (235, 215, 35),
    "magenta": (215, 45, 215),
    "cyan": (35, 205, 215),
    "orange": (245, 135, 25),
}

_CHROMA_THRESHOLD = 80
_LETTERS = "AB"
_DIRECTION_OPTIONS = ["A. left", "B. right"]
_SIZE_CHANGE_OPTIONS = ["A. grows", "B. shrinks"]
_MAX_COUNT = 5


@dataclass(frozen=True)
class SyntheticSpec:
    """Rendering parameters shared by every sample of a dataset (not per-sample randomness)."""

    num_frames: int = 8
    fps: float = 2.0
    size: int = 56
    image_size: int | None = None
    noise: float = 4.0
    square_min: int = 10
    square_max: int = 14
    min_speed: float = 4.5
    qp: int = 12
    #: Fastest motion of the direction task in px/frame (None: as fast as the square still fits).
    max_speed: float | None = None
    #: Range of the grey background level (0-255), drawn per sample. The default is dark grey; a level near
    #: the processor's normalisation mean (~115) makes background patches encode to almost nothing.
    background: tuple[float, float] = (20.0, 60.0)

    @property
    def image_side(self) -> int:
        return self.size if self.image_size is None else self.image_size

    def validate(self) -> None:
        """Reject settings that would make a task unrenderable or make the processor resample frames."""
        for name, value in (("size", self.size), ("image_size", self.image_side)):
            if value <= 0 or value % 28:
                raise ValueError(
                    f"{name}={value}: must be a positive multiple of 28 (Qwen2.5-VL patch 14 x merge 2), "
                    "so the processor keeps the pixels as drawn"
                )
        if self.num_frames < 2:
            raise ValueError(f"num_frames={self.num_frames}: order needs at least 2 frames")
        if self.fps <= 0:
            raise ValueError(f"fps={self.fps}: must be positive")
        if not 0 <= self.noise <= 10:
            raise ValueError(f"noise={self.noise}: must be in [0, 10] so objects stay separable from noise")
        if not 2 <= self.square_min <= self.square_max:
            raise ValueError(f"square sizes {self.square_min}..{self.square_max}: need 2 <= min <= max")
        if self.min_speed <= 0:
            raise ValueError(f"min_speed={self.min_speed}: must be positive")
        max_speed = (self.size - self.square_max) / (self.num_frames - 1)
        if max_speed < self.min_speed:
            raise ValueError(
                f"a {self.square_max}px square moving >= {self.min_speed}px/frame over {self.num_frames} "
                f"frames does not fit in {self.size}px (max speed {max_speed:.2f}); lower min_speed, "
                "square_max or num_frames, or raise size"
            )
        if not 0 <= self.qp <= 51:
            raise ValueError(f"qp={self.qp}: H.264 quantiser must be in [0, 51]")
        if self.max_speed is not None and self.max_speed < self.min_speed:
            raise ValueError(f"max_speed={self.max_speed} must be >= min_speed={self.min_speed}")
        low, high = self.background
        if not 0 <= low <= high <= 160:
            raise ValueError(
                f"background={self.background}: need 0 <= low <= high <= 160 so every palette colour keeps a "
                "channel spread above the object threshold"
            )


@dataclass
class Sample:
    """One rendered question: pixels plus the text fields of its record (no id or path yet)."""

    task: str
    data_type: str
    problem_type: str
    problem: str
    options: list[str]
    answer: str
    process: str
    pixels: np.ndarray = field(repr=False)

    def record(self, problem_id: int, path: str, *, with_process: bool) -> dict[str, Any]:
        """The Video-R1 record (COT-165k layout when ``with_process``)."""
        if self.data_type not in DATA_TYPES or self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"task {self.task}: bad data_type/problem_type {self.data_type}/{self.problem_type}"
            )
        record: dict[str, Any] = {
            "problem_id": problem_id,
            "problem": self.problem,
            "data_type": self.data_type,
            "problem_type": self.problem_type,
            "options": list(self.options),
        }
        if with_process:
            record["process"] = self.process
        record["solution"] = f"<answer>{self.answer}</answer>"
        record["path"] = path
        record["data_source"] = f"synthetic/{self.task}"
        return record


# --------------------------------------------------------------------------------------------- rendering


def _background(
    rng: np.random.Generator, shape: tuple[int, ...], noise: float, level: tuple[float, float] = (20.0, 60.0)
) -> np.ndarray:
    """Grey canvas (level drawn from ``level``) with i.i.d. Gaussian noise per pixel and channel, as float
    (clipped at the end)."""
    base = rng.uniform(*level)
    return base + rng.normal(0.0, noise, size=shape) if noise > 0 else np.full(shape, base)


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def _colour_names(rng: np.random.Generator, k: int) -> list[str]:
    names = list(PALETTE)
    return [names[i] for i in rng.choice(len(names), size=k, replace=False)]


def _where(centre: float, width: int) -> str:
    third = width / 3
    return "on the left" if centre < third else ("on the right" if centre >= 2 * third else "in the middle")


def _render_direction(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    t, s = spec.num_frames, spec.size
    side = int(rng.integers(spec.square_min, spec.square_max + 1))
    fastest = (s - side) / (t - 1)
    speed = rng.uniform(spec.min_speed, fastest if spec.max_speed is None else min(spec.max_speed, fastest))
    x0 = rng.uniform(0.0, s - side - (t - 1) * speed)
    y = int(rng.integers(0, s - side + 1))
    (colour,) = _colour_names(rng, 1)
    frames = _background(rng, (t, s, s, 3), spec.noise, spec.background)
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
    )


def _place(rng: np.random.Generator, side: int, canvas: int) -> tuple[int, int]:
    return int(rng.integers(0, canvas - side + 1)), int(rng.integers(0, canvas - side + 1))


def _render_appearance_order(rng: np.random.Generator, label: int, spec: SyntheticSpec) -> Sample:
    t, s = spec.num_frames, spec.size
    names = _colour_names(rng, 2)  # option order; canonical clip shows names[0] first
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
    (colour,) = _colour_names(rng, 1)
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
        image[y : y + side, x : x + side] = PALETTE[_colour_names(rng, 1)[0]]
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
    image[y : y + side, x : x + side] = PALETTE[_colour_names(rng, 1)[0]]
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
    true, distractor = _colour_names(rng, 2)
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
    task: str, label: int, rng: np.random.Generator, spec: SyntheticSpec | None = None
) -> Sample:
    """Render one sample of ``task`` with answer option ``label`` (0 -> "A", 1 -> "B").

    ``label`` is ignored by the numerical/regression tasks. The random draws never depend on ``label``, so
    two calls with equally seeded generators and different labels give the same latents; for video tasks
    the two clips are then exact time reversals of each other (the property the tests check).
    """
    if task not in _RENDERERS:
        raise ValueError(f"unknown synthetic task {task!r}; expected one of {VIDEO_TASKS + IMAGE_TASKS}")
    if label not in (0, 1):
        raise ValueError(f"label={label!r}: must be 0 (A) or 1 (B)")
    spec = spec or SyntheticSpec()
    return _RENDERERS[task](rng, label, spec)


# ------------------------------------------------------------------------------------------- the oracle


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


# ------------------------------------------------------------------------------------------- media I/O


def encode_video(frames: np.ndarray, path: str | Path, fps: float = 2.0, qp: int = 12) -> Path:
    """Write ``(T, H, W, 3)`` uint8 RGB frames as intra-only constant-QP H.264 (yuv420p) in MP4.

    Intra-only + constant quantiser + one thread makes each decoded frame depend on that frame alone and
    the file depend on nothing but the pixels (see the module docstring for why order must not leak).
    """
    import av

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    _, height, width, _ = frames.shape
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {
            "qp": str(qp),
            "preset": "medium",
            "x264-params": "keyint=1:min-keyint=1:scenecut=0:bframes=0:threads=1",
        }
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_video(path: str | Path, backend: str = "decord") -> np.ndarray:
    """All frames of ``path`` as ``(T, H, W, 3)`` uint8 RGB, read with ``decord`` or ``pyav``."""
    if backend == "decord":
        import decord

        reader = decord.VideoReader(str(path), num_threads=1)
        return reader.get_batch(list(range(len(reader)))).asnumpy()
    if backend == "pyav":
        import av

        with av.open(str(path)) as container:
            return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    raise ValueError(f"unknown video backend {backend!r}; expected 'decord' or 'pyav'")


def _write_image(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    # No timestamps or text chunks are written, so the PNG bytes depend only on the pixels.
    Image.fromarray(image, mode="RGB").save(path, format="PNG", optimize=False, compress_level=6)


# ------------------------------------------------------------------------------------------- dataset


def _plan_split(
    num: int,
    video_tasks: Sequence[str],
    image_tasks: Sequence[str],
    image_fraction: float,
    rng: np.random.Generator,
) -> list[tuple[str, int]]:
    """(task, label) for each record of a split: tasks round-robin, labels exactly balanced per task."""
    num_image = round(num * image_fraction) if image_tasks else 0
    if not video_tasks:
        num_image = num
    tasks = [video_tasks[i % len(video_tasks)] for i in range(num - num_image)]
    tasks += [image_tasks[i % len(image_tasks)] for i in range(num_image)]
    order = rng.permutation(len(tasks))
    tasks = [tasks[i] for i in order]
    labels_per_task = {
        task: list(rng.permutation(np.arange(count) % 2)) for task, count in sorted(Counter(tasks).items())
    }
    return [(task, int(labels_per_task[task].pop())) for task in tasks]


def make_synthetic(
    output_dir: str | Path,
    num_train: int = 200,
    num_test: int = 100,
    seed: int = 0,
    *,
    num_frames: int = 8,
    fps: float = 2.0,
    size: int = 56,
    image_size: int | None = None,
    video_tasks: Sequence[str] = VIDEO_TASKS,
    image_tasks: Sequence[str] = IMAGE_TASKS,
    image_fraction: float = 0.25,
    test_image_fraction: float | None = None,
    noise: float = 4.0,
    square_min: int = 10,
    square_max: int = 14,
    min_speed: float = 4.5,
    qp: int = 12,
    max_speed: float | None = None,
    background: tuple[float, float] = (20.0, 60.0),
    num_cot: int | None = None,
    cot_overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Write the synthetic dataset under ``output_dir`` and return the paths of what was written.

    Returns ``{"root", "train", "cot", "test", "videos", "images"}``. ``train.json`` is the RL file
    (video and image records mixed; ``image_fraction`` of them images), ``test.json`` a held-out split
    (``test_image_fraction``, default the same fraction) whose problem ids - and hence per-sample seeds -
    follow the training ids. ``cot.json`` (SFT, with a short ``process``) holds, by default, the training
    records themselves; with ``num_cot`` it is a split of its own: ``num_cot`` further questions (ids after
    the test ids, mixed like the training split) rendered with ``cot_overrides`` replacing fields of
    :class:`SyntheticSpec` (e.g. ``{"min_speed": 4.0}`` for an SFT set of fast clips only). Record paths are
    ``./videos/<id>.mp4`` / ``./images/<id>.png`` relative to the JSON files' folder. The same arguments
    always produce identical JSON and media bytes.
    """
    from tqdm import tqdm

    spec = SyntheticSpec(
        num_frames,
        fps,
        size,
        image_size,
        noise,
        square_min,
        square_max,
        min_speed,
        qp,
        max_speed,
        tuple(background),
    )
    spec.validate()
    video_tasks, image_tasks = tuple(video_tasks), tuple(image_tasks)
    for task in video_tasks:
        if task not in VIDEO_TASKS:
            raise ValueError(f"unknown video task {task!r}; expected some of {VIDEO_TASKS}")
    for task in image_tasks:
        if task not in IMAGE_TASKS:
            raise ValueError(f"unknown image task {task!r}; expected some of {IMAGE_TASKS}")
    test_image_fraction = image_fraction if test_image_fraction is None else test_image_fraction
    for name, fraction in (("image_fraction", image_fraction), ("test_image_fraction", test_image_fraction)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{name}={fraction}: must be in [0, 1]")
        if fraction > 0 and not image_tasks:
            raise ValueError(f"{name}={fraction} but no image_tasks were given")
        if fraction < 1 and not video_tasks:
            raise ValueError(f"{name}={fraction} needs video_tasks (or set it to 1.0)")
    if num_train < 0 or num_test < 0:
        raise ValueError(f"num_train={num_train}, num_test={num_test}: must be >= 0")
    if num_cot is not None and num_cot < 0:
        raise ValueError(f"num_cot={num_cot}: must be >= 0 (or None: the training records)")
    if cot_overrides and num_cot is None:
        raise ValueError("cot_overrides needs num_cot (a CoT split of its own)")
    cot_spec = spec
    if cot_overrides:
        valid = {f.name for f in fields(SyntheticSpec)}
        unknown = sorted(set(cot_overrides) - valid)
        if unknown:
            raise ValueError(f"cot_overrides: unknown field(s) {unknown}; expected some of {sorted(valid)}")
        overrides = dict(cot_overrides)
        if "background" in overrides:
            overrides["background"] = tuple(overrides["background"])
        cot_spec = replace(spec, **overrides)
        cot_spec.validate()

    root = Path(output_dir)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(parents=True, exist_ok=True)
    splits = {
        "train": (0, num_train, image_fraction, spec),
        "test": (num_train, num_test, test_image_fraction, spec),
    }
    if num_cot is not None:
        splits["cot"] = (num_train + num_test, num_cot, image_fraction, cot_spec)
    total = sum(split[1] for split in splits.values())
    records: dict[str, list[dict[str, Any]]] = {"train": [], "cot": [], "test": []}
    with tqdm(total=total, desc="synthetic", unit="sample", disable=not progress) as bar:
        for split_index, (split, (first_id, num, fraction, split_spec)) in enumerate(splits.items()):
            plan = _plan_split(
                num, video_tasks, image_tasks, fraction, np.random.default_rng([seed, 1, split_index])
            )
            for offset, (task, label) in enumerate(plan):
                problem_id = first_id + offset
                rng = np.random.default_rng([seed, 0, problem_id])
                sample = generate_sample(task, label, rng, split_spec)
                if sample.data_type == "video":
                    relative = f"videos/{problem_id:05d}.mp4"
                    encode_video(sample.pixels, root / relative, fps=split_spec.fps, qp=split_spec.qp)
                else:
                    relative = f"images/{problem_id:05d}.png"
                    _write_image(sample.pixels, root / relative)
                if split != "cot":
                    records[split].append(sample.record(problem_id, f"./{relative}", with_process=False))
                if split == "cot" or (split == "train" and num_cot is None):
                    records["cot"].append(sample.record(problem_id, f"./{relative}", with_process=True))
                bar.update(1)

    paths: dict[str, Path] = {"root": root, "videos": root / "videos", "images": root / "images"}
    for name, rows in records.items():
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
