"""Official metrics (``video_r1.evaluation.official``): VSI-Bench's per-sample rules and aggregation, MVBench
per task, VideoMME per duration, VideoMMMU's refusal; checked on crafted rows against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from video_r1.evaluation.official import (
    OFFICIAL_METRICS,
    official_metric,
    vsibench_first_token,
    vsibench_official,
    vsibench_official_mra,
    vsibench_official_sample,
)
from video_r1.evaluation.scoring import mean_relative_accuracy


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("A", "A"),
        ("A.", "A"),
        ("a. sofa", "a"),
        (" A", ""),
        ("B because", "B"),
        ("12.5 m", "12.5"),
        ("3..", "3"),
    ],
)
def test_first_token(text, token):
    assert vsibench_first_token(text) == token


@pytest.mark.parametrize(
    ("prediction", "question_type", "solution", "expected"),
    [
        ("A", "route_planning", "<answer>A</answer>", 1.0),
        ("a", "object_rel_direction_easy", "<answer>A</answer>", 1.0),  # case-insensitive
        ("A. left", "object_rel_direction_hard", "<answer>A</answer>", 1.0),  # first token, dot dropped
        ("left A", "object_rel_distance", "<answer>A</answer>", 0.0),
        ("B", "obj_appearance_order", "<answer>A</answer>", 0.0),
        (None, "route_planning", "<answer>A</answer>", 0.0),  # no output (error)
        ("4", "object_counting", "<answer>4</answer>", 1.0),
        ("3", "object_counting", "<answer>4</answer>", 0.6),  # |e| = 0.25 <= 1 - t for t <= 0.75
        ("5 chairs", "object_counting", "<answer>4</answer>", 0.6),
        ("five", "object_counting", "<answer>4</answer>", 0.0),  # not a number
        ("15", "object_abs_distance", "<answer>10</answer>", 0.1),  # |e| = 0.5 <= 0.5 at t = 0.5
        ("2.2", "room_size_estimation", "<answer>2</answer>", 0.9),  # 10 % error misses only t = 0.95
        ("0", "object_size_estimation", "<answer>0</answer>", 0.0),  # zero reference divides by zero there
    ],
)
def test_vsibench_official_sample(prediction, question_type, solution, expected):
    assert vsibench_official_sample(prediction, solution, question_type) == pytest.approx(expected)


def test_vsibench_official_sample_rejects_unknown_type():
    with pytest.raises(ValueError, match="not a VSI-Bench question type"):
        vsibench_official_sample("A", "<answer>A</answer>", "object_colour")


def test_official_mra_against_its_formula_and_the_original_rule():
    conf = np.linspace(0.5, 0.95, int((0.95 - 0.5) / 0.05 + 2))
    assert len(conf) == 10
    rng = np.random.default_rng(0)
    differing = 0
    for target in (1.0, 2.0, 4.0, 10.0, 3.7):
        for ratio in [*rng.uniform(0.3, 1.7, 40), 0.5, 0.75, 1.25, 1.5, 1.1, 0.9]:
            pred = float(target * ratio)
            expected = float(np.mean(abs(pred - target) / target <= 1 - conf))
            assert vsibench_official_mra(pred, target) == expected
            differing += vsibench_official_mra(pred, target) != mean_relative_accuracy(pred, target)
    # The rules differ exactly at the thresholds (<= vs <): e.g. a 50 % or 25 % error.
    assert (
        vsibench_official_mra(15.0, 10.0) == pytest.approx(0.1) and mean_relative_accuracy(15.0, 10.0) == 0.0
    )
    assert vsibench_official_mra(5.0, 4.0) == pytest.approx(0.6) and mean_relative_accuracy(5.0, 4.0) == 0.5
    assert differing >= 2
    for bad in (None, float("nan"), float("inf")):
        assert vsibench_official_mra(bad, 4.0) == 0.0


def vsi_row(question_type, prediction, answer="A", error=None, reward=None):
    return {
        "original_question_type": question_type,
        "prediction": prediction,
        "solution": f"<answer>{answer}</answer>",
        "error": error,
        "reward": 0.0 if reward is None else reward,
    }


def test_vsibench_official_aggregation_merges_relative_direction_as_mean_of_means():
    rows = [
        vsi_row("object_rel_direction_easy", "A"),  # easy: 1/1
        vsi_row("object_rel_direction_medium", "B"),
        vsi_row("object_rel_direction_medium", "A"),
        vsi_row("object_rel_direction_medium", "B"),  # medium: 1/3
        vsi_row("object_rel_direction_hard", "A", error="MediaError: missing"),  # hard: 0/1 (error)
        vsi_row("route_planning", "a"),  # 1
        vsi_row("object_counting", "3", answer="4"),  # 0.6
    ]
    result = vsibench_official(rows)
    direction = (1.0 + 1 / 3 + 0.0) / 3
    assert result["breakdown"]["object_rel_direction"]["mean"] == pytest.approx(direction)
    assert result["breakdown"]["object_rel_direction"]["n"] == 5
    assert result["score"] == pytest.approx((direction + 1.0 + 0.6) / 3)
    assert any("only 3 of 8 categories present" in note for note in result["notes"])
    # an unsplit relative-direction category is taken as it is
    unsplit = vsibench_official([vsi_row("object_rel_direction", "A"), vsi_row("object_rel_direction", "B")])
    assert (
        unsplit["score"] == pytest.approx(0.5) and "parts" not in unsplit["breakdown"]["object_rel_direction"]
    )


def test_vsibench_official_needs_known_task_types_on_every_row():
    assert vsibench_official([vsi_row("route_planning", "A"), {"prediction": "A"}])["score"] is None
    result = vsibench_official([vsi_row("route_planning", "A"), vsi_row("colour", "A")])
    assert result["score"] is None and "['colour']" in result["notes"][0]


def test_mvbench_and_videomme_and_videommmu():
    mv = [
        {"task_type": "Action Antonym", "reward": 1.0},
        {"task_type": "Action Antonym", "reward": 1.0},
        {"task_type": "Action Antonym", "reward": 1.0, "error": "MediaError"},  # error: 0
        {"task_type": "Scene Transition", "reward": 0.0},
    ]
    result = official_metric("mvbench", mv)
    assert result["score"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert official_metric("mvbench", [*mv, {"reward": 1.0}])["score"] is None  # a row without a task

    mme = [
        {"duration": "short", "reward": 1.0},
        {"duration": "Short", "reward": 0.0},
        {"duration": "long", "reward": 1.0},
    ]
    result = official_metric("videomme", mme)
    assert result["breakdown"] == {"short": {"n": 2, "mean": 0.5}, "long": {"n": 1, "mean": 1.0}}
    assert result["score"] == pytest.approx(2 / 3)
    bad = official_metric("videomme", [*mme, {"duration": 95.0, "reward": 1.0}])
    assert bad["score"] is None and "95.0" in bad["notes"][0]

    mmmu = official_metric(
        "videommmu", [{"path": "./VideoMMMU/question_only/a.mp4"}, {"path": "./VideoMMMU/b.mp4"}]
    )
    assert mmmu["score"] is None and mmmu["notes"][0].startswith("not computed: 1 of 2 records")
    assert official_metric(None, mme) is None
    assert set(OFFICIAL_METRICS) == {"vsibench", "mvbench", "videomme", "videommmu"}
    with pytest.raises(ValueError, match="unknown official metric"):
        official_metric("nope", [])
