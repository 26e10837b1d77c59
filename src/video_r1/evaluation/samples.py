"""A benchmark's records, read and checked one by one (used by the runner and by ``--check``).

Each record is validated with :func:`video_r1.data.records.validate_record`, i.e. only for what generation
and scoring need (``problem_id``, ``problem``, ``data_type``, ``problem_type``, ``options`` for multiple
choice, ``solution``, ``path``); ``data_source`` and benchmark-specific fields (VSI-Bench's
``original_question_type``, TempCompass's ``video_id``, ...) are optional and kept as they are. A malformed
record becomes an :class:`EvalSample` with an ``error`` naming the record id, file and line, so one bad
record costs one sample, not the benchmark.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from video_r1.data.records import RecordError, read_records, resolve_media_path, validate_record
from video_r1.errors import MissingFileError
from video_r1.evaluation.benchmarks import Benchmark, benchmark_data_root, benchmark_file

__all__ = ["EvalSample", "load_benchmark_samples", "sample_keys"]


@dataclass
class EvalSample:
    """One record of a benchmark file, ready to request or already known to be broken."""

    key: str
    #: The record as read (validated and with ``media_path`` when ``error`` is None; raw fields otherwise).
    record: dict[str, Any]
    #: Why the record cannot be evaluated (a ``RecordError`` message naming id, file and line), or None.
    error: str | None = None


def sample_keys(raw_records: Sequence[tuple[int, Any]]) -> list[str]:
    """Stable unique keys in file order: ``str(problem_id)``, ``"<id>#<n>"`` for the n-th repeat of an id,
    ``"line<L>"`` for records without a usable id."""
    keys: list[str] = []
    seen: Counter[str] = Counter()
    for line, raw in raw_records:
        pid = raw.get("problem_id") if isinstance(raw, Mapping) else None
        base = f"line{line}" if pid is None or isinstance(pid, bool | list | dict) else str(pid)
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    # A literal id such as "7#2" could collide with the generated repeat key of id 7.
    if len(set(keys)) != len(keys):
        keys = [f"{key}@{line}" for key, (line, _) in zip(keys, raw_records, strict=True)]
    return keys


def load_benchmark_samples(
    bench: Benchmark,
    *,
    eval_dir: str | os.PathLike[str] | None,
    data_root: str | None = None,
    limit: int | None = None,
    allow_parent_traversal: bool = False,
) -> tuple[Path, list[EvalSample]]:
    """Read and check a benchmark's records; malformed ones become samples with an ``error``.

    Raises ``FileNotFoundError`` when the benchmark file is missing and :class:`RecordError` when the file
    itself is not valid JSON (nothing can be evaluated from it then).
    """
    path = benchmark_file(bench, eval_dir)
    if not path.is_file():
        hint = (
            f"; download eval_{bench.name}.json from the Hugging Face dataset Video-R1/Video-R1-eval "
            "(see evaluation/README.md)"
            if bench.file is None
            else ""
        )
        raise MissingFileError(f"benchmark {bench.name!r}: records file {path} does not exist{hint}")
    root = benchmark_data_root(bench, eval_dir, data_root)
    raw_records = read_records(path)
    if limit is not None:
        raw_records = raw_records[:limit]
    keys = sample_keys(raw_records)
    samples: list[EvalSample] = []
    for key, (line, raw) in zip(keys, raw_records, strict=True):
        try:
            record = validate_record(raw, file=path.resolve(), line=line)
            try:
                record["media_path"] = resolve_media_path(
                    record["path"], root, allow_parent_traversal=allow_parent_traversal
                )
            except ValueError as err:  # named like load_records names it: file, line, record, field
                raise RecordError(
                    str(err),
                    file=str(path.resolve()),
                    line=line,
                    problem_id=record["problem_id"],
                    field="path",
                ) from None
        except (RecordError, ValueError) as err:
            fields = dict(raw) if isinstance(raw, Mapping) else {"raw_record": raw}
            samples.append(EvalSample(key, fields, error=f"{type(err).__name__}: {err}"))
            continue
        samples.append(EvalSample(key, record))
    return path, samples
