"""The per-group rule without a trainer: bonus columns, post-normalisation terms, TRL's advantages, effect."""

from __future__ import annotations

import pytest
import torch

from video_r1.rewards.group import (
    GroupRules,
    _nanstd,
    advantage_effect,
    group_bonuses,
    grpo_advantages,
)

NAN = float("nan")


def rules(**overrides) -> GroupRules:
    values = dict(
        temporal=True,
        temporal_mode="bonus",
        alpha=0.3,
        mu=0.8,
        threshold=0.1,
        len_control=False,
        len_bonus=0.2,
        len_min=320,
        len_max=512,
        center=False,
    )
    values.update(overrides)
    return GroupRules(**values)


def matrix(accuracy, bonuses, fmt=None):
    """Reward matrix [accuracy, format, temporal_bonus, length_bonus] with weights 1."""
    fmt = torch.ones_like(accuracy) if fmt is None else fmt
    return torch.stack([accuracy, fmt, bonuses.temporal, bonuses.length], dim=1)


W = torch.ones(4)

# Two groups of 4: a video group (p = 0.5, shuffled p~ = 0) and an image group (p = 0.5).
ACC = torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
IS_VIDEO = torch.tensor([True] * 4 + [False] * 4)
SHUFFLED = torch.tensor([0.0, 0.0, NAN, NAN, NAN, NAN, NAN, NAN])
LENGTHS = torch.full((8,), 100.0)


def test_original_bonus_is_divided_out_by_group_normalisation():
    out = group_bonuses(ACC, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules())
    assert out.temporal.tolist() == pytest.approx([0.3, 0.3, 0, 0, 0, 0, 0, 0])
    assert out.granted == [True] and out.contrast_groups.tolist() == [True, False]
    assert not out.advantage.any()
    with_bonus = grpo_advantages(matrix(ACC, out), W, 4, "group")
    no_temporal = matrix(ACC, out).clone()
    no_temporal[:, 2] = 0
    without = grpo_advantages(no_temporal, W, 4, "group")
    assert torch.allclose(with_bonus, without, atol=2e-4)  # only the 1e-4 epsilon differs
    assert advantage_effect(with_bonus, without, 4, out.contrast_groups) == (
        0.0,
        pytest.approx(0.0, abs=1e-4),
    )


def test_the_cancellation_measured_on_random_groups():
    """The issue's measurement: granted 0/1 groups of 8 never move with equal format rewards; they do with
    20% format failures (through the format term, not through time)."""
    generator = torch.Generator().manual_seed(0)
    moved = {"uniform": 0, "format_failures": 0}
    granted_groups = 0
    for _ in range(300):
        acc = (torch.rand(8, generator=generator) < 0.5).float()
        if acc.min() == acc.max():
            continue
        shuffled = torch.full((8,), NAN)
        shuffled[:4] = (torch.rand(4, generator=generator) < 0.5).float()
        out = group_bonuses(
            acc, shuffled, torch.ones(8, dtype=torch.bool), torch.full((8,), 10.0), 8, rules()
        )
        if not out.granted[0]:
            continue
        granted_groups += 1
        for kind in moved:
            fmt = torch.ones(8) if kind == "uniform" else (torch.rand(8, generator=generator) >= 0.2).float()
            full = matrix(acc, out, fmt)
            plain = full.clone()
            plain[:, 2] = 0
            effect = advantage_effect(
                grpo_advantages(full, W, 8, "group"), grpo_advantages(plain, W, 8, "group"), 8
            )
            moved[kind] += effect[0] > 0
    assert granted_groups > 100
    assert moved["uniform"] == 0
    assert moved["format_failures"] > granted_groups // 2


@pytest.mark.parametrize(
    ("mode", "scale", "video_adv"),
    [
        # no division: the granted group is scaled by (1 + alpha)
        ("bonus", "none", [0.65, 0.65, -0.65, -0.65]),
        # after normalisation: +alpha (bonus_advantage) or alpha * (p - p~) = 0.3 * 0.5 (order_gap) on the correct
        ("bonus_advantage", "group", [0.5 / (0.57735 + 1e-4) + 0.3] * 2 + [-0.5 / (0.57735 + 1e-4)] * 2),
        ("order_gap", "group", [0.5 / (0.57735 + 1e-4) + 0.15] * 2 + [-0.5 / (0.57735 + 1e-4)] * 2),
    ],
)
def test_variants_move_exactly_the_video_group(mode, scale, video_adv):
    out = group_bonuses(ACC, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules(temporal_mode=mode))
    adv = grpo_advantages(matrix(ACC, out), W, 4, scale) + out.advantage
    plain = grpo_advantages(matrix(ACC, group_bonuses(ACC, None, IS_VIDEO, LENGTHS, 4, rules())), W, 4, scale)
    assert adv[:4].tolist() == pytest.approx(video_adv, abs=1e-4)
    assert torch.equal(adv[4:], plain[4:])  # the image group is left alone
    assert advantage_effect(adv, plain, 4, out.contrast_groups)[0] == 1.0


@pytest.mark.parametrize("mode, term", [("bonus_advantage", 0.3), ("order_gap", 0.15)])
def test_centred_term_sums_to_zero_in_each_group(mode, term):
    """temporal_center: correct rows +term * (1 - p), wrong rows -term * p (p = 0.5 here); an all-correct
    group gets nothing; non-video groups stay untouched."""
    out = group_bonuses(ACC, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules(temporal_mode=mode, center=True))
    assert out.advantage[:4].tolist() == pytest.approx([term / 2, term / 2, -term / 2, -term / 2])
    assert not out.advantage[4:].any()
    all_correct = torch.tensor([1.0] * 4 + [1.0, 0.0, 1.0, 0.0])
    out = group_bonuses(all_correct, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules(temporal_mode=mode, center=True))
    if mode == "bonus_advantage":  # granted (1 >= 0.8 * 0) but centred away
        assert out.granted == [True]
    assert out.advantage.abs().max().item() < 1e-7


def test_original_bonus_under_batch_scaling_weights_the_granted_group():
    out = group_bonuses(ACC, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules())
    adv = grpo_advantages(matrix(ACC, out), W, 4, "batch")
    totals = matrix(ACC, out).sum(dim=1)
    centred = totals - totals.view(-1, 4).mean(dim=1).repeat_interleave(4)
    expected = centred / (totals.std() + 1e-4)  # one std over the whole batch
    assert torch.allclose(adv, expected, atol=1e-6)
    # relative to the image group, the granted video group counts (1 + alpha) times as much
    assert adv[0] / adv[4] == pytest.approx(1.3, rel=1e-5)


def test_order_gap_gives_nothing_when_shuffled_does_as_well():
    shuffled = torch.tensor([1.0, 0.0, NAN, NAN, NAN, NAN, NAN, NAN])  # p~ = 0.5 = p
    out = group_bonuses(ACC, shuffled, IS_VIDEO, LENGTHS, 4, rules(temporal_mode="order_gap"))
    assert not out.advantage.any()
    assert out.granted == [True]  # the original would still have granted it (0.5 >= 0.8 * 0.5)


def test_no_contrast_without_shuffled_rollouts_or_for_mixed_groups():
    assert not group_bonuses(ACC, None, IS_VIDEO, LENGTHS, 4, rules()).contrast_groups.any()
    off = group_bonuses(ACC, SHUFFLED, IS_VIDEO, LENGTHS, 4, rules(temporal=False))
    assert not off.contrast_groups.any() and not off.temporal.any()
    nothing = group_bonuses(ACC, torch.full((8,), NAN), IS_VIDEO, LENGTHS, 4, rules())
    assert nothing.granted == [] and nothing.stats() == {}


def test_length_column_and_stats():
    lengths = torch.tensor([400.0, 100.0, 400.0, 400.0, 320.0, 400.0, 512.0, 513.0])
    out = group_bonuses(ACC, SHUFFLED, IS_VIDEO, lengths, 4, rules(len_control=True))
    assert out.length.tolist() == pytest.approx([0.2, 0, 0, 0, 0.2, 0, 0.2, 0])
    assert out.stats() == {
        "temporal/bonus_rate": 1.0,
        "temporal/ordered_accuracy": 0.5,
        "temporal/shuffled_accuracy": 0.0,
    }


def test_bad_arguments():
    with pytest.raises(ValueError, match="groups of 3"):
        group_bonuses(ACC, None, IS_VIDEO, LENGTHS, 3, rules())
    with pytest.raises(ValueError, match="lengths has 2 entries"):
        group_bonuses(ACC, None, IS_VIDEO, LENGTHS[:2], 4, rules())
    with pytest.raises(ValueError, match="temporal_mode"):
        rules(temporal_mode="sometimes")
    with pytest.raises(ValueError, match="scale_rewards"):
        grpo_advantages(torch.ones(4, 1), torch.ones(1), 4, "rank")


def test_nanstd_matches_trl():
    from trl.trainer.utils import nanstd

    generator = torch.Generator().manual_seed(1)
    values = torch.rand(6, 4, generator=generator)
    values[0, 1] = NAN
    values[3] = NAN
    torch.testing.assert_close(_nanstd(values, dim=1), nanstd(values, dim=1), equal_nan=True)
    torch.testing.assert_close(_nanstd(values), nanstd(values), equal_nan=True)
