"""How much of the temporal contrast reaches the gradient, measured through the real trainer (issue 22).

A crafted 0/1 accuracy (half of each group correct, by position) and a constant format reward make the
advantages a function of the rewards only, whatever the tiny model samples. The shuffled completions score 0,
so every video group is granted the bonus (p = 0.5 >= 0.8 * 0).
"""

from __future__ import annotations

import pytest
import torch

from video_r1.data.records import load_records
from video_r1.rewards.group import grpo_advantages
from video_r1.testing.configs import tiny_cpu_args
from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoGRPOTrainer

G = 4


def accuracy_reward(completions, **kwargs):
    """Ordered call (2 groups of G rows): 1 for the first half of each group; shuffled call: 0."""
    if len(completions) != 2 * G:
        return [0.0] * len(completions)
    return [1.0 if i % G < G // 2 else 0.0 for i in range(len(completions))]


def format_reward(completions, **kwargs):
    return [1.0] * len(completions)


@pytest.fixture(scope="module")
def mixed_pair(synthetic_data):
    records = load_records(synthetic_data["train"])
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _step(tiny_checkpoint, dataset, config, cls=TGRPOTrainer):
    """One training step; returns (trainer, per-row media types, advantages handed to the loss)."""
    trainer = cls(
        model=str(tiny_checkpoint),
        reward_funcs=[accuracy_reward, format_reward],
        args=config,
        train_dataset=dataset,
    )
    seen = []
    score = trainer._generate_and_score_completions

    def recording(inputs):
        output = score(inputs)
        seen.append(([row["media"]["type"] for row in inputs], output["advantages"].detach().clone()))
        return output

    trainer._generate_and_score_completions = recording
    trainer.train()
    ((types, advantages),) = seen
    return trainer, types, advantages


def _config(tgrpo_config, **overrides):
    values = dict(
        per_device_train_batch_size=2 * G,
        num_generations=G,
        shuffled_num_generations=2,
        len_control=False,
        shuffle_dataset=False,
    )
    values.update(overrides)
    return tgrpo_config(**values)


def _by_type(types, advantages):
    video = torch.tensor([t == "video" for t in types])
    return advantages[video], advantages[~video]


@pytest.fixture(scope="module")
def plain_runs(tiny_checkpoint, mixed_pair, tmp_path_factory):
    """Plain GRPO on video (VideoGRPOTrainer) under each scale_rewards, for comparison."""
    runs = {}
    for scale in ("group", "batch", "none"):
        config = tiny_cpu_args(
            TGRPOConfig,
            str(tmp_path_factory.mktemp(f"plain-{scale}")),
            per_device_train_batch_size=2 * G,
            num_generations=G,
            len_control=False,
            shuffle_dataset=False,
            temporal=False,
            scale_rewards=scale,
        )
        _, types, advantages = _step(tiny_checkpoint, mixed_pair, config, VideoGRPOTrainer)
        runs[scale] = _by_type(types, advantages)
    return runs


def test_original_bonus_does_not_reach_the_advantages(tiny_checkpoint, mixed_pair, tgrpo_config, plain_runs):
    trainer, types, advantages = _step(tiny_checkpoint, mixed_pair, _config(tgrpo_config))
    video, image = _by_type(types, advantages)
    log = trainer.state.log_history[0]
    assert log["temporal/bonus_rate"] == 1.0  # the bonus was granted ...
    assert log["rewards/temporal_bonus/mean"] > 0  # ... and paid into the reward
    torch.testing.assert_close(video, plain_runs["group"][0], atol=2e-4, rtol=0)  # ... and divided out
    torch.testing.assert_close(image, plain_runs["group"][1], atol=0, rtol=0)
    assert log["temporal/adv_moved_frac"] == 0.0
    assert log["temporal/adv_abs_change"] < 1e-4


@pytest.mark.parametrize(
    ("mode", "scale", "center"),
    [
        ("bonus", "batch", False),
        ("bonus", "none", False),
        ("bonus_advantage", "group", False),
        ("order_gap", "group", False),
        ("order_gap", "group", True),
    ],
)
def test_variants_reach_the_advantages_of_the_video_group(
    tiny_checkpoint, mixed_pair, tgrpo_config, plain_runs, mode, scale, center
):
    config = _config(tgrpo_config, temporal_mode=mode, scale_rewards=scale, temporal_center=center)
    trainer, types, advantages = _step(tiny_checkpoint, mixed_pair, config)
    video, image = _by_type(types, advantages)
    plain_video, plain_image = plain_runs[scale]
    correct = torch.tensor([1.0, 1.0, 0.0, 0.0])
    base = {"group": 0.5 / (0.57735 + 1e-4), "none": 0.5}.get(scale)
    if mode == "bonus" and scale == "none":  # the granted group is scaled by 1 + alpha
        expected_video = 1.3 * plain_video
    elif mode == "bonus":  # batch: one std over both groups, (1 + alpha) more weight on the video group
        assert (video / image).tolist() == pytest.approx([1.3] * G, rel=1e-4)
        expected_video = video
    else:
        term = 0.3 if mode == "bonus_advantage" else 0.3 * (0.5 - 0.0)
        # centred: the term's group mean (term * p, p = 0.5) is taken off every row
        expected_video = plain_video + term * (correct - correct.mean() if center else correct)
        assert plain_video.abs().tolist() == pytest.approx([base] * G, rel=1e-4)
    torch.testing.assert_close(video, expected_video, atol=1e-4, rtol=0)
    assert not torch.allclose(video, plain_video, atol=1e-3)
    if scale != "batch":  # under batch scaling the shared std moves the image group too
        torch.testing.assert_close(image, plain_image, atol=0, rtol=0)
    log = trainer.state.log_history[0]
    assert log["temporal/adv_moved_frac"] == 1.0
    assert log["temporal/adv_abs_change"] > 1e-3


def test_project_advantages_equal_trls(tiny_checkpoint, mixed_pair, tgrpo_config):
    """grpo_advantages (used for the effect metric) is TRL's own normalisation: checked on TRL's log."""
    for scale in ("group", "batch", "none"):
        trainer, _, _ = _step(
            tiny_checkpoint, mixed_pair, _config(tgrpo_config, scale_rewards=scale, len_control=True)
        )
        logs = trainer._logs
        names = trainer.reward_func_names
        rewards = torch.tensor([logs["rewards"][name] for name in names]).T
        expected = grpo_advantages(rewards, trainer.reward_weights, G, scale)
        torch.testing.assert_close(torch.tensor(list(logs["advantages"])), expected, atol=1e-6, rtol=0)


def test_length_effect_is_logged(tiny_checkpoint, mixed_pair, tgrpo_config):
    trainer, _, _ = _step(tiny_checkpoint, mixed_pair, _config(tgrpo_config, len_control=True, len_min=1))
    log = trainer.state.log_history[0]
    # every completion is 6 tokens (no EOS from a random model): both correct ones of each group get +0.2
    assert log["length/bonus_rate"] == 0.5
    assert log["length/adv_moved_frac"] == 0.0  # ... which is affine again: divided out
    assert "length/adv_abs_change" in log
