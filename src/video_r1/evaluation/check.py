"""``video-r1 eval --check``: find missing or unreadable benchmark media before loading any model.

Every record's media file is checked once (many questions share one video): it must exist, be a
non-empty readable regular file (:func:`~video_r1.data.media_errors.check_media_file`) and, for MP4/MOV, have a
complete box structure (:func:`~video_r1.data.media_errors.mp4_truncation_reason`). With ``decode=True`` each
file is also decoded with the evaluation preset (slow: seconds per long video). Malformed records and
missing benchmark files are reported too. A missing file with a same-named file in another container next
to it (MVBench's ssv2 ``.webm`` clips, named ``.mp4`` in the records) is reported as kind
``other_container`` with the alternative's name; ``video-r1 eval --convert_media`` converts those
(:mod:`video_r1.evaluation.convert`). A benchmark whose record count differs from the released file's
known count (:attr:`~video_r1.evaluation.benchmarks.Benchmark.expected_records`) gets a ``record_count``
line (a warning: it does not make ``--check`` fail).

``{output_dir}/missing_media.txt`` gets one tab-separated line per problem:
``benchmark  kind  path  records  reason`` (``records`` = how many questions use the file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from video_r1.data.media_errors import MediaError, check_media_file, mp4_truncation_reason
from video_r1.evaluation.benchmarks import Benchmark, benchmark_file
from video_r1.evaluation.convert import find_alternatives
from video_r1.evaluation.samples import load_benchmark_samples

__all__ = ["MISSING_MEDIA_FILE", "OTHER_CONTAINER", "RECORD_COUNT", "CheckProblem", "check_benchmarks"]

MISSING_MEDIA_FILE = "missing_media.txt"
#: Kind of a missing file that exists in another container (convertible with ``--convert_media``).
OTHER_CONTAINER = "other_container"
#: Kind of a record count that differs from the released file's (a warning: the file may be another release).
RECORD_COUNT = "record_count"
#: Problem kinds that are not about one media file.
_NOT_MEDIA = ("record", "benchmark_file", RECORD_COUNT)
_MP4_SUFFIXES = (".mp4", ".m4v", ".mov")


@dataclass
class CheckProblem:
    benchmark: str
    kind: str
    path: str
    reason: str
    records: int = 1

    def line(self) -> str:
        return "\t".join(
            [self.benchmark, self.kind, self.path, str(self.records), " ".join(self.reason.split())]
        )


@dataclass
class BenchmarkCheck:
    name: str
    display: str
    records_file: str
    n_records: int = 0
    n_files: int = 0
    problems: list[CheckProblem] = field(default_factory=list)
    #: Every distinct media path of the benchmark's valid records, in first-use order.
    media_paths: list[str] = field(default_factory=list)

    @property
    def n_bad_files(self) -> int:
        return sum(problem.kind not in _NOT_MEDIA for problem in self.problems)


def _check_file(
    path: str, decode: bool, frames: int, video_backend: str, data_type: str
) -> tuple[str, str] | None:
    """(kind, reason) when the file is unusable, else None."""
    try:
        checked = check_media_file(path)
        if checked.suffix.lower() in _MP4_SUFFIXES:
            truncated = mp4_truncation_reason(checked)
            if truncated is not None:
                return "truncated", truncated
        if decode:
            from video_r1.data import vision

            if data_type == "video":
                vision.load_video(
                    checked, vision.get_preset("eval", max_frames=frames), backend=video_backend
                )
            else:
                vision.load_image(checked, "eval")
    except MediaError as err:
        if err.kind == "missing":
            alternatives = find_alternatives(path)
            if alternatives:
                names = ", ".join(alternative.name for alternative in alternatives)
                return OTHER_CONTAINER, (
                    f"file not found, but the same video exists in another container: {names} "
                    "(convert it with video-r1 eval --convert_media)"
                )
        return err.kind, err.reason
    except OSError as err:
        return "unreadable", f"{type(err).__name__}: {err}"
    return None


def check_benchmarks(
    benches: Sequence[Benchmark],
    *,
    eval_dir: str | os.PathLike[str] | None,
    data_root: str | None,
    output_dir: str | os.PathLike[str],
    limit: int | None = None,
    decode: bool = False,
    frames: int = 32,
    video_backend: str = "decord",
    progress: bool = True,
    allow_parent_traversal: bool = False,
) -> tuple[list[BenchmarkCheck], Path]:
    """Check the media of every selected benchmark; write ``missing_media.txt``; return the per-benchmark
    summaries and the file written."""
    from tqdm.auto import tqdm

    checks: list[BenchmarkCheck] = []
    for bench in benches:
        try:
            path = benchmark_file(bench, eval_dir)
        except ValueError as err:
            check = BenchmarkCheck(bench.name, bench.display, "")
            check.problems.append(CheckProblem(bench.name, "benchmark_file", "", str(err), 0))
            checks.append(check)
            continue
        check = BenchmarkCheck(bench.name, bench.display, str(path))
        checks.append(check)
        try:
            _, samples = load_benchmark_samples(
                bench,
                eval_dir=eval_dir,
                data_root=data_root,
                limit=limit,
                allow_parent_traversal=allow_parent_traversal,
            )
        except (FileNotFoundError, ValueError) as err:
            check.problems.append(CheckProblem(bench.name, "benchmark_file", str(path), str(err), 0))
            continue
        check.n_records = len(samples)
        if bench.expected_records is not None and limit is None and len(samples) != bench.expected_records:
            check.problems.append(
                CheckProblem(
                    bench.name,
                    RECORD_COUNT,
                    str(path),
                    f"{len(samples)} records, the released eval_{bench.name}.json has {bench.expected_records}",
                    len(samples),
                )
            )
        uses: dict[str, tuple[int, str]] = {}
        for sample in samples:
            if sample.error is not None:
                check.problems.append(CheckProblem(bench.name, "record", str(path), sample.error))
                continue
            media = sample.record["media_path"]
            count, data_type = uses.get(media, (0, sample.record["data_type"]))
            uses[media] = (count + 1, data_type)
        check.n_files = len(uses)
        check.media_paths = list(uses)
        for media, (count, data_type) in tqdm(
            uses.items(), desc=f"check {bench.display}", unit="file", disable=not progress, dynamic_ncols=True
        ):
            bad = _check_file(media, decode, frames, video_backend, data_type)
            if bad is not None:
                check.problems.append(CheckProblem(bench.name, bad[0], media, bad[1], count))

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = out / MISSING_MEDIA_FILE
    with open(report, "w", encoding="utf-8") as handle:
        handle.write("# benchmark\tkind\tpath\trecords\treason\n")
        for check in checks:
            for problem in check.problems:
                handle.write(problem.line() + "\n")
    return checks, report


def format_summary(checks: Sequence[BenchmarkCheck]) -> str:
    """One line per benchmark: records, distinct media files, problems by kind."""
    lines = []
    for check in checks:
        kinds: dict[str, int] = {}
        for problem in check.problems:
            kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
        detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "all present"
        lines.append(
            f"{check.display:<12} {check.n_records:>6} records, {check.n_files:>6} media files: {detail}"
        )
    return "\n".join(lines)
