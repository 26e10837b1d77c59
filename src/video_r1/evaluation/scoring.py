"""Benchmark scoring of Video-R1's evaluation (``src/eval_bench.py``), value for value, plus aggregates.

Per sample, :func:`score` reproduces the original's ``reward_fn``:

==================  =====================================================================================
answer              the first ``<answer>...</answer>`` of the output (the project's
                    :func:`~video_r1.rewards.accuracy.extract_answer`); when that is empty (no tag, or an
                    empty tag) the WHOLE output is the answer, as the original (:func:`extract_prediction`)
multiple choice     1.0 iff the stripped answer equals the reference letter exactly ("A." != "A")
numerical           the training rule (:func:`~video_r1.rewards.accuracy.score_answer`): 0.0 if exactly one
                    side contains "." or ","; else commas dropped, ``float()``, equal after ``round(x, 2)``
regression          :func:`mean_relative_accuracy` of the parsed numbers; unparsable -> 0.0
OCR, free-form      0.0: the original's eval has no rule for them (its ``else`` branch). The released
                    Video-R1-eval files hold none (reference issue #121); the runner warns when it sees one.
==================  =====================================================================================

Mean Relative Accuracy: over the 10 thresholds 0.50, 0.55, ..., 0.95, a hit is
``|pred - gt| / (|gt| + 1e-8) < 1 - threshold``; MRA is the fraction of hits. The original computes it in
``float32`` torch tensors (``torch.arange(0.5, 0.975, 0.05)``); the same ``float32`` arithmetic is done here
with numpy, so values right at a threshold agree with the original too (e.g. a 10 % error is a hit at the
0.90 threshold, because ``float32(1 - 0.90) > float32(0.1)``, while a 50 % error misses at 0.50).

Aggregates (:func:`aggregate`): ``mean_acc`` = mean reward over non-regression samples, ``mean_mra`` = mean
over regression samples; ``None`` (never NaN) when a benchmark has no sample of that kind. The headline
score is ``mean_acc`` for every benchmark except VSI-Bench, which the authors report as
``(mean_acc + mean_mra) / 2`` (issue #121, not VSI-Bench's official metric). When one side is missing the
other is used and a note says so. These are the paper-comparable numbers; the benchmarks' own (official)
metrics, reported beside them, live in :mod:`video_r1.evaluation.official`.

A sample whose generation or record failed counts as a failure of that sample only: reward 0.0 in the
means it belongs to (as the original's error batches), and it is counted in ``n_errors``; ``n_scored``
counts the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from video_r1.resumable import is_error_row
from video_r1.rewards.accuracy import extract_answer, ground_truth, score_answer

__all__ = [
    "MRA_THRESHOLDS",
    "ORIGINAL_DIFFERENCES",
    "TASK_TYPE_FIELDS",
    "aggregate",
    "extract_prediction",
    "extract_process",
    "mean_relative_accuracy",
    "parse_number",
    "score",
]

#: MRA confidence thresholds 0.50, 0.55, ..., 0.95 as ``float32``, exactly the original's
#: ``torch.arange(0.5, 0.95 + 0.05 / 2, 0.05, dtype=torch.float32)``.
MRA_THRESHOLDS: np.ndarray = np.array([0.5 + 0.05 * i for i in range(10)], dtype=np.float64).astype(
    np.float32
)
_MRA_TOLERANCES: np.ndarray = np.float32(1.0) - MRA_THRESHOLDS
_MRA_EPSILON = np.float32(1e-8)

#: Record fields naming a sample's task type, first match wins. VSI-Bench's own files call it
#: ``question_type``; Video-R1's ``eval_vsibench.json`` keeps it as ``original_question_type``.
TASK_TYPE_FIELDS: tuple[str, ...] = ("question_type", "original_question_type")

#: Problem types the original's eval scores 0.0 whatever the answer.
UNSCORED_PROBLEM_TYPES: tuple[str, ...] = ("OCR", "free-form")

#: ``(what, original, ours)`` for every place where evaluation scoring or aggregation departs from the
#: original's ``eval_bench.py``. Per-sample values are unchanged for every well-formed record.
ORIGINAL_DIFFERENCES: list[tuple[str, str, str]] = [
    (
        "sample without problem_type (or otherwise malformed record)",
        "KeyError aborts the whole benchmark",
        "that sample is an error entry (reward 0.0, counted in n_errors) with a message naming the record",
    ),
    (
        "one unreadable video in a batch",
        "the whole batch of 64 gets '<answer>error</answer>' and scores 0.0",
        "only that sample is an error entry; the rest of the batch is generated and scored",
    ),
    (
        "aggregates after a resumed run",
        "mean_acc/mean_mra cover only the samples generated in the last run",
        "computed over every sample in the results file",
    ),
    (
        "benchmark without samples of one kind",
        "mean_acc is NaN (mean of an empty tensor); mean_mra is 0.0",
        "None, and the headline score uses the side that exists (with a note)",
    ),
    (
        "precision of the means",
        "float32 torch mean",
        "float64 mean (differences below 1e-6)",
    ),
    (
        "VSI-Bench official metric",
        "not computed (only (mean_acc + mean_mra) / 2)",
        "reported beside it (video_r1.evaluation.official) when records carry the question type",
    ),
    (
        "solution without <answer> tags",
        "reference answer '' (nothing can match it)",
        "the whole stripped solution is the reference (as the project's training reward)",
    ),
]

_THINK_RE = re.compile(r"<think>\s*(.*?)\s*</think>", re.DOTALL)


def parse_number(text: Any) -> float | None:
    """``float(text)`` after removing commas (the original's ``normalize_number``); None when that fails."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def mean_relative_accuracy(pred: float, target: float) -> float:
    """Mean Relative Accuracy of one prediction, in ``{0.0, 0.1, ..., 1.0}``.

    For each threshold ``t`` in 0.50, 0.55, ..., 0.95 the prediction hits when
    ``|pred - target| / (|target| + 1e-8) < 1 - t``; the result is the fraction of hits. Computed in
    ``float32`` like the original, so boundary cases agree with it.

    Edge cases: a zero target is hit only by an exact 0 (the relative error of anything else is >= 1e6 or
    so); negative targets use ``|target|``; a non-numeric prediction (a string that does not parse, None,
    NaN, infinity, or a number beyond ``float32``) scores 0.0. Strings are parsed like answers (commas
    dropped).
    """
    pred_number, target_number = parse_number(pred), parse_number(target)
    if pred_number is None or target_number is None:
        return 0.0
    if not (math.isfinite(pred_number) and math.isfinite(target_number)):
        return 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.float32(pred_number)
        g = np.float32(target_number)
        relative_error = np.abs(p - g) / (np.abs(g) + _MRA_EPSILON)
        hits = relative_error < _MRA_TOLERANCES  # NaN/inf (float32 overflow) compare False -> 0 hits
    return float(np.count_nonzero(hits)) / len(_MRA_TOLERANCES)


def extract_prediction(output: str) -> str:
    """The answer the original scores: the first ``<answer>`` content, else the whole output (stripped).

    The original falls back to the raw output whenever the extracted answer is empty, i.e. with no tag and
    with an empty ``<answer></answer>`` alike; it strips the fallback before comparing, and so do we.
    """
    answer = extract_answer(output)
    return answer if answer else output.strip()


def extract_process(output: str) -> str | None:
    """``"<think>...</think>"`` (content stripped) from the first think block of ``output``, else None."""
    match = _THINK_RE.search(output)
    if match is None or not match.group(1).strip():
        return None
    return f"<think>{match.group(1).strip()}</think>"


def score(output: str, solution: str, problem_type: str) -> float:
    """The original eval's reward of one model ``output`` against a record's ``solution``.

    See the module docstring for the rule of each ``problem_type``. Unknown problem types score 0.0 (as the
    original). A missing problem type (``None`` or not a string) is a malformed record, not an answer to
    score: it raises ``ValueError`` (the runner records it as an error of that sample).
    """
    if not isinstance(problem_type, str):
        raise ValueError(f"problem_type must be a string, got {problem_type!r}")
    if not isinstance(output, str):
        raise ValueError(f"output must be a string, got {type(output).__name__}")
    prediction = extract_prediction(output)
    reference = ground_truth(solution)
    if problem_type in ("multiple choice", "numerical"):
        return score_answer(prediction, reference, problem_type)
    if problem_type == "regression":
        pred_number, gt_number = parse_number(prediction), parse_number(reference)
        if pred_number is None or gt_number is None:
            return 0.0
        return mean_relative_accuracy(pred_number, gt_number)
    return 0.0


# ----------------------------------------------------------------------------------------------------
# Aggregates


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def task_type_of(row: Mapping[str, Any]) -> str | None:
    """The task type of a record (first non-empty field of :data:`TASK_TYPE_FIELDS`), else None."""
    for field in TASK_TYPE_FIELDS:
        value = row.get(field)
        if value is not None and value != "":
            return str(value)
    return None


def aggregate(rows: Iterable[Mapping[str, Any]], *, headline: str = "acc") -> dict[str, Any]:
    """Aggregate per-sample result rows of one benchmark at one frame count.

    Each row needs ``reward`` (float; 0.0 for errors), ``problem_type`` (may be missing on error rows) and
    ``error`` (None or a message); task-type fields are used when present.

    Args:
        headline: ``"acc"`` (score = mean_acc, every benchmark but VSI-Bench) or ``"acc_mra"``
            (score = (mean_acc + mean_mra) / 2, the authors' VSI-Bench number).

    Returns a dict with ``n``, ``n_scored``, ``n_errors``, ``n_acc``, ``mean_acc``, ``n_mra``,
    ``mean_mra``, ``score``, ``score_rule``, ``notes`` (list of str) and ``per_task`` (task type ->
    {n, mean} with these per-sample rules, or None when no row carries a task type). Error rows without a
    problem type count as non-regression samples.
    """
    if headline not in ("acc", "acc_mra"):
        raise ValueError(f"headline must be 'acc' or 'acc_mra', got {headline!r}")
    rows = list(rows)
    acc_values: list[float] = []
    mra_values: list[float] = []
    per_task_values: dict[str, list[float]] = {}
    n_errors = 0
    for row in rows:
        reward = float(row.get("reward") or 0.0)
        if is_error_row(row):
            n_errors += 1
            reward = 0.0
        if row.get("problem_type") == "regression":
            mra_values.append(reward)
        else:
            acc_values.append(reward)
        task = task_type_of(row)
        if task is not None:
            per_task_values.setdefault(task, []).append(reward)

    mean_acc, mean_mra = _mean(acc_values), _mean(mra_values)
    notes: list[str] = []
    if headline == "acc_mra":
        rule = "(mean_acc + mean_mra) / 2"
        if mean_acc is not None and mean_mra is not None:
            headline_score: float | None = (mean_acc + mean_mra) / 2
        elif mean_acc is not None:
            headline_score = mean_acc
            notes.append("no regression samples: score = mean_acc instead of (mean_acc + mean_mra) / 2")
        elif mean_mra is not None:
            headline_score = mean_mra
            notes.append("no non-regression samples: score = mean_mra instead of (mean_acc + mean_mra) / 2")
        else:
            headline_score = None
    else:
        rule = "mean_acc"
        headline_score = mean_acc
        if mean_acc is None and mean_mra is not None:
            headline_score = mean_mra
            notes.append("only regression samples: score = mean_mra instead of mean_acc")
    if n_errors:
        notes.append(f"{n_errors} of {len(rows)} samples are errors and score 0")

    per_task = (
        {task: {"n": len(values), "mean": _mean(values)} for task, values in sorted(per_task_values.items())}
        if per_task_values
        else None
    )
    return {
        "n": len(rows),
        "n_scored": len(rows) - n_errors,
        "n_errors": n_errors,
        "n_acc": len(acc_values),
        "mean_acc": mean_acc,
        "n_mra": len(mra_values),
        "mean_mra": mean_mra,
        "score": headline_score,
        "score_rule": rule,
        "per_task": per_task,
        "notes": notes,
    }
