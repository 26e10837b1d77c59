"""``video-r1 eval``: generate, score and aggregate over benchmarks x frame counts, resumably.

For each frame count (``--max_frames``) and benchmark, the runner

1. reads the benchmark's records (JSON array or JSON Lines, told apart by content; the original crashed on
   JSONL) and checks each one on its own: a malformed record (e.g. no ``problem_type``; the original crashed
   on it) becomes an error entry for that sample only, with a message naming the record id, file and line;
2. skips samples already in ``{output_dir}/{benchmark}_{frames}f.jsonl`` (a resumed run), generates the rest
   with the chosen backend (prompt variant ``"eval"``, vision preset ``config.vision_preset``, ``eval`` by default, with ``max_frames``), scores
   each output (:func:`video_r1.evaluation.scoring.score`) and appends one line per sample as soon as its
   batch finishes (flushed and fsync-ed; a kill loses at most the batch in flight);
3. aggregates over every sample of the file that belongs to this run's selection (not only the new ones,
   unlike the original): the paper-comparable numbers (:func:`video_r1.evaluation.scoring.aggregate`) and,
   beside them, the benchmark's official metric (:mod:`video_r1.evaluation.official`);
4. marks the benchmark ``failed`` when every sample, or more than ``max_error_fraction`` of them, are
   errors: its scores are then withheld (None), never printed as if the samples had been scored.

Data flows one way: the runner computes the settings and summaries and hands them to
:mod:`video_r1.evaluation.report`, which only formats them.

Each results line holds the record's fields plus ``key``, ``benchmark``, ``frames``, ``output``,
``prediction`` (the extracted answer), ``reward``, ``correct`` (reward == 1.0), ``process``
(``"<think>...</think>"`` when present), ``error``, ``sample_fps`` and ``num_tokens``.

A sidecar ``{benchmark}_{frames}f.settings.json`` records the settings that produced the file; resuming with
a different model or decoding refuses to mix them.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from video_r1.errors import MissingFileError, UserError
from video_r1.evaluation.benchmarks import Benchmark, benchmark_file
from video_r1.evaluation.config import DEFAULT_MAX_ERROR_FRACTION, EvalConfig
from video_r1.evaluation.official import official_metric
from video_r1.evaluation.samples import load_benchmark_samples
from video_r1.evaluation.scoring import (
    UNSCORED_PROBLEM_TYPES,
    aggregate,
    extract_prediction,
    extract_process,
    score,
)
from video_r1.resumable import ResultsFile, atomic_write_json, is_error_row

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_ERROR_FRACTION",
    "EvalConfig",
    "SettingsMismatchError",
    "results_path",
    "run_eval",
    "run_settings",
    "score_result",
]

#: Fields the runner writes on every line; a record field with the same name is overwritten.
RESULT_FIELDS = (
    "key",
    "benchmark",
    "frames",
    "output",
    "prediction",
    "reward",
    "correct",
    "process",
    "error",
    "sample_fps",
    "num_tokens",
)

#: Settings that must agree between a results file and the run that resumes it.
RESUME_CRITICAL_SETTINGS = (
    "model",
    "temperature",
    "top_p",
    "max_new_tokens",
    "seed",
    "temporal_rope",
    "variant",
    "preset",
)
#: Settings that may change between runs of one file (a warning is printed).
RESUME_SOFT_SETTINGS = ("backend", "dtype", "video_backend", "batch_size")

PROMPT_VARIANT = "eval"


class SettingsMismatchError(UserError, RuntimeError):
    """A results file was produced with other settings (model, decoding, preset) than this run's."""


# ----------------------------------------------------------------------------------------------------
# Scoring one result


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def score_result(
    record: Mapping[str, Any],
    *,
    key: str,
    benchmark: str,
    frames: int,
    output: str | None,
    error: str | None,
    sample_fps: float | None = None,
    num_tokens: int | None = None,
) -> dict[str, Any]:
    """The results line of one sample: record fields + output, prediction, reward, correct, process, error.

    A sample with an ``error`` (no output) scores 0.0. A scoring failure (e.g. a record without
    ``problem_type``) is recorded as that sample's error, never raised.
    """
    row = {name: value for name, value in record.items() if name not in RESULT_FIELDS}
    reward = 0.0
    prediction = process = None
    if error is None and output is None:
        error = "no output and no error from the backend"
    if error is None:
        prediction = extract_prediction(output)
        process = extract_process(output)
        problem_type = record.get("problem_type")
        if not isinstance(problem_type, str):
            error = (
                f"RecordError: record problem_id={record.get('problem_id')!r} ({record.get('path')!r}) has "
                f"no usable 'problem_type' ({problem_type!r}); cannot score it"
            )
        else:
            try:
                reward = score(output, record.get("solution", ""), problem_type)
            except Exception as err:  # one sample's failure; the benchmark goes on
                error = f"scoring failed: {type(err).__name__}: {err}"
                reward = 0.0
    row.update(
        key=key,
        benchmark=benchmark,
        frames=frames,
        output=output,
        prediction=prediction,
        reward=float(reward),
        correct=reward == 1.0,
        process=process,
        error=error,
        sample_fps=_json_safe(sample_fps),
        num_tokens=num_tokens,
    )
    return row


# ----------------------------------------------------------------------------------------------------
# Settings of a results file


def results_path(output_dir: str | os.PathLike[str], benchmark: str, frames: int) -> Path:
    """``{output_dir}/{benchmark}_{frames}f.jsonl``."""
    return Path(output_dir) / f"{benchmark}_{frames}f.jsonl"


def _settings_path(results: Path) -> Path:
    return results.with_name(results.name.removesuffix(".jsonl") + ".settings.json")


def _model_id(model_path: str | None) -> str | None:
    if model_path is None:
        return None
    return str(Path(model_path).resolve()) if Path(model_path).exists() else model_path


def run_settings(config: EvalConfig, frames: int | None = None) -> dict[str, Any]:
    """The settings recorded in ``results.json`` and beside every results file."""
    from video_r1.data.vision import get_preset

    settings: dict[str, Any] = {
        "model": _model_id(config.model_name_or_path),
        "backend": config.backend,
        "dtype": config.dtype,
        "batch_size": config.effective_batch_size(),
        "temperature": config.temperature,
        "top_p": config.top_p,
        "max_new_tokens": config.max_new_tokens,
        "seed": config.seed,
        "temporal_rope": config.temporal_rope,
        "video_backend": config.video_backend,
        "variant": PROMPT_VARIANT,
    }
    if frames is not None:
        preset = get_preset(
            config.vision_preset,
            max_frames=frames,
            video_backend=config.video_backend,
            size_factor=_size_factor(config.model_name_or_path),
        )
        settings["preset"] = asdict(preset)
        settings["preset"].pop("video_backend")
    return settings


def _size_factor(model_name_or_path: str) -> int | None:
    """The model family's frame/image side multiple (28 Qwen2.5-VL, 32 Qwen3-VL); None when the path cannot be
    read here (the backend reports that error when it loads the model)."""
    from video_r1.errors import ModelPathError
    from video_r1.models.family import family_for

    try:
        return family_for(str(model_name_or_path)).size_factor
    except ModelPathError:
        return None


def _check_settings(results: Path, settings: Mapping[str, Any], has_rows: bool) -> None:
    """Refuse to resume a file produced with other critical settings; warn on soft differences."""
    sidecar = _settings_path(results)
    if sidecar.is_file():
        previous = json.loads(sidecar.read_text(encoding="utf-8"))
        critical = [
            f"{name}: file {previous.get(name)!r} vs now {settings.get(name)!r}"
            for name in RESUME_CRITICAL_SETTINGS
            if previous.get(name) != settings.get(name)
        ]
        if critical and has_rows:
            raise SettingsMismatchError(
                f"{results} was written with other settings ({'; '.join(critical)}); resuming would mix "
                "them. Use another --output_dir, or delete the file and its .settings.json to start over."
            )
        for name in RESUME_SOFT_SETTINGS:
            if has_rows and previous.get(name) != settings.get(name):
                logger.warning(
                    "%s: resuming with %s=%r (file started with %r)",
                    results,
                    name,
                    settings.get(name),
                    previous.get(name),
                )
    elif has_rows:
        logger.warning(
            "%s has no %s; cannot check that it was produced with the same settings", results, sidecar.name
        )
    atomic_write_json(sidecar, dict(settings))


# ----------------------------------------------------------------------------------------------------
# The run


BackendFactory = Callable[[int], Any]


def _make_backend_factory(config: EvalConfig) -> BackendFactory:
    """A function building the backend for a frame count (the model is loaded once per run)."""
    state: dict[str, Any] = {}

    def factory(frames: int):
        from video_r1.data.vision import get_preset

        preset = get_preset(config.vision_preset, max_frames=frames, video_backend=config.video_backend)
        backend = state.get("backend")
        if backend is None:
            backend = state["backend"] = config.load_backend(preset, config.effective_batch_size())
        else:
            # One model for every frame count: only the vision preset changes (frames are decoded by the
            # backend with its ``preset`` before each batch), sized for the model's family as the first one.
            family = getattr(backend, "family", None)
            backend.preset = get_preset(preset, size_factor=getattr(family, "size_factor", None))
        return backend

    factory.state = state  # type: ignore[attr-defined]
    return factory


def _close_factory(factory: BackendFactory) -> None:
    backend = getattr(factory, "state", {}).get("backend")
    if backend is not None:
        backend.close()


def evaluate_benchmark(
    config: EvalConfig,
    bench: Benchmark,
    frames: int,
    get_backend: BackendFactory,
) -> dict[str, Any]:
    """Generate the missing samples of one benchmark at one frame count and aggregate the whole file."""

    records_file, samples = load_benchmark_samples(
        bench,
        eval_dir=config.eval_dir,
        data_root=config.data_root,
        limit=config.limit,
        allow_parent_traversal=config.allow_parent_traversal,
    )
    out_path = results_path(config.output_dir, bench.name, frames)
    results = ResultsFile(out_path, key_field="key")
    if config.retry_errors:
        results.drop_errors()
    settings = run_settings(config, frames)
    settings["records_file"] = str(records_file.resolve())
    existing = results.records()
    _check_settings(out_path, settings, has_rows=bool(existing))
    done = {row["key"] for row in existing}

    unscored = Counter(
        s.record.get("problem_type")
        for s in samples
        if s.record.get("problem_type") in UNSCORED_PROBLEM_TYPES
    )
    for problem_type, count in unscored.items():
        logger.warning(
            "%s: %d %s samples always score 0 (the original's eval has no rule for them)",
            bench.name,
            count,
            problem_type,
        )

    pending = [s for s in samples if s.key not in done]
    label = f"{bench.display} {frames}f"
    if len(pending) < len(samples):
        logger.info(
            "%s: %d of %d samples already in %s", label, len(samples) - len(pending), len(samples), out_path
        )

    by_key = {s.key: s for s in pending}
    for sample in pending:
        if sample.error is not None:
            logger.warning("%s: sample %s: %s", label, sample.key, sample.error)
            results.append(
                score_result(
                    sample.record,
                    key=sample.key,
                    benchmark=bench.name,
                    frames=frames,
                    output=None,
                    error=sample.error,
                )
            )
    requestable = [s for s in pending if s.error is None]
    if requestable:
        from video_r1.inference import GenerationRequest

        backend = get_backend(frames)
        requests = [
            GenerationRequest(key=s.key, record=s.record, variant=PROMPT_VARIANT) for s in requestable
        ]
        for result in backend.iter_generate(requests, progress=label if config.progress else False):
            sample = by_key[result.key]
            results.append(
                score_result(
                    sample.record,
                    key=sample.key,
                    benchmark=bench.name,
                    frames=frames,
                    output=result.output,
                    error=result.error,
                    sample_fps=result.sample_fps,
                    num_tokens=result.num_tokens,
                )
            )

    selected = {s.key for s in samples}
    rows = results.records()
    extra = [row for row in rows if row["key"] not in selected]
    if extra:
        logger.warning(
            "%s: %d lines of %s are not in this run's selection (e.g. written by a run without --limit) and "
            "are left out of the aggregates",
            label,
            len(extra),
            out_path,
        )
    rows = [row for row in rows if row["key"] in selected]
    missing = selected - {row["key"] for row in rows}
    if missing:  # cannot happen unless the file is edited concurrently
        raise RuntimeError(f"{out_path}: {len(missing)} samples have no result line after the run")
    summary = aggregate(rows, headline=bench.headline)
    summary["official"] = official_metric(bench.official, rows)
    _apply_error_limit(summary, rows, config.max_error_fraction, label)
    summary["results_file"] = str(out_path)
    summary["records_file"] = str(records_file)
    return summary


#: Score fields withheld from a failed benchmark's summary.
_SCORE_FIELDS = ("mean_acc", "mean_mra", "score", "per_task")


def _apply_error_limit(
    summary: dict[str, Any], rows: Sequence[Mapping[str, Any]], max_error_fraction: float, label: str
) -> None:
    """Set ``status`` ("ok" or "failed") and ``failure``; withhold every score of a failed benchmark."""
    n, n_errors = summary["n"], summary["n_errors"]
    summary["error_fraction"] = n_errors / n if n else 0.0
    first_errors = list(dict.fromkeys(str(row["error"]) for row in rows if is_error_row(row)))[:3]
    summary["first_errors"] = first_errors
    failure = None
    if n and n_errors == n:
        failure = f"{label}: all {n} samples are errors"
    elif summary["error_fraction"] > max_error_fraction:
        failure = (
            f"{label}: {n_errors} of {n} samples are errors ({100 * summary['error_fraction']:.1f}%), "
            f"more than --max_error_fraction {max_error_fraction:g}"
        )
    summary["status"] = "ok" if failure is None else "failed"
    summary["failure"] = failure
    if failure is None:
        return
    for name in _SCORE_FIELDS:
        summary[name] = None
    if summary.get("official") is not None:
        summary["official"]["score"] = None
        summary["official"]["breakdown"] = None
    summary["notes"].insert(0, f"FAILED, no score: {failure}; first error: {first_errors[0]}")
    logger.error("%s; first error: %s", failure, first_errors[0])


def resolve_benchmarks(config: EvalConfig) -> list[Benchmark]:
    """The selected benchmarks, checked up front (unknown names and missing files fail before any model loads)."""
    benches = [config.benchmark(name) for name in config.benchmarks]
    missing = []
    for bench in benches:
        try:
            path = benchmark_file(bench, config.eval_dir)
        except ValueError as err:
            missing.append(str(err))
            continue
        if not path.is_file():
            missing.append(f"{bench.name}: {path}")
    if missing:
        raise MissingFileError(
            "benchmark records not found (get them from the Hugging Face dataset Video-R1/Video-R1-eval, see "
            "evaluation/README.md, or pass --eval_dir / --benchmark_file):\n  " + "\n  ".join(missing)
        )
    return benches


def run_eval(config: EvalConfig, backend_factory: BackendFactory | None = None) -> dict[str, Any]:
    """Run every selected benchmark at every frame count, then write ``results.json`` and ``results.md``.

    Returns the ``results.json`` content. ``backend_factory(frames)`` may be given to supply a backend
    (tests); by default the model is loaded once, lazily, on the first sample that needs generating.
    """
    from video_r1.evaluation.report import build_results, write_reports

    if not 0.0 <= config.max_error_fraction <= 1.0:
        raise ValueError(f"max_error_fraction must be in [0, 1], got {config.max_error_fraction}")
    if config.model_name_or_path is None:
        raise ValueError("--model_name_or_path is required to evaluate (only --check runs without a model)")
    benches = resolve_benchmarks(config)
    Path(config.output_dir).mkdir(parents=True, exist_ok=True)
    factory = backend_factory or _make_backend_factory(config)
    summaries: dict[str, dict[int, dict[str, Any]]] = {bench.name: {} for bench in benches}
    try:
        for frames in config.max_frames:
            for bench in benches:
                summaries[bench.name][frames] = evaluate_benchmark(config, bench, frames, factory)
    finally:
        if backend_factory is None:
            _close_factory(factory)
    results = build_results(results_settings(config), benches, summaries)
    write_reports(results, config.output_dir, compare=config.compare)
    return results


def results_settings(config: EvalConfig) -> dict[str, Any]:
    """The ``settings`` block of ``results.json``: :func:`run_settings` plus frames, presets and selection."""
    settings = run_settings(config)
    settings.update(
        frames=list(config.max_frames),
        preset=config.vision_preset,
        preset_settings={str(frames): run_settings(config, frames)["preset"] for frames in config.max_frames},
        limit=config.limit,
        eval_dir=None if config.eval_dir is None else str(Path(config.eval_dir).resolve()),
        max_error_fraction=config.max_error_fraction,
    )
    return settings
