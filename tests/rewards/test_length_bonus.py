"""length_bonus: +0.2 for correct completions of 320..512 tokens when more than one completion is correct."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from video_r1.rewards import length_bonus

ORIGINAL = {"low": 320, "high": 512, "bonus": 0.2, "threshold": 0.1}


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize(
    ("accuracy", "lengths", "expected"),
    [
        # window is inclusive at both ends
        ([1.0, 1.0, 1.0, 1.0], [319, 320, 512, 513], [0.0, 0.2, 0.2, 0.0]),
        # wrong completions never get it
        ([1.0, 1.0, 0.0, 1.0], [320, 512, 400, 513], [0.2, 0.2, 0.0, 0.0]),
        # only one correct completion in the group -> nobody gets it
        ([1.0, 0.0, 0.0, 0.0], [400, 400, 400, 400], [0.0, 0.0, 0.0, 0.0]),
        # "correct" is accuracy > 0.1: exactly 0.1 is not correct, partial 0.11 is
        ([0.1, 0.1, 0.11, 0.0], [400, 400, 400, 400], [0.0, 0.0, 0.0, 0.0]),
        ([0.1, 0.11, 0.5, 0.0], [400, 400, 400, 400], [0.0, 0.2, 0.2, 0.0]),
        # two correct, one of them out of the window: the count uses correctness only
        ([1.0, 1.0], [400, 100], [0.2, 0.0]),
        ([], [], []),
    ],
)
def test_table(accuracy, lengths, expected):
    assert (
        length_bonus(f64(accuracy), torch.tensor(lengths, dtype=torch.long), **ORIGINAL).tolist() == expected
    )


def test_parameters():
    out = length_bonus(
        f64([1.0, 1.0, 0.4]), torch.tensor([10, 20, 30]), low=15, high=30, bonus=0.5, threshold=0.3
    )
    assert out.tolist() == [0.0, 0.5, 0.5]
    with pytest.raises(TypeError):
        length_bonus(f64([1.0]), torch.tensor([400]))  # no hidden defaults: they live in TGRPOConfig


def test_tensor_like_the_original():
    # accuracy column float32 (as rewards_per_func), lengths = completion_mask.sum(1) (int64)
    completion_mask = torch.zeros(4, 600, dtype=torch.long)
    for row, n in enumerate([320, 600, 512, 400]):
        completion_mask[row, :n] = 1
    acc = torch.tensor([1.0, 1.0, 0.6, 0.1], dtype=torch.float32)
    before = acc.clone()
    out = length_bonus(acc, completion_mask.sum(1), **ORIGINAL)
    assert out.dtype == torch.float32 and out.device == acc.device
    assert torch.equal(out, torch.tensor([0.2, 0.0, 0.2, 0.0], dtype=torch.float32))
    assert torch.equal(acc, before)
    # widened to float64, float32(0.1) = 0.10000000149011612 is above 0.1: four correct completions
    assert length_bonus(acc.double(), torch.tensor([400] * 4), **ORIGINAL).tolist() == [0.2, 0.2, 0.2, 0.2]
    assert length_bonus(f64([1.0, 1.0, 0.6, 0.1]), torch.tensor([400] * 4), **ORIGINAL).tolist() == [
        0.2,
        0.2,
        0.2,
        0.0,
    ]


def test_float32_threshold_is_compared_in_float32():
    # float32(0.1) == 0.10000000149 as a Python float, but the original compares in float32: not correct.
    acc = torch.tensor([0.1, 0.1, 1.0], dtype=torch.float32)
    assert length_bonus(acc, torch.tensor([400, 400, 400]), **ORIGINAL).tolist() == [0.0, 0.0, 0.0]
    assert length_bonus(acc.double(), torch.tensor([400, 400, 400]), **ORIGINAL).tolist() == [0.2, 0.2, 0.2]


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        length_bonus(f64([1.0, 1.0]), torch.tensor([400, 400, 400]), **ORIGINAL)
    with pytest.raises(ValueError, match="same length"):
        length_bonus(torch.ones(2), torch.tensor([400]), **ORIGINAL)


@settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 1000)), max_size=16),
)
def test_bonus_is_zero_or_bonus(pairs):
    accuracy = [a for a, _ in pairs]
    lengths = [n for _, n in pairs]
    n_correct = sum(a > 0.1 for a in accuracy)
    out = length_bonus(f64(accuracy), torch.tensor(lengths, dtype=torch.long), **ORIGINAL)
    assert out.dtype == torch.float64
    values = out.tolist()
    assert len(values) == len(accuracy)
    assert all(v in (0.0, 0.2) for v in values)
    expected = [0.2 if n_correct > 1 and a > 0.1 and 320 <= n <= 512 else 0.0 for a, n in pairs]
    assert values == expected
