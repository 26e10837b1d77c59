"""Chain-of-thought annotation: turn a Video-R1-format file into a COT-165k-style SFT file.

The original (``generate_cot_vllm.py``, docs/original-behaviour.md §6) asked Qwen2.5-VL-72B-Instruct each
question with the evaluation wording of the prompt (no system prompt), sampled one completion
(temperature 1.0, top_p 0.95, 512 tokens), scored it with the RL accuracy reward against the record's
solution, and kept a record when ``reward > 0.6``, storing the completion's ``<think>...</think>`` block
as ``process``. This module does the same, with these changes:

- a failure on one sample (e.g. an unreadable video) is recorded for that sample only; the original
  replaced the whole batch of 32 with ``"<answer>error</answer>"``;
- results are appended to ``raw.jsonl`` one line per record (flushed and fsync-ed), so a crash or a
  ``kill -9`` loses nothing already generated, and a restart skips exactly the records already written;
- ``cot.json`` (the SFT file) and ``summary.json`` are rebuilt from ``raw.jsonl`` at the end of every run,
  including resumed ones;
- both vLLM (the original's engine) and HF ``generate`` (CPU, tests) backends, via :mod:`video_r1.inference`.

Outputs in ``output_dir``:

``raw.jsonl``     every processed record: its input fields (without the computed ``media_path``) plus
                  ``key``, ``output``, ``answer`` (extracted), ``reward``, ``select``, ``error``,
                  ``num_tokens`` and ``sample_fps``;
``cot.json``      JSON array of the selected records that have a think block: input fields + ``process``,
                  in input order (COT-165k format; loads with ``load_records(..., require_process=True)``);
``summary.json``  counts (total, done, selected, errors, ...), mean reward, wall time, settings.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from video_r1.errors import UserError
from video_r1.generation import GenerationArguments
from video_r1.resumable import ResultsFile, atomic_write_json, check_output_path, is_error_row
from video_r1.rewards.accuracy import accuracy_reward, extract_answer

logger = logging.getLogger(__name__)

__all__ = [
    "AnnotateConfig",
    "RAW_NAME",
    "COT_NAME",
    "SUMMARY_NAME",
    "annotate",
    "build_cot_records",
    "extract_think",
    "record_keys",
    "score_output",
    "summarize",
]

RAW_NAME = "raw.jsonl"
COT_NAME = "cot.json"
SUMMARY_NAME = "summary.json"
DEFAULT_MODEL = "Qwen/Qwen2.5-VL-72B-Instruct"

#: Fields added to a record in raw.jsonl (never copied into cot.json).
RESULT_FIELDS = ("key", "output", "answer", "reward", "select", "error", "num_tokens", "sample_fps")
#: Fields of a loaded record that are computed by the loader, not part of the input file.
COMPUTED_FIELDS = ("media_path",)

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL)

Scorer = Callable[[str, Mapping[str, Any]], float]


@dataclass
class AnnotateConfig(GenerationArguments):
    """Settings of ``video-r1 annotate`` (sampling defaults: the original ``generate_cot_vllm.py``'s)."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Records to annotate: a Video-R1 JSON array or JSON Lines file.",
            "aliases": ["--input"],
        },
    )
    output_dir: str | None = field(
        default=None,
        metadata={"help": "Where raw.jsonl, cot.json and summary.json go (created).", "aliases": ["--out"]},
    )
    data_root: str | None = field(
        default=None,
        metadata={"help": "Folder the records' 'path' values are relative to (default: the file's folder)."},
    )
    allow_parent_traversal: bool = field(
        default=False,
        metadata={
            "help": "Accept relative media paths whose '..' steps climb out of the data root ('../../x.mp4'); "
            "by default a record stops the run with an error naming it. Absolute paths and symlinked media folders are "
            "always accepted. Old name: --allow_outside_data_root (deprecated).",
            "aliases": ["--allow_outside_data_root", "--allow-outside-data-root"],
        },
    )
    min_reward: float = field(
        default=0.6,
        metadata={
            "help": "Keep a record when its reward is strictly greater than this, in [0, 1) (the original)."
        },
    )
    vision_preset: str | None = field(
        default=None,
        metadata={
            "help": "Vision preset: train (<=16 frames at 2 fps, 128*28*28 px per frame, images 256*28*28; the "
            "original annotated with its training settings, so the CoT describes the frames SFT trains on), eval "
            "(256*28*28 px per frame, 32 frames) or tiny (CPU demo). Default: the preset the model was trained "
            "with when its run recorded one (video_r1_run.json), else train; the choice is printed.",
            "choices": ["train", "eval", "tiny"],
            "aliases": ["--preset"],
        },
    )
    max_frames: int | None = field(
        default=None, metadata={"help": "Override the preset's maximum frame count per video."}
    )
    limit: int | None = field(
        default=None, metadata={"help": "Annotate only the first N records of the file."}
    )
    # ---- sampling defaults of the original generate_cot_vllm.py ----------------------------------------
    model_name_or_path: str | None = field(
        default=DEFAULT_MODEL,
        metadata={
            "help": "Annotating model, local folder or Hub id (the original: Qwen2.5-VL-72B-Instruct).",
            "aliases": ["--model_path"],
        },
    )
    batch_size: int | None = field(
        default=32, metadata={"help": "Records per generation call (the original: 32)."}
    )
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (the original: 1.0)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling mass (the original: 0.95)."})
    max_new_tokens: int = field(
        default=512,
        metadata={
            "help": "Tokens per completion at most (the original: 512; a longer CoT loses its answer tag)."
        },
    )
    max_model_len: int = field(
        default=8192, metadata={"help": "vllm backend: context length (the original: 8192)."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.dataset_name:
            raise ValueError("--dataset_name (the records to annotate) is required")
        if not self.output_dir:
            raise ValueError("--output_dir is required")
        check_output_path(self.output_dir)
        if not 0.0 <= self.min_reward < 1.0:
            raise ValueError(f"min_reward must be in [0, 1) (rewards are in [0, 1]), got {self.min_reward}")
        if self.max_frames is not None and self.max_frames < 2:
            raise ValueError(f"max_frames must be >= 2, got {self.max_frames}")
        if self.vision_preset is not None and self.vision_preset not in ("train", "eval", "tiny"):
            raise ValueError(f"vision_preset must be train, eval or tiny, got {self.vision_preset!r}")
        self.vision_preset, recorded_frames = self.recorded_vision(self.vision_preset, "train")
        if self.max_frames is None:
            self.max_frames = recorded_frames
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.batch_size is None:
            self.batch_size = 32


def extract_think(output: str | None) -> str | None:
    """The first ``<think>...</think>`` block of ``output`` (tags included), or None."""
    if not output:
        return None
    match = _THINK_RE.search(output)
    return match.group(0) if match else None


def score_output(output: str, record: Mapping[str, Any]) -> float:
    """The RL accuracy reward of ``output`` against ``record["solution"]`` (regression: 1 - relative error)."""
    return float(
        accuracy_reward([output], solution=[record["solution"]], problem_type=[record["problem_type"]])[0]
    )


def record_keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """A stable key per record: ``str(problem_id)``, or ``"<problem_id>@<index>"`` for every record when
    some ``problem_id`` repeats in the file (``index`` = position in the input file)."""
    ids = [str(r["problem_id"]) for r in records]
    if len(set(ids)) == len(ids):
        return ids
    return [f"{pid}@{index}" for index, pid in enumerate(ids)]


def _input_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in COMPUTED_FIELDS and k not in RESULT_FIELDS}


def build_cot_records(
    raw: Sequence[Mapping[str, Any]], order: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """COT-165k records from raw.jsonl lines: selected lines with a think block, input fields + ``process``.

    ``order`` (keys) puts the records in input order; lines whose key is not in it are left out.
    """
    by_key = {line["key"]: line for line in raw}
    keys = list(order) if order is not None else [line["key"] for line in raw]
    cot = []
    for key in keys:
        line = by_key.get(key)
        if line is None or not line.get("select"):
            continue
        process = extract_think(line.get("output"))
        if process is None:
            continue
        record = _input_fields(line)
        record["process"] = process
        cot.append(record)
    return cot


def summarize(raw: Sequence[Mapping[str, Any]], total: int, cot_count: int) -> dict[str, Any]:
    """Counts over raw.jsonl lines: done, selected, errors, mean reward, per problem type."""
    rewards = [line["reward"] for line in raw if not is_error_row(line) and line.get("reward") is not None]
    by_type: dict[str, Counter] = {}
    for line in raw:
        counts = by_type.setdefault(line.get("problem_type", "?"), Counter())
        counts["done"] += 1
        counts["selected"] += bool(line.get("select"))
        counts["errors"] += is_error_row(line)
    return {
        "total": total,
        "done": len(raw),
        "remaining": max(0, total - len(raw)),
        "selected": sum(bool(line.get("select")) for line in raw),
        "cot_records": cot_count,
        "errors": sum(is_error_row(line) for line in raw),
        "no_answer_tag": sum(not is_error_row(line) and not line.get("answer") for line in raw),
        "no_think_block": sum(
            not is_error_row(line) and extract_think(line.get("output")) is None for line in raw
        ),
        "mean_reward": (sum(rewards) / len(rewards)) if rewards else None,
        "by_problem_type": {k: dict(v) for k, v in sorted(by_type.items())},
    }


def annotate(
    config: AnnotateConfig,
    *,
    backend=None,
    scorer: Scorer | None = None,
) -> dict[str, Any]:
    """Run (or resume) an annotation; returns the summary written to ``summary.json``.

    ``backend`` (an already built :mod:`video_r1.inference` backend) and ``scorer`` (``(output, record) ->
    reward``, default :func:`score_output`) are for tests and library use; the CLI builds the backend from
    ``config``.
    """
    from video_r1.data.records import load_records
    from video_r1.data.vision import get_preset
    from video_r1.inference import GenerationRequest

    start = time.perf_counter()
    scorer = scorer or score_output
    if config.limit is not None and config.limit < 1:
        raise ValueError(f"limit must be >= 1, got {config.limit}")
    out_dir = Path(config.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    dataset = load_records(
        config.dataset_name,
        data_root=config.data_root,
        allow_parent_traversal=config.allow_parent_traversal,
    )
    records = [dataset[i] for i in range(len(dataset))]
    all_keys = record_keys(records)  # from the whole file, so --limit never changes a record's key
    keys = all_keys
    if config.limit is not None:
        records, keys = records[: config.limit], all_keys[: config.limit]
    key_set = set(keys)

    results = ResultsFile(out_dir / RAW_NAME)
    if config.retry_errors:
        dropped = results.drop_errors()
        if dropped:
            logger.info("--retry_errors: %d record(s) with errors will be generated again", dropped)
    done = results.done_keys()
    unknown = sorted(done - set(all_keys))
    if unknown:
        raise UserError(
            f"{results.path} holds {len(unknown)} result(s) whose key is not in {config.dataset_name} "
            f"(e.g. {unknown[:3]}); was this output_dir written for another input file?"
        )
    todo = [(k, r) for k, r in zip(keys, records) if k not in done]
    logger.info(
        "annotate: %d records, %d already in %s, %d to generate",
        len(records),
        len(done & key_set),
        results.path,
        len(todo),
    )

    preset = get_preset(config.vision_preset, max_frames=config.max_frames)
    own_backend = backend is None and bool(todo)
    if own_backend:
        backend = config.load_backend(preset, config.batch_size)
    try:
        if todo:
            by_key = dict(todo)
            requests = [GenerationRequest(key=k, record=r, variant="annotate") for k, r in todo]
            progress = "annotate" if config.progress else False
            for result in backend.iter_generate(requests, progress=progress):
                record = by_key[result.key]
                line = _input_fields(record)
                if result.error is None:
                    reward = float(scorer(result.output, record))
                    answer = extract_answer(result.output)
                else:
                    reward, answer = None, None
                line.update(
                    key=result.key,
                    output=result.output,
                    answer=answer,
                    reward=reward,
                    select=result.error is None and reward > config.min_reward,
                    error=result.error,
                    num_tokens=result.num_tokens,
                    sample_fps=result.sample_fps,
                )
                results.append(line)
    finally:
        if own_backend:
            backend.close()

    return finalize(config, keys, results, start)


def finalize(
    config: AnnotateConfig, keys: Sequence[str], results: ResultsFile, start: float
) -> dict[str, Any]:
    """Rebuild cot.json and summary.json from raw.jsonl."""
    out_dir = Path(config.output_dir)
    key_set = set(keys)
    raw = [line for line in results.records() if line["key"] in key_set]
    cot = build_cot_records(raw, order=keys)
    atomic_write_json(out_dir / COT_NAME, cot)
    previous = {}
    summary_path = out_dir / SUMMARY_NAME
    if summary_path.is_file():
        try:
            previous = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            previous = {}
    wall = time.perf_counter() - start
    summary = summarize(raw, total=len(keys), cot_count=len(cot))
    summary.update(
        wall_time_s=round(wall, 3),
        total_wall_time_s=round(wall + float(previous.get("total_wall_time_s", 0.0)), 3),
        runs=int(previous.get("runs", 0)) + 1,
        min_reward=config.min_reward,
        config=asdict(config),
        files={"raw": str(out_dir / RAW_NAME), "cot": str(out_dir / COT_NAME)},
    )
    atomic_write_json(summary_path, summary)
    logger.info(
        "annotate: %d/%d done, %d selected (%d with a think block -> %s), %d errors",
        summary["done"],
        summary["total"],
        summary["selected"],
        summary["cot_records"],
        out_dir / COT_NAME,
        summary["errors"],
    )
    return summary
