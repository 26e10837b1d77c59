"""temporal_bonus: the original's T-GRPO arithmetic on one group (p >= mu * p~, +alpha where acc > 0.1)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from video_r1.rewards import temporal_bonus
from video_r1.trainers import TGRPOConfig

ORIGINAL = {"alpha": 0.3, "mu": 0.8, "threshold": 0.1}


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize(
    ("accuracy", "shuffled", "mu", "expected", "granted"),
    [
        # tie p = p~ = 0: granted, but nobody is above 0.1
        ([0.0] * 8, [0.0] * 4, 0.8, [0.0] * 8, True),
        # all correct: uniform +0.3
        ([1.0] * 8, [1.0] * 4, 0.8, [1.3] * 8, True),
        # p = 0.5, p~ = 0.6: 0.5 >= 0.48 with mu 0.8, but 0.5 < 0.6 with mu 1.0
        ([1.0] * 4 + [0.0] * 4, [1.0, 1.0, 0.4, 0.0], 0.8, [1.3] * 4 + [0.0] * 4, True),
        ([1.0] * 4 + [0.0] * 4, [1.0, 1.0, 0.4, 0.0], 1.0, [1.0] * 4 + [0.0] * 4, False),
        # p = p~ with mu 1.0: ">=" lets ties pass
        ([1.0, 0.0], [1.0, 0.0, 0.5, 0.5], 1.0, [1.3, 0.0], True),
        # ordered worse than shuffled
        ([0.0, 0.0, 0.0, 1.0], [1.0] * 4, 0.8, [0.0, 0.0, 0.0, 1.0], False),
        # "correct" means strictly above 0.1; partial scores count
        ([0.05, 0.1, 0.11, 0.5], [0.0], 0.8, [0.05, 0.1, 0.11 + 0.3, 0.5 + 0.3], True),
    ],
)
def test_table(accuracy, shuffled, mu, expected, granted):
    acc = f64(accuracy)
    before = acc.clone()
    out, ok = temporal_bonus(acc, f64(shuffled), alpha=0.3, mu=mu, threshold=0.1)
    assert ok is granted
    assert out.tolist() == expected
    assert torch.equal(acc, before)


def test_config_defaults_are_the_originals():
    # the defaults live in one place: the config
    config = TGRPOConfig.__dataclass_fields__
    assert config["temporal_alpha"].default == 0.3
    assert config["temporal_mu"].default == 0.8
    assert config["correct_threshold"].default == 0.1
    # 0.25 >= 0.8 * 0.3 = 0.24 -> granted; alpha 0.3 to the one completion above 0.1
    acc = f64([0.0, 0.0, 0.0, 1.0])
    assert temporal_bonus(acc, f64([0.3]), **ORIGINAL)[0].tolist() == [0.0, 0.0, 0.0, 1.3]
    assert temporal_bonus(acc, f64([0.3]), **{**ORIGINAL, "mu": 1.0}) == (pytest.approx(acc), False)
    out, _ = temporal_bonus(f64([0.2, 0.6]), f64([0.0]), alpha=0.5, mu=0.8, threshold=0.3)
    assert out.tolist() == [0.2, 1.1]


def test_settings_are_required():
    with pytest.raises(TypeError):
        temporal_bonus(f64([1.0]), f64([0.0]))  # no hidden defaults


def test_tensor_keeps_dtype_device_and_input():
    acc = torch.tensor([1.0, 0.0, 0.5, 0.1], dtype=torch.float32)
    before = acc.clone()
    out, granted = temporal_bonus(acc, torch.tensor([0.5, 0.5]), **ORIGINAL)
    assert granted is True
    assert out.dtype == torch.float32 and out.device == acc.device and out.shape == (4,)
    # float32 arithmetic, as the original's rewards_per_func: 1.0f + 0.3 and 0.5f + 0.3 in float32
    assert torch.equal(
        out, torch.tensor([1.0, 0.0, 0.5, 0.1], dtype=torch.float32) + torch.tensor([0.3, 0, 0.3, 0])
    )
    assert torch.equal(acc, before)
    assert out.data_ptr() != acc.data_ptr()

    out64, _ = temporal_bonus(acc.double(), f64([0.5]), **ORIGINAL)
    assert out64.dtype == torch.float64
    # float32(0.1) widened to float64 is 0.10000000149011612, which IS above 0.1 in float64
    assert out64.tolist() == [1.3, 0.0, 0.8, 0.10000000149011612 + 0.3]


def test_not_granted_returns_a_copy():
    acc = torch.tensor([0.0, 1.0])
    out, granted = temporal_bonus(acc, torch.tensor([1.0]), **ORIGINAL)
    assert granted is False and torch.equal(out, acc) and out.data_ptr() != acc.data_ptr()


@pytest.mark.parametrize(
    ("accuracy", "shuffled"),
    [(torch.tensor([]), torch.tensor([1.0])), (torch.tensor([1.0]), torch.tensor([]))],
)
def test_empty_inputs_raise(accuracy, shuffled):
    with pytest.raises(ValueError, match="at least one ordered and one shuffled"):
        temporal_bonus(accuracy, shuffled, **ORIGINAL)


def test_bad_tensors_raise():
    with pytest.raises(ValueError, match="1-D"):
        temporal_bonus(torch.ones(2, 8), torch.tensor([1.0]), **ORIGINAL)
    with pytest.raises(TypeError, match="floating-point"):
        temporal_bonus(torch.ones(8, dtype=torch.long), torch.tensor([1.0]), **ORIGINAL)


_acc = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    accuracy=st.lists(_acc, min_size=1, max_size=16),
    shuffled=st.lists(_acc, min_size=1, max_size=8),
    alpha=st.floats(0.0, 2.0),
    mu=st.floats(0.0, 2.0),
    threshold=st.floats(0.0, 1.0),
)
def test_only_adds_alpha_or_nothing(accuracy, shuffled, alpha, mu, threshold):
    acc = torch.tensor(accuracy, dtype=torch.float32)
    before = acc.clone()
    out, granted = temporal_bonus(acc, torch.tensor(shuffled), alpha=alpha, mu=mu, threshold=threshold)
    assert torch.equal(acc, before)
    assert out.shape == acc.shape and out.dtype == acc.dtype
    assert torch.equal(out, torch.where((acc > threshold) & granted, acc + alpha, acc))
    assert isinstance(granted, bool)
    if not bool((acc > threshold).any()):  # nobody selected, whatever the condition
        assert torch.equal(out, acc)
