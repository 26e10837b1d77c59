"""What a synthetic dataset is made of: its tasks, colours, rendering parameters and the rendered sample.

:data:`VIDEO_TASKS` / :data:`IMAGE_TASKS` name the six tasks and :data:`TASK_PROBLEM_TYPES` their Video-R1
``problem_type``; :data:`PALETTE` holds the object colours (chosen so a channel-spread threshold separates
objects from the grey background); :class:`SyntheticSpec` the rendering parameters shared by a whole dataset,
with their checks; :class:`Sample` one rendered question and its Video-R1 record. No randomness here: see
:mod:`~video_r1.data.synthetic.render`. :data:`SHORTCUT_CUES` names the static cues the direction task can
carry (:attr:`SyntheticSpec.shortcut_cue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

#: Channel spread above which a pixel belongs to an object (see :data:`PALETTE`); used by the oracle.
_CHROMA_THRESHOLD = 80

#: Spurious static cues the direction task can carry (:attr:`SyntheticSpec.shortcut_cue`). Each splits one
#: latent that is the same in every frame into a "left" half (cue 0) and a "right" half (cue 1):
#:
#: * ``colour``: the square's colour from the first half of the colours (left) or the second half (right);
#: * ``background``: the grey level from the lowest 40% of the ``background`` range (left) or the highest 40%;
#: * ``row``: the square in the top part of the frame (left) or the bottom part (right), >= 4 px from the
#:   middle row.
#:
#: A question's cue *agrees* when it points to the right answer. Shuffling frames keeps the cue (it is in
#: every frame) and destroys the order, so a model that answers from the cue scores the same on ordered and
#: shuffled frames.
SHORTCUT_CUES: tuple[str, ...] = ("colour", "background", "row")


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
    #: Colours the objects are drawn from (names of :data:`PALETTE`; None: all of them).
    colours: tuple[str, ...] | None = None
    #: A spurious static cue of the direction task (one of :data:`SHORTCUT_CUES`; None: no cue, the default).
    shortcut_cue: str | None = None
    #: With ``shortcut_cue``: fraction of the direction questions whose cue agrees with the answer (exactly
    #: ``round(cue_agreement x n)`` of the n questions of each answer).
    cue_agreement: float = 0.9

    def colour_names(self) -> tuple[str, ...]:
        """The colours objects are drawn from."""
        return tuple(self.colours) if self.colours else tuple(PALETTE)

    def cue_colours(self, cue: int) -> tuple[str, ...]:
        """``colour`` cue: the colours that say "left" (``cue`` 0, the first half) or "right" (1)."""
        names = self.colour_names()
        half = len(names) // 2
        return names[:half] if cue == 0 else names[half:]

    def cue_background(self, cue: int) -> tuple[float, float]:
        """``background`` cue: the grey levels that say "left" (``cue`` 0, lowest 40%) or "right" (highest)."""
        low, high = self.background
        part = 0.4 * (high - low)
        return (low, low + part) if cue == 0 else (high - part, high)

    def cue_rows(self, side: int, cue: int) -> tuple[int, int]:
        """``row`` cue: the inclusive range of the top edge of a ``side`` px square that says "left" (``cue``
        0, top part) or "right" (1, bottom part); its centre is >= 4 px from the middle row either way."""
        middle = (self.size - side) // 2
        return (0, middle - 4) if cue == 0 else (middle + 4, self.size - side)

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
            raise ValueError(
                f"square_min={self.square_min}, square_max={self.square_max}: need 2 <= square_min <= square_max"
            )
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
        if self.colours is not None:
            unknown = sorted(set(self.colours) - set(PALETTE))
            if unknown or len(set(self.colours)) < 2:
                raise ValueError(
                    f"colours={self.colours}: need at least 2 distinct names of {sorted(PALETTE)}"
                    + (f" (unknown: {unknown})" if unknown else "")
                )
        low, high = self.background
        if not 0 <= low <= high <= 160:
            raise ValueError(
                f"background={self.background}: need 0 <= low <= high <= 160 so every palette colour keeps a "
                "channel spread above the object threshold"
            )
        if self.shortcut_cue is not None:
            if self.shortcut_cue not in SHORTCUT_CUES:
                raise ValueError(
                    f"shortcut_cue={self.shortcut_cue!r}: expected one of {SHORTCUT_CUES} (or None)"
                )
            if not 0.0 <= self.cue_agreement <= 1.0:
                raise ValueError(f"cue_agreement={self.cue_agreement}: must be in [0, 1]")
            if self.shortcut_cue == "background" and high - low < 10:
                raise ValueError(
                    f"background={self.background}: the background cue needs a range of >= 10 levels"
                )
            if self.shortcut_cue == "row" and self.size - self.square_max < 16:
                raise ValueError(
                    f"size={self.size}, square_max={self.square_max}: the row cue needs size - square_max >= 16"
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
    #: With a shortcut cue: whether the cue points to the answer (written to the record as ``cue_agrees``).
    cue_agrees: bool | None = None

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
        if self.cue_agrees is not None:
            record["cue_agrees"] = self.cue_agrees
        return record
