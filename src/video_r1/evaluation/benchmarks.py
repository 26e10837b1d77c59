"""The six video benchmarks of the Video-R1 paper and the published Video-R1-7B numbers.

The original's ``eval_bench.py`` reads ``./src/r1-v/Evaluation/eval_{name}.json`` (the files of the Hugging
Face dataset ``Video-R1/Video-R1-eval``); every record's ``path`` is ``"./<Benchmark>/..."`` relative to that
folder. Here the folder is ``--eval_dir`` and the file names are the same.

Column order is the paper's table: VSI-Bench, VideoMMMU, MMVU, MVBench, TempCompass, VideoMME (the
original's loop order was mvbench, tempcompass, videomme, videommmu, vsibench, mmvu).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from video_r1.errors import UsageError

__all__ = [
    "BENCHMARKS",
    "BENCHMARK_NAMES",
    "PUBLISHED",
    "Benchmark",
    "PublishedRow",
    "benchmark_file",
    "get_benchmark",
]


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: registry name, display name, headline rule and where its records live."""

    #: Registry / file name (``eval_{name}.json``).
    name: str
    #: Name used in tables (the paper's column header).
    display: str
    #: ``"acc"`` (headline = mean_acc) or ``"acc_mra"`` (VSI-Bench: (mean_acc + mean_mra) / 2).
    headline: str = "acc"
    #: Official metric reported beside the headline: a key of
    #: :data:`video_r1.evaluation.official.OFFICIAL_METRICS`, or None.
    official: str | None = None
    #: Where its videos come from (for the README and ``--check`` hints).
    source: str = ""
    #: Number of records of the released ``eval_{name}.json`` where it is known (``--check`` compares);
    #: None = not confirmed.
    expected_records: int | None = None
    #: Explicit records file (custom benchmarks); None = ``{eval_dir}/eval_{name}.json``.
    file: str | None = None
    #: Folder the records' relative ``path`` values resolve against; None = the eval dir (registry
    #: benchmarks) or the records file's folder (custom benchmarks).
    data_root: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


BENCHMARKS: dict[str, Benchmark] = {
    bench.name: bench
    for bench in (
        Benchmark(
            "vsibench",
            "VSI-Bench",
            headline="acc_mra",
            official="vsibench",
            source="nyu-visionx/VSI-Bench (Hugging Face dataset; ScanNet/ScanNet++/ARKitScenes videos)",
        ),
        Benchmark(
            "videommmu",
            "VideoMMMU",
            official="videommmu",
            source="lmms-eval/VideoMMMU (formerly lmms-lab/VideoMMMU); the Video-R1 file uses question_only/ clips",
        ),
        Benchmark(
            "mmvu",
            "MMVU",
            source="yale-nlp/MMVU (Hugging Face dataset); the Video-R1 file is the multiple-choice subset",
        ),
        Benchmark(
            "mvbench",
            "MVBench",
            official="mvbench",
            source="OpenGVLab/MVBench (Hugging Face dataset; unclipped videos; ssv2 clips ship as .webm)",
        ),
        Benchmark(
            "tempcompass",
            "TempCompass",
            source="lmms-eval/TempCompass (formerly lmms-lab/TempCompass)",
        ),
        Benchmark(
            "videomme",
            "VideoMME",
            official="videomme",
            source="lmms-eval/Video-MME (formerly lmms-lab/Video-MME); evaluated without subtitles",
            # problem ids 1..2700 per the authors (reference issue #52): 900 videos x 3 questions.
            expected_records=2700,
        ),
    )
}

#: Registry names in the paper's column order.
BENCHMARK_NAMES: tuple[str, ...] = tuple(BENCHMARKS)

#: File name patterns tried under ``--eval_dir``, in order (the release ships ``.json``).
FILE_PATTERNS: tuple[str, ...] = ("eval_{name}.json", "eval_{name}.jsonl")


def get_benchmark(name: str, custom: dict[str, Benchmark] | None = None) -> Benchmark:
    """A benchmark by registry name, or one registered with ``--benchmark_file``."""
    if custom and name in custom:
        return custom[name]
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = list(BENCHMARK_NAMES) + sorted(custom or {})
        raise ValueError(
            f"unknown benchmark {name!r}; known: {', '.join(known)} "
            "(register another one with --benchmark_file NAME=PATH)"
        ) from None


def benchmark_file(bench: Benchmark, eval_dir: str | os.PathLike[str] | None) -> Path:
    """The records file of ``bench``: its explicit file, else the first existing ``eval_{name}.json[l]``.

    When none exists, the ``.json`` path is returned (callers report it as missing).
    """
    if bench.file is not None:
        return Path(bench.file)
    if eval_dir is None:
        raise UsageError(f"benchmark {bench.name!r}: no --eval_dir given to find eval_{bench.name}.json in")
    candidates = [Path(eval_dir) / pattern.format(name=bench.name) for pattern in FILE_PATTERNS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def benchmark_data_root(
    bench: Benchmark, eval_dir: str | os.PathLike[str] | None, data_root: str | None
) -> Path:
    """Folder the records' relative paths resolve against (absolute).

    ``--data_root`` wins for every benchmark; otherwise registry benchmarks use the eval dir (as the
    original: ``Evaluation/`` + ``path[1:]``) and custom ones the folder of their file.
    """
    if data_root is not None:
        return Path(data_root).resolve()
    if bench.data_root is not None:
        return Path(bench.data_root).resolve()
    if bench.file is not None:
        return Path(bench.file).resolve().parent
    if eval_dir is None:
        raise UsageError(f"benchmark {bench.name!r}: neither --data_root nor --eval_dir given")
    return Path(eval_dir).resolve()


@dataclass(frozen=True)
class PublishedRow:
    """One row of the original's published table (scores in percent)."""

    label: str
    frames: int | None
    scores: dict[str, float]
    source: str


#: Published Video-R1-7B results (docs/original-behaviour.md §9). VSI = (acc + MRA) / 2, VideoMME without
#: subtitles, MMVU = multiple-choice subset. ``frames`` is None for rows that are not a plain frame setting.
PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow(
        "Video-R1-7B, 16 frames (published)",
        16,
        {
            "vsibench": 34.6,
            "videommmu": 49.8,
            "mmvu": 64.2,
            "mvbench": 62.7,
            "tempcompass": 72.6,
            "videomme": 57.4,
        },
        "issue #65 ('Repo' row) and issue #11 (VideoMME 57.4 at 16 frames)",
    ),
    PublishedRow(
        "Video-R1-7B, 32 frames (published)",
        32,
        {
            "vsibench": 35.8,
            "videommmu": 52.3,
            "mmvu": 63.8,
            "mvbench": 63.9,
            "tempcompass": 73.2,
            "videomme": 59.3,
        },
        "README headline (paper v1; VSI-Bench 35.8) and third-party tables; issue #11 (VideoMME 59.3)",
    ),
    PublishedRow(
        "Video-R1-7B, 64 frames (published)",
        64,
        {
            "vsibench": 37.1,
            "videommmu": 52.4,
            "mmvu": 63.8,
            "mvbench": 64.8,
            "tempcompass": 73.2,
            "videomme": 61.4,
        },
        "later paper version (third-party digest)",
    ),
    PublishedRow(
        "Video-R1-7B, 64 frames, 10k RL steps (published)",
        None,
        {
            "vsibench": 37.8,
            "videommmu": 51.4,
            "mmvu": 65.0,
            "mvbench": 65.5,
            "tempcompass": 74.2,
            "videomme": 61.8,
        },
        "later paper version (third-party digest)",
    ),
)


def published_for_frames(frames: int) -> PublishedRow | None:
    """The published plain row for a frame count (16, 32 or 64), else None."""
    for row in PUBLISHED:
        if row.frames == frames:
            return row
    return None
