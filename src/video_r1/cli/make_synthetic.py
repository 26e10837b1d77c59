"""``video-r1 make-synthetic --output_dir DIR``: write the synthetic frame-order dataset.

The dataset (see ``video_r1.data.synthetic``) is what the CPU demo trains and evaluates on: its video
questions are answerable only from frame order, so T-GRPO's ordered-vs-shuffled contrast has something to
measure. Generation needs no network and takes about a second per few hundred samples.

The settings are :class:`MakeSyntheticArguments` (one flag per ``make_synthetic`` argument, or the same keys
in ``--config file.yaml``); every value is checked while parsing, so a bad one fails before anything is
written.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.data.synthetic import (
    IMAGE_TASKS,
    PALETTE,
    SHORTCUT_CUES,
    VIDEO_TASKS,
    SyntheticSpec,
    check_settings,
)
from video_r1.resumable import check_output_path

#: The value of ``--video_tasks`` / ``--image_tasks`` that selects no task of that kind.
NO_TASKS = "none"


@dataclass
class MakeSyntheticArguments:
    """Settings of ``video-r1 make-synthetic`` (the arguments of ``video_r1.data.synthetic.make_synthetic``)."""

    output_dir: str | None = field(
        default=None, metadata={"help": "Directory to write the dataset to (created). Required."}
    )
    num_train: int = field(default=200, metadata={"help": "Records in train.json (and cot.json by default)."})
    num_test: int = field(default=100, metadata={"help": "Records in test.json."})
    seed: int = field(default=0, metadata={"help": "Seed; the same settings and seed give identical files."})
    num_frames: int = field(default=8, metadata={"help": "Frames per video."})
    fps: float = field(default=2.0, metadata={"help": "Video frame rate written to the mp4."})
    size: int = field(default=56, metadata={"help": "Video frame side in px, a multiple of 28."})
    image_size: int | None = field(
        default=None, metadata={"help": "Image side in px, a multiple of 28 (None: the same as --size)."}
    )
    video_tasks: list[str] = field(
        default_factory=lambda: list(VIDEO_TASKS),
        metadata={
            "help": f"Video tasks to include, some of {' '.join(VIDEO_TASKS)} ('{NO_TASKS}': no videos); "
            "'direction' is the easiest."
        },
    )
    image_tasks: list[str] = field(
        default_factory=lambda: list(IMAGE_TASKS),
        metadata={
            "help": f"Image tasks to include, some of {' '.join(IMAGE_TASKS)} ('{NO_TASKS}': no images)."
        },
    )
    image_fraction: float = field(
        default=0.25, metadata={"help": "Fraction of image records in train.json (and a --num_cot split)."}
    )
    test_image_fraction: float | None = field(
        default=None,
        metadata={
            "help": "Fraction of image records in test.json (None: --image_fraction; 0 for a video-only test "
            "set)."
        },
    )
    noise: float = field(default=4.0, metadata={"help": "Std of the per-pixel background noise, 0..10."})
    square_min: int = field(default=10, metadata={"help": "Smallest moving-square side in px."})
    square_max: int = field(default=14, metadata={"help": "Largest moving-square side in px."})
    min_speed: float = field(
        default=4.5, metadata={"help": "Slowest motion of the direction task, px/frame."}
    )
    qp: int = field(default=12, metadata={"help": "H.264 constant quantiser, 0..51."})
    max_speed: float | None = field(
        default=None,
        metadata={
            "help": "Fastest motion of the direction task, px/frame (None: as fast as the square still fits)."
        },
    )
    background: list[float] = field(
        default_factory=lambda: [20.0, 60.0],
        metadata={"help": "LOW HIGH: range of the grey background level (0..160), drawn per sample."},
    )
    colours: list[str] = field(
        default_factory=lambda: list(PALETTE),
        metadata={"help": f"Colours the objects are drawn from, at least 2 of {' '.join(PALETTE)}."},
    )
    shortcut_cue: str | None = field(
        default=None,
        metadata={
            "help": f"Give the direction task a spurious static cue correlated with the answer, one of "
            f"{' '.join(SHORTCUT_CUES)}: the square's colour (first or second half of --colours), the "
            "background's grey level (low or high part of --background) or the square's row (top or bottom); "
            "each direction record gets a cue_agrees field (None: no cue; the files are byte-identical to those "
            "written without these three flags)."
        },
    )
    cue_agreement: float = field(
        default=0.9,
        metadata={
            "help": "With --shortcut_cue: fraction of the direction questions of train.json (and cot.json) "
            "whose cue points to the answer (exactly round(fraction x n) per answer)."
        },
    )
    test_cue_agreement: float = field(
        default=0.5,
        metadata={
            "help": "With --shortcut_cue: the same fraction for test.json (0.5: the cue says nothing; 0.0: it "
            "always points the wrong way)."
        },
    )
    num_cot: int | None = field(
        default=None,
        metadata={
            "help": "Questions in a CoT split of its own (ids after the test ids, mixed like train.json) "
            "written to cot.json (None: cot.json holds the training records)."
        },
    )
    cot_overrides: str | None = field(
        default=None,
        metadata={
            "help": "JSON object of rendering settings (these flags' names, e.g. '{\"min_speed\": 4.0}') that "
            "replace the ones above for the --num_cot split; a mapping in a --config file."
        },
    )
    no_progress: bool = field(default=False, metadata={"help": "Do not show a progress bar."})

    def __post_init__(self) -> None:
        if not self.output_dir:
            raise ValueError("--output_dir (the directory to write the dataset to) is required")
        check_output_path(self.output_dir)
        self.video_tasks = _tasks(self.video_tasks, VIDEO_TASKS, "--video_tasks")
        self.image_tasks = _tasks(self.image_tasks, IMAGE_TASKS, "--image_tasks")
        if isinstance(self.colours, str):
            self.colours = [self.colours]
        if len(self.background) != 2:
            raise ValueError(f"--background needs two numbers LOW HIGH, got {list(self.background)}")
        self.background = [float(level) for level in self.background]
        self.overrides = _overrides(self.cot_overrides)
        try:
            check_settings(
                self.spec(),
                num_train=self.num_train,
                num_test=self.num_test,
                video_tasks=self.video_tasks,
                image_tasks=self.image_tasks,
                image_fraction=self.image_fraction,
                test_image_fraction=self.test_image_fraction,
                num_cot=self.num_cot,
                cot_overrides=self.overrides,
                test_cue_agreement=self.test_cue_agreement,
            )
        except ValueError as err:
            raise ValueError(_as_flags(str(err))) from None

    def spec(self) -> SyntheticSpec:
        """The rendering settings (the fields shared with :class:`SyntheticSpec`)."""
        return SyntheticSpec(
            num_frames=self.num_frames,
            fps=self.fps,
            size=self.size,
            image_size=self.image_size,
            noise=self.noise,
            square_min=self.square_min,
            square_max=self.square_max,
            min_speed=self.min_speed,
            qp=self.qp,
            max_speed=self.max_speed,
            background=tuple(self.background),
            colours=tuple(self.colours),
            shortcut_cue=self.shortcut_cue,
            cue_agreement=self.cue_agreement,
        )

    def synthetic_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``make_synthetic`` besides ``output_dir``."""
        return {
            "num_train": self.num_train,
            "num_test": self.num_test,
            "seed": self.seed,
            "num_frames": self.num_frames,
            "fps": self.fps,
            "size": self.size,
            "image_size": self.image_size,
            "video_tasks": self.video_tasks,
            "image_tasks": self.image_tasks,
            "image_fraction": self.image_fraction,
            "test_image_fraction": self.test_image_fraction,
            "noise": self.noise,
            "square_min": self.square_min,
            "square_max": self.square_max,
            "min_speed": self.min_speed,
            "qp": self.qp,
            "max_speed": self.max_speed,
            "background": tuple(self.background),
            "colours": tuple(self.colours),
            "shortcut_cue": self.shortcut_cue,
            "cue_agreement": self.cue_agreement,
            "test_cue_agreement": self.test_cue_agreement,
            "num_cot": self.num_cot,
            "cot_overrides": self.overrides,
            "progress": not self.no_progress,
        }


def _tasks(value: list[str] | str, known: tuple[str, ...], flag: str) -> list[str]:
    """The selected tasks: ``[]`` for ``none`` (or an empty list in a --config file); unknown names refused."""
    names = [value] if isinstance(value, str) else list(value)
    if names == [NO_TASKS]:
        return []
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"{flag}: unknown task(s) {', '.join(unknown)}; choose from {' '.join(known)} (or '{NO_TASKS}')"
        )
    return names


def _overrides(value: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``--cot_overrides`` as a dict: a JSON object on the command line, a mapping in a --config file."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else dict(value)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise ValueError(f"--cot_overrides {value!r} is not valid JSON ({err.msg})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"--cot_overrides {value!r} must be a JSON object, e.g. '{{\"min_speed\": 4.0}}'")
    return parsed


def _as_flags(message: str) -> str:
    """A ``make_synthetic`` check's message in flag terms: ``size=50: ...`` -> ``--size=50: ...``.

    A message about the CoT split names ``--cot_overrides``; the setting names inside it are its JSON keys.
    """
    if message.startswith("cot_overrides"):
        return f"--{message}"
    names = "|".join(MakeSyntheticArguments.__dataclass_fields__)
    return re.sub(rf"(?<![\w-])({names})=", r"--\1=", message)


#: Flags that take several values; given twice, their values add up (``--video_tasks a --video_tasks b``).
REPEATABLE = ["--video_tasks", "--video-tasks", "--image_tasks", "--image-tasks", "--colours"]
_TASK_FLAGS = ("--video_tasks", "--video-tasks", "--image_tasks", "--image-tasks")

PROG = "video-r1 make-synthetic"
HELP = "write the synthetic frame-order video/image dataset (Video-R1 record format)"
DESCRIPTION = (
    "Write train.json (RL records, videos and images mixed), cot.json (the same records with a short <think> "
    "process for SFT, or with --num_cot a split of its own) and test.json (held-out ids) plus videos/*.mp4 and "
    "images/*.png under OUTPUT_DIR. Video questions are two-option multiple choice answerable only from frame "
    "order (shuffled frames give chance, 0.5). The same arguments always give identical files."
)


def build_parser():
    return _build(PROG, [MakeSyntheticArguments], DESCRIPTION)


def _bare_task_flags(argv: list[str]) -> list[str]:
    """``--video_tasks`` with no value (no tasks of that kind, as the flag always meant) -> ``--video_tasks none``."""
    out: list[str] = []
    for index, arg in enumerate(argv):
        out.append(arg)
        if arg in _TASK_FLAGS and (index + 1 == len(argv) or argv[index + 1].startswith("--")):
            out.append(NO_TASKS)
    return out


def main(argv: list[str]) -> int:
    from video_r1.data.synthetic import make_synthetic

    (args,) = parse_command(
        PROG,
        [MakeSyntheticArguments],
        _bare_task_flags(list(argv)),
        description=DESCRIPTION,
        repeatable=REPEATABLE,
    )
    start = time.perf_counter()
    paths = make_synthetic(args.output_dir, **args.synthetic_kwargs())
    elapsed = time.perf_counter() - start
    print(f"synthetic dataset written to {paths['root']} in {elapsed:.1f} s")
    for name in ("train", "cot", "test"):
        records = json.loads(paths[name].read_text(encoding="utf-8"))
        counts = Counter(record["data_source"].removeprefix("synthetic/") for record in records)
        summary = ", ".join(f"{task} {count}" for task, count in sorted(counts.items()))
        cued = [record["cue_agrees"] for record in records if "cue_agrees" in record]
        cue = f"; shortcut cue agrees on {sum(cued)} of {len(cued)}" if cued else ""
        print(f"  {paths[name]}: {len(records)} records ({summary}{cue})")
    return 0
