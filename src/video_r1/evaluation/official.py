"""Official metrics: each benchmark's own aggregation, reported BESIDE the paper-comparable number.

The paper-comparable numbers (:mod:`video_r1.evaluation.scoring`) follow the original ``eval_bench.py``
and stay the headline. The benchmarks' own evaluations aggregate differently, and for VSI-Bench they also
score each sample differently. What is computed here, per benchmark (:data:`OFFICIAL_METRICS`):

VSI-Bench (``vsibench``), needs a task-type field (:data:`VSI_TASK_FIELDS`) on every record
    The aggregation of VSI-Bench's own evaluation (``vision-x-nyu/thinking-in-space``,
    ``lmms_eval/tasks/vsibench/utils.py``; lmms-eval's ``vsibench`` task does the same): the mean per
    question type; the three relative-direction types (easy / medium / hard) are merged into one category
    ``object_rel_direction`` as the MEAN OF THEIR THREE MEANS (not pooled); the score is the mean over the
    resulting 8 categories. Per sample, VSI-Bench's rules (:func:`vsibench_official_sample`), applied to the
    extracted answer (the ``prediction`` of the results line: the ``<answer>`` content, else the output):

    - multiple-choice types: the first space-separated token, trailing dots removed, equals the reference
      letter ignoring case (``"a."`` and ``"A because..."`` both match ``A``; the original needs ``"A"``);
    - numerical-answer types (counting, distances, sizes; counting is ``numerical`` in Video-R1's file, so
      the original scores it by exact match): MRA of ``float(first token)`` with the hit test
      ``|pred - gt| / gt <= 1 - t`` in float64 for t = 0.50, 0.55, ..., 0.95 (the original: ``<`` in
      float32 with ``|gt| + 1e-8``). An unparsable answer scores 0; a zero reference (which would divide by
      zero there) scores 0.

MVBench (``mvbench``), needs a task field (:data:`MVBENCH_TASK_FIELDS`) on every record
    The mean of the per-task accuracies (MVBench has 20 tasks), not the accuracy pooled over all questions.
    Per-sample scores are the original's (exact option letter).

Video-MME (``videomme``), needs ``duration`` (short / medium / long) on every record
    Accuracy over all questions with the per-duration accuracies beside it (Video-MME's own report). The
    overall number equals the paper-comparable one (same questions, same per-sample scores); the official
    part is the breakdown.

VideoMMMU (``videommmu``)
    Not computed. The official numbers are per track (Perception / Comprehension / Adaptation), and the
    Perception and Comprehension tracks show the lecture video; Video-R1's file points every question at the
    question-only clip (``VideoMMMU/question_only/...``, reference issue #69). The report says so (with how
    many records use question-only clips) instead of printing a number that would look official.

MMVU, TempCompass and custom benchmarks: no official breakdown (``official`` is None).

Error samples score 0 in the official numbers as in the paper-comparable ones; a benchmark over the
run's error limit gets no number at all (the runner withholds both).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from video_r1.evaluation.scoring import TASK_TYPE_FIELDS
from video_r1.resumable import is_error_row
from video_r1.rewards.accuracy import ground_truth

__all__ = [
    "MVBENCH_TASK_FIELDS",
    "OFFICIAL_METRICS",
    "VSI_CATEGORIES",
    "VSI_TASK_FIELDS",
    "mvbench_official",
    "official_metric",
    "videomme_official",
    "videommmu_official",
    "vsibench_first_token",
    "vsibench_official",
    "vsibench_official_mra",
    "vsibench_official_sample",
]

#: Record fields naming a VSI-Bench question type, first non-empty one wins. VSI-Bench's own files call it
#: ``question_type``; Video-R1's ``eval_vsibench.json`` keeps it as ``original_question_type``.
VSI_TASK_FIELDS: tuple[str, ...] = TASK_TYPE_FIELDS

VSI_REL_DIRECTION = "object_rel_direction"
VSI_REL_DIRECTION_PARTS: tuple[str, ...] = (
    "object_rel_direction_easy",
    "object_rel_direction_medium",
    "object_rel_direction_hard",
)
#: VSI-Bench question types answered with an option letter (the unsplit relative-direction name is accepted
#: too, for files that do not split it).
VSI_MULTIPLE_CHOICE_TYPES: tuple[str, ...] = (
    *VSI_REL_DIRECTION_PARTS,
    VSI_REL_DIRECTION,
    "object_rel_distance",
    "route_planning",
    "obj_appearance_order",
)
#: VSI-Bench question types answered with a number (scored by MRA officially).
VSI_NUMERIC_TYPES: tuple[str, ...] = (
    "object_counting",
    "object_abs_distance",
    "object_size_estimation",
    "room_size_estimation",
)
#: The 8 categories of the official score, in VSI-Bench's table order.
VSI_CATEGORIES: tuple[str, ...] = (
    "object_counting",
    "object_abs_distance",
    "object_size_estimation",
    "room_size_estimation",
    "object_rel_distance",
    VSI_REL_DIRECTION,
    "route_planning",
    "obj_appearance_order",
)

#: Record fields naming an MVBench task, first non-empty one wins (the released file's name for it is not
#: known; these are the names other MVBench exports use).
MVBENCH_TASK_FIELDS: tuple[str, ...] = (
    "task_type",
    "task",
    "sub_task",
    "question_type",
    "original_question_type",
)
MVBENCH_N_TASKS = 20

#: Record fields holding Video-MME's duration class.
VIDEOMME_DURATION_FIELDS: tuple[str, ...] = ("duration",)
VIDEOMME_DURATIONS: tuple[str, ...] = ("short", "medium", "long")

#: ``1 - t`` for VSI-Bench's thresholds: ``np.linspace(.5, .95, int((.95 - .5) / .05 + 2))`` = 10 points.
_VSI_TOLERANCES: np.ndarray = 1.0 - np.linspace(0.5, 0.95, int((0.95 - 0.5) / 0.05 + 2))

OfficialResult = dict[str, Any]


def _field(row: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and value != "":
            return str(value)
    return None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _reward(row: Mapping[str, Any]) -> float:
    """The paper-comparable per-sample score of a results line (0.0 for an error line)."""
    if is_error_row(row):
        return 0.0
    return float(row.get("reward") or 0.0)


# ----------------------------------------------------------------------------------------------------
# VSI-Bench


def vsibench_first_token(text: str) -> str:
    """VSI-Bench's answer normalisation: the text up to the first space, trailing dots removed, stripped."""
    return text.split(" ")[0].rstrip(".").strip()


def _to_float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def vsibench_official_mra(pred: float | None, target: float | None) -> float:
    """VSI-Bench's Mean Relative Accuracy: fraction of t in 0.50..0.95 with ``|pred - gt| / gt <= 1 - t``.

    float64, ``<=``, no epsilon (the original uses float32, ``<`` and ``|gt| + 1e-8``). None (unparsable),
    NaN and infinity score 0; so does a zero target, where VSI-Bench's formula divides by zero.
    """
    if pred is None or target is None or target == 0:
        return 0.0
    if not (math.isfinite(pred) and math.isfinite(target)):
        return 0.0
    relative = abs(pred - target) / target
    return float(np.mean(relative <= _VSI_TOLERANCES))


def vsibench_official_sample(prediction: str | None, solution: str, question_type: str) -> float:
    """One sample scored with VSI-Bench's own rules (see the module docstring).

    Raises ``ValueError`` for a question type that is not a VSI-Bench one.
    """
    if prediction is None:
        return 0.0
    reference = ground_truth(solution)
    answer = vsibench_first_token(prediction)
    if question_type in VSI_MULTIPLE_CHOICE_TYPES:
        return 1.0 if answer.lower() == reference.lower() else 0.0
    if question_type in VSI_NUMERIC_TYPES:
        return vsibench_official_mra(_to_float(answer), _to_float(reference))
    raise ValueError(f"not a VSI-Bench question type: {question_type!r}")


def _category(question_type: str) -> str:
    return VSI_REL_DIRECTION if question_type in VSI_REL_DIRECTION_PARTS else question_type


def vsibench_official(rows: Sequence[Mapping[str, Any]]) -> OfficialResult:
    """VSI-Bench's official score of a benchmark's results lines (see the module docstring)."""
    result: OfficialResult = {
        "metric": "VSI-Bench official",
        "aggregation": (
            "mean over 8 task categories; relative direction = mean of its easy/medium/hard means "
            "(VSI-Bench's own evaluation, as lmms-eval's vsibench task)"
        ),
        "per_sample": (
            "VSI-Bench's: multiple choice = first token, case-insensitive; numbers = MRA with "
            "abs(pred-gt)/gt <= 1-t (float64)"
        ),
        "score": None,
        "breakdown": None,
        "notes": [],
    }
    missing = [row for row in rows if _field(row, VSI_TASK_FIELDS) is None]
    if missing:
        result["notes"].append(
            f"{len(missing)} of {len(rows)} records have no {'/'.join(VSI_TASK_FIELDS)} field: the official "
            "VSI-Bench score needs the question type of every record; not computed"
        )
        return result
    known = set(VSI_MULTIPLE_CHOICE_TYPES) | set(VSI_NUMERIC_TYPES)
    unknown = sorted({_field(row, VSI_TASK_FIELDS) for row in rows} - known)
    if unknown:
        result["notes"].append(f"question types {unknown} are not VSI-Bench's; official score not computed")
        return result

    official: dict[str, list[float]] = {}
    original: dict[str, list[float]] = {}
    for row in rows:
        question_type = _field(row, VSI_TASK_FIELDS)
        value = (
            0.0
            if is_error_row(row)
            else vsibench_official_sample(row.get("prediction"), str(row.get("solution", "")), question_type)
        )
        official.setdefault(question_type, []).append(value)
        original.setdefault(question_type, []).append(_reward(row))

    breakdown: dict[str, dict[str, Any]] = {}
    for category in VSI_CATEGORIES:
        if category == VSI_REL_DIRECTION:
            parts = [name for name in VSI_REL_DIRECTION_PARTS if name in official]
            # A file that does not split relative direction has the category itself.
            if VSI_REL_DIRECTION in official:
                parts.append(VSI_REL_DIRECTION)
            if not parts:
                continue
            entry = {
                "n": sum(len(official[name]) for name in parts),
                "mean": math.fsum(_mean(official[name]) for name in parts) / len(parts),
                "mean_original_rules": math.fsum(_mean(original[name]) for name in parts) / len(parts),
            }
            if parts != [VSI_REL_DIRECTION]:
                entry["parts"] = {
                    name: {
                        "n": len(official[name]),
                        "mean": _mean(official[name]),
                        "mean_original_rules": _mean(original[name]),
                    }
                    for name in parts
                }
                absent = [name for name in VSI_REL_DIRECTION_PARTS if name not in official]
                if absent:
                    result["notes"].append(
                        f"relative direction averaged over {len(parts)} sub-types; absent: {', '.join(absent)}"
                    )
            breakdown[category] = entry
        elif category in official:
            breakdown[category] = {
                "n": len(official[category]),
                "mean": _mean(official[category]),
                "mean_original_rules": _mean(original[category]),
            }
    if len(breakdown) < len(VSI_CATEGORIES):
        absent = [category for category in VSI_CATEGORIES if category not in breakdown]
        result["notes"].append(
            f"only {len(breakdown)} of {len(VSI_CATEGORIES)} categories present (absent: {', '.join(absent)}); "
            "the score averages the present ones"
        )
    result["breakdown"] = breakdown
    result["score"] = math.fsum(entry["mean"] for entry in breakdown.values()) / len(breakdown)
    return result


# ----------------------------------------------------------------------------------------------------
# MVBench, Video-MME, VideoMMMU


def _grouped(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> tuple[dict[str, list[float]], int]:
    groups: dict[str, list[float]] = {}
    without = 0
    for row in rows:
        name = _field(row, fields)
        if name is None:
            without += 1
            continue
        groups.setdefault(name, []).append(_reward(row))
    return groups, without


def mvbench_official(rows: Sequence[Mapping[str, Any]]) -> OfficialResult:
    """Mean of MVBench's per-task accuracies (the original's per-sample scores)."""
    result: OfficialResult = {
        "metric": "MVBench official",
        "aggregation": "mean of the per-task accuracies (MVBench: 20 tasks), not pooled over questions",
        "per_sample": "the original's (exact option letter)",
        "score": None,
        "breakdown": None,
        "notes": [],
    }
    groups, without = _grouped(rows, MVBENCH_TASK_FIELDS)
    if without:
        result["notes"].append(
            f"{without} of {len(rows)} records have no task field ({'/'.join(MVBENCH_TASK_FIELDS)}): "
            "per-task mean not computed"
        )
        return result
    result["breakdown"] = {
        task: {"n": len(values), "mean": _mean(values)} for task, values in sorted(groups.items())
    }
    result["score"] = math.fsum(_mean(values) for values in groups.values()) / len(groups)
    if len(groups) != MVBENCH_N_TASKS:
        result["notes"].append(f"{len(groups)} tasks found (MVBench has {MVBENCH_N_TASKS})")
    return result


def videomme_official(rows: Sequence[Mapping[str, Any]]) -> OfficialResult:
    """Video-MME accuracy with its short / medium / long breakdown (the original's per-sample scores)."""
    result: OfficialResult = {
        "metric": "Video-MME official",
        "aggregation": "accuracy over all questions, with accuracy per duration (short / medium / long)",
        "per_sample": "the original's (exact option letter)",
        "score": None,
        "breakdown": None,
        "notes": [],
    }
    groups: dict[str, list[float]] = {}
    bad: list[str] = []
    for row in rows:
        duration = _field(row, VIDEOMME_DURATION_FIELDS)
        if duration is None or duration.strip().lower() not in VIDEOMME_DURATIONS:
            bad.append(repr(duration))
            continue
        groups.setdefault(duration.strip().lower(), []).append(_reward(row))
    if bad:
        result["notes"].append(
            f"{len(bad)} of {len(rows)} records have no duration field with short/medium/long "
            f"(e.g. {bad[0]}): per-duration breakdown not computed"
        )
        return result
    result["breakdown"] = {
        name: {"n": len(groups[name]), "mean": _mean(groups[name])}
        for name in VIDEOMME_DURATIONS
        if name in groups
    }
    result["score"] = _mean([_reward(row) for row in rows])
    return result


def videommmu_official(rows: Sequence[Mapping[str, Any]]) -> OfficialResult:
    """No number: VideoMMMU's official per-track accuracies need the lecture videos (see the module doc)."""
    question_only = sum("question_only" in str(row.get("path", "")) for row in rows)
    return {
        "metric": "VideoMMMU official",
        "aggregation": "per-track accuracy (Perception / Comprehension / Adaptation)",
        "per_sample": None,
        "score": None,
        "breakdown": None,
        "notes": [
            f"not computed: {question_only} of {len(rows)} records use the question-only clips "
            "(VideoMMMU/question_only/...), as the original evaluated them (issue #69); the official "
            "Perception and Comprehension tracks show the lecture video, so per-track official numbers "
            "cannot be computed from this file"
        ],
    }


#: Official metric of each registry benchmark (``Benchmark.official`` names one of these).
OFFICIAL_METRICS: dict[str, Callable[[Sequence[Mapping[str, Any]]], OfficialResult]] = {
    "vsibench": vsibench_official,
    "mvbench": mvbench_official,
    "videomme": videomme_official,
    "videommmu": videommmu_official,
}


def official_metric(kind: str | None, rows: Iterable[Mapping[str, Any]]) -> OfficialResult | None:
    """The official result of ``rows`` for metric ``kind`` (None when the benchmark has none)."""
    if kind is None:
        return None
    try:
        metric = OFFICIAL_METRICS[kind]
    except KeyError:
        raise ValueError(f"unknown official metric {kind!r}; known: {', '.join(OFFICIAL_METRICS)}") from None
    return metric(list(rows))
