"""Evaluation scoring: per-type values of the original eval_bench.py, MRA edge cases, aggregates."""

from __future__ import annotations

import json
import math

import pytest

from video_r1.evaluation.scoring import (
    MRA_THRESHOLDS,
    aggregate,
    extract_prediction,
    extract_process,
    mean_relative_accuracy,
    score,
)


def tagged(answer: str, think: str = "let me think") -> str:
    return f"<think>{think}</think>\n<answer>{answer}</answer>"


# ---------------------------------------------------------------------------------------------------
# Per-sample scores, one table per problem type (exact values)

MULTIPLE_CHOICE = [
    (tagged("A"), "<answer>A</answer>", 1.0),
    (tagged(" A \n"), "<answer>A</answer>", 1.0),  # extraction strips
    (tagged("B"), "<answer>A</answer>", 0.0),
    (tagged("A."), "<answer>A</answer>", 0.0),  # exact match: punctuation counts, as the original
    (tagged("a"), "<answer>A</answer>", 0.0),  # case counts
    (tagged("A. left"), "<answer>A</answer>", 0.0),
    ("A", "<answer>A</answer>", 1.0),  # no tag: the whole output is the answer
    ("  A\n", "<answer>A</answer>", 1.0),  # ... stripped
    ("<think>A</think> A", "<answer>A</answer>", 0.0),  # whole output, think block included
    ("The answer is A", "<answer>A</answer>", 0.0),
    ("<answer></answer>", "<answer>A</answer>", 0.0),  # empty tag: whole output, no match
    (tagged("A") + "<answer>B</answer>", "<answer>A</answer>", 1.0),  # first tag wins
    ("", "<answer>A</answer>", 0.0),
]

NUMERICAL = [
    (tagged("3"), "<answer>3</answer>", 1.0),
    (tagged("4"), "<answer>3</answer>", 0.0),
    (tagged("3.0"), "<answer>3</answer>", 0.0),  # one side has a decimal point: 0, as the original
    (tagged("3"), "<answer>3.0</answer>", 0.0),
    (tagged("3.001"), "<answer>3.00</answer>", 1.0),  # equal after round(x, 2)
    (tagged("3.01"), "<answer>3.00</answer>", 0.0),
    (tagged("1,000"), "<answer>1000</answer>", 0.0),  # the comma counts as a decimal mark
    (tagged("1,000"), "<answer>1,000</answer>", 1.0),
    (tagged("three"), "<answer>3</answer>", 0.0),
    ("12", "<answer>12</answer>", 1.0),  # untagged fallback
    (tagged("-2"), "<answer>-2</answer>", 1.0),
]

REGRESSION = [
    (tagged("10"), "<answer>10</answer>", 1.0),
    (tagged("10.4"), "<answer>10</answer>", 1.0),  # 4 % error: every threshold
    (tagged("11"), "<answer>10</answer>", 0.9),  # 10 %: all but 0.95 (float32 boundary, see below)
    (tagged("9"), "<answer>10</answer>", 0.9),
    (tagged("13"), "<answer>10</answer>", 0.4),  # 30 %
    (tagged("14.5"), "<answer>10</answer>", 0.1),  # 45 %: only the 0.50 threshold
    (tagged("15"), "<answer>10</answer>", 0.0),  # 50 %: misses 0.50 (strict <)
    (tagged("100"), "<answer>10</answer>", 0.0),
    (tagged("1,000"), "<answer>1000</answer>", 1.0),  # commas dropped, no decimal-mark rule
    (tagged("ten"), "<answer>10</answer>", 0.0),
    ("11", "<answer>10</answer>", 0.9),  # untagged fallback
    (tagged("0"), "<answer>0</answer>", 1.0),
    (tagged("-11"), "<answer>-10</answer>", 0.9),
]


@pytest.mark.parametrize(("output", "solution", "expected"), MULTIPLE_CHOICE)
def test_multiple_choice(output, solution, expected):
    assert score(output, solution, "multiple choice") == expected


@pytest.mark.parametrize(("output", "solution", "expected"), NUMERICAL)
def test_numerical(output, solution, expected):
    assert score(output, solution, "numerical") == expected


@pytest.mark.parametrize(("output", "solution", "expected"), REGRESSION)
def test_regression(output, solution, expected):
    assert score(output, solution, "regression") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("problem_type", ["OCR", "free-form", "yes/no"])
def test_unscored_and_unknown_types_score_zero_like_the_original(problem_type):
    # The original eval's reward_fn has no OCR/free-form branch: even an exact answer scores 0.
    assert score(tagged("hello world"), "<answer>hello world</answer>", problem_type) == 0.0


@pytest.mark.parametrize("problem_type", [None, 3])
def test_missing_problem_type_is_an_error_not_a_score(problem_type):
    with pytest.raises(ValueError, match="problem_type"):
        score(tagged("A"), "<answer>A</answer>", problem_type)


def test_prediction_and_process_extraction():
    assert extract_prediction(tagged("B")) == "B"
    assert extract_prediction("  no tags here \n") == "no tags here"
    assert extract_prediction("<answer> </answer>") == "<answer> </answer>"
    assert extract_process("<think>\n a \n</think><answer>A</answer>") == "<think>a</think>"
    assert extract_process("<answer>A</answer>") is None


# ---------------------------------------------------------------------------------------------------
# Mean Relative Accuracy


def reference_mra(pred: float, target: float) -> float:
    """The original's formula, in float32 torch tensors, for comparison."""
    import torch

    pred_t = torch.tensor(pred, dtype=torch.float32)
    target_t = torch.tensor(target, dtype=torch.float32)
    rel_error = torch.abs(pred_t - target_t) / (torch.abs(target_t) + 1e-8)
    thresholds = torch.arange(0.5, 0.95 + 0.05 / 2, 0.05, dtype=torch.float32)
    return (rel_error < (1 - thresholds)).float().mean().item()


def test_mra_thresholds_are_the_ten_original_ones():
    assert len(MRA_THRESHOLDS) == 10
    assert [round(float(t), 2) for t in MRA_THRESHOLDS] == [
        0.5,
        0.55,
        0.6,
        0.65,
        0.7,
        0.75,
        0.8,
        0.85,
        0.9,
        0.95,
    ]


@pytest.mark.parametrize(
    ("pred", "target", "expected"),
    [
        (10, 10, 1.0),  # exact hit
        (0, 0, 1.0),  # zero target, exact
        (1e-6, 0, 0.0),  # zero target, anything else misses everywhere
        (-1e-6, 0, 0.0),
        (-10, -10, 1.0),  # negative target: |target| in the denominator
        (-11, -10, 0.9),
        (-9, -10, 0.9),
        (10, -10, 0.0),  # opposite sign: 200 % error
        (15, 10, 0.0),  # 50 % error: 0.5 < 0.5 is false
        (5, 10, 0.0),
        (14.5, 10, 0.1),  # 45 %: hits 0.50 only; float32(0.45) is not < float32(1 - 0.55)
        (13, 10, 0.4),  # 30 %: 0.50..0.65; float32(0.3) is not < float32(1 - 0.70)
        (12, 10, 0.6),  # 20 %
        (11, 10, 0.9),  # 10 %: float32(0.1) < float32(1 - 0.9) = 0.10000002: a hit at 0.90
        (10.5, 10, 1.0),  # 5 %: float32(0.05) < float32(1 - 0.95) = 0.05000001: a hit at 0.95
        (10.6, 10, 0.9),
        (3, 2, 0.0),  # 50 % of a small integer: float32(2 + 1e-8) == 2, so no epsilon rescue
        ("11", "10", 0.9),  # strings parse like answers
        ("1,100", "1,000", 0.9),
        ("abc", 10, 0.0),  # non-numeric prediction
        (None, 10, 0.0),
        (float("nan"), 10, 0.0),
        (float("inf"), 10, 0.0),
        (1e39, 1e38, 0.0),  # beyond float32: inf, no hit (as the original)
        (10, float("nan"), 0.0),
    ],
)
def test_mra_values(pred, target, expected):
    assert mean_relative_accuracy(pred, target) == pytest.approx(expected, abs=1e-12)


def test_mra_matches_the_original_float32_formula_on_boundaries_and_a_grid():
    values = []
    for target in (1, 2, 3, 7, 10, 100, 0.3, -4, -10, 123.456):
        for rel in [i / 100 for i in range(0, 121)]:
            for sign in (1, -1):
                values.append((target * (1 + sign * rel), target))
    values += [(0.0, 0.0), (1.0, 0.0), (1e-9, 0.0)]
    # Same hits at every threshold; the value differs only by the original's float32 mean (0.9 vs 0.89999998).
    mismatches = [
        (p, t)
        for p, t in values
        if round(mean_relative_accuracy(p, t) * 10) != round(reference_mra(p, t) * 10)
    ]
    assert not mismatches, mismatches[:10]
    assert all(abs(mean_relative_accuracy(p, t) - reference_mra(p, t)) < 1e-6 for p, t in values)


# ---------------------------------------------------------------------------------------------------
# Aggregates


def row(reward, problem_type="multiple choice", error=None, **extra):
    return {"reward": reward, "problem_type": problem_type, "error": error, **extra}


def assert_no_nan(summary):
    json.dumps(summary, allow_nan=False)  # raises on NaN/inf anywhere


def test_aggregate_mixed_benchmark():
    rows = [row(1.0), row(0.0), row(1.0, "numerical"), row(0.5, "regression"), row(1.0, "regression")]
    acc = aggregate(rows, headline="acc")
    assert acc["n"] == 5 and acc["n_errors"] == 0
    assert acc["n_acc"] == 3 and acc["mean_acc"] == pytest.approx(2 / 3)
    assert acc["n_mra"] == 2 and acc["mean_mra"] == pytest.approx(0.75)
    assert acc["score"] == pytest.approx(2 / 3)
    vsi = aggregate(rows, headline="acc_mra")
    assert vsi["score"] == pytest.approx((2 / 3 + 0.75) / 2)
    assert vsi["notes"] == []
    assert_no_nan(acc)
    assert_no_nan(vsi)


def test_aggregate_regression_only_and_acc_only_never_nan():
    regression_only = [row(0.5, "regression"), row(0.9, "regression")]
    vsi = aggregate(regression_only, headline="acc_mra")
    assert vsi["mean_acc"] is None
    assert vsi["mean_mra"] == pytest.approx(0.7)
    assert vsi["score"] == pytest.approx(0.7)
    assert any("mean_mra instead" in note for note in vsi["notes"])
    other = aggregate(regression_only, headline="acc")
    assert other["score"] == pytest.approx(0.7) and other["mean_acc"] is None
    acc_only = aggregate([row(1.0), row(0.0)], headline="acc_mra")
    assert acc_only["mean_mra"] is None and acc_only["score"] == pytest.approx(0.5)
    assert any("mean_acc instead" in note for note in acc_only["notes"])
    empty = aggregate([], headline="acc_mra")
    assert empty["n"] == 0 and empty["score"] is None and empty["mean_acc"] is None
    for summary in (vsi, other, acc_only, empty):
        assert_no_nan(summary)


def test_aggregate_errors_score_zero_and_are_counted():
    rows = [
        row(1.0),
        row(1.0, error="MediaError: missing"),  # an error row never counts as correct
        {"reward": 0.0, "error": "RecordError: no problem_type"},  # no problem_type: a non-regression item
        row(1.0, "regression"),
        row(0.0, "regression", error="generation failed"),
    ]
    summary = aggregate(rows, headline="acc_mra")
    assert summary["n_errors"] == 3
    assert summary["mean_acc"] == pytest.approx(1 / 3)
    assert summary["mean_mra"] == pytest.approx(0.5)
    assert any("3 of 5 samples are errors" in note for note in summary["notes"])


def test_aggregate_per_task_means_with_the_original_rules():
    rows = [
        row(1.0, question_type="object_counting"),
        row(0.0, question_type="object_counting"),
        row(0.0, question_type="object_counting", error="MediaError: missing"),
        row(0.0, question_type="object_counting"),
        row(0.6, "regression", question_type="room_size_estimation"),
        row(1.0, original_question_type="route_planning"),
        row(1.0),  # no task type: in the means, not in per_task
    ]
    summary = aggregate(rows, headline="acc_mra")
    assert summary["per_task"] == {
        "object_counting": {"n": 4, "mean": 0.25},
        "room_size_estimation": {"n": 1, "mean": 0.6},
        "route_planning": {"n": 1, "mean": 1.0},
    }
    assert (summary["n"], summary["n_scored"], summary["n_errors"]) == (7, 6, 1)
    assert summary["score"] == pytest.approx((3 / 6 + 0.6) / 2)
    assert "official_per_task" not in summary  # official metrics live in video_r1.evaluation.official
    assert aggregate([row(1.0)])["per_task"] is None
    assert not math.isnan(summary["score"])
