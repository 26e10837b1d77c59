"""T-GRPO trainer on the tiny checkpoint and the synthetic dataset (CPU, HF generate path)."""

from __future__ import annotations

import math

import pytest
import torch

from video_r1.data.records import load_records
from video_r1.rewards import accuracy_reward, format_reward, length_bonus, temporal_bonus
from video_r1.rewards.accuracy import completion_text
from video_r1.trainers import TGRPOTrainer
from video_r1.trainers.rollout import Rollout, ShuffledRows


def varied_reward(completions, **kwargs):
    """A reward with spread inside every group, so that advantages (and gradients) are non-zero."""
    return [len(completion_text(c)) / 10.0 for c in completions]


@pytest.fixture(scope="module")
def records(synthetic_data):
    return load_records(synthetic_data["train"])


@pytest.fixture(scope="module")
def mixed_pair(records):
    """One video record and one image record: a generation batch of 2 prompts holds both."""
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _trainer(tiny_checkpoint, dataset, args, reward_funcs=None):
    funcs = reward_funcs if reward_funcs is not None else [accuracy_reward, format_reward, varied_reward]
    return TGRPOTrainer(model=str(tiny_checkpoint), reward_funcs=funcs, args=args, train_dataset=dataset)


def _rollout_with_shuffled(rows, completion_ids):
    """A rollout whose shuffled rows already hold their completions (for calling _calculate_rewards)."""
    return Rollout(
        media=[],
        prompt_ids=[],
        vision=[],
        mm=[],
        shuffled=ShuffledRows(rows=list(rows), completion_ids=list(completion_ids)),
    )


def _record_generate(trainer):
    calls = []
    real = trainer.model.generate

    def generate(*args, **kwargs):
        calls.append(
            {
                "rows": kwargs["input_ids"].shape[0],
                "videos": 0 if "video_grid_thw" not in kwargs else kwargs["video_grid_thw"].shape[0],
                "images": 0 if "image_grid_thw" not in kwargs else kwargs["image_grid_thw"].shape[0],
                "suppress": kwargs["generation_config"].suppress_tokens,
            }
        )
        return real(*args, **kwargs)

    trainer.model.generate = generate
    return calls


def test_step_on_mixed_image_video_batch_changes_parameters(
    tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config
):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config())
    calls = _record_generate(trainer)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("model.language_model") for n in changed)
    # the vision tower only gets a gradient when pixels reach the loss forward
    assert any(n.startswith("model.visual") for n in changed)
    # one generate call: 2 ordered rows per prompt (video + image) + 1 shuffled row for the video prompt
    assert [(c["rows"], c["videos"], c["images"]) for c in calls] == [(5, 3, 2)]
    vision_ids = trainer.processing_class.tokenizer.convert_tokens_to_ids(["<|video_pad|>", "<|image_pad|>"])
    assert set(vision_ids) <= set(calls[0]["suppress"])
    loss = trainer.state.log_history[0]["loss"]
    assert math.isfinite(loss)


@pytest.mark.parametrize("unit", ["frame", "temporal_patch"])
def test_shuffled_rollout_sees_same_text_and_permuted_frames(
    tiny_checkpoint, records, tmp_path, unit, tgrpo_config
):
    dataset = records.select(range(6))
    trainer = _trainer(
        tiny_checkpoint,
        dataset,
        tgrpo_config(shuffle_unit=unit, per_device_train_batch_size=12, record_shuffles=True),
    )
    seen = []  # (problem_id, frames) of every processor call: ordered and shuffled
    process = trainer._process_sample

    def recording(prompt, media):
        seen.append(media["frames"] if media["type"] == "video" else None)
        return process(prompt, media)

    trainer._process_sample = recording
    trainer.train()
    videos = {pid for pid, t in zip(records["problem_id"], records["data_type"], strict=True) if t == "video"}
    assert trainer.last_shuffle, "no shuffled rollout happened"
    ordered = [f for f in seen if f is not None]
    for entry in trainer.last_shuffle:
        assert entry.problem_id in videos  # image prompts get no shuffled rollout
        perm = entry.permutation
        assert sorted(perm) == list(range(len(perm))) and perm != sorted(perm)
        # the processor saw these frames in exactly this permuted order (and the ordered ones too)
        assert any(any(torch.equal(frames, source[perm]) for frames in ordered) for source in ordered), (
            "no processor call got a video's frames in the recorded permuted order"
        )
        assert entry.prompt_ids == entry.ordered_prompt_ids  # same text, same number of vision tokens
        if unit == "temporal_patch":
            assert all(perm[i + 1] == perm[i] + 1 and perm[i] % 2 == 0 for i in range(0, len(perm), 2))


def test_temporal_false_is_plain_grpo(tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config(temporal=False))
    calls = _record_generate(trainer)
    trainer.train()
    assert [c["rows"] for c in calls] == [4]
    assert trainer.last_shuffle == []
    assert trainer._rollout is None
    assert "temporal_bonus" not in trainer.reward_func_names
    assert "temporal/bonus_rate" not in trainer.state.log_history[0]


def test_rewards_before_advantages_apply_bonuses_per_group(
    tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config
):
    """Hand-built completions through _calculate_rewards: columns equal the rewards package's functions."""
    args = tgrpo_config(num_generations=4, shuffled_num_generations=2, len_min=3, len_max=5)
    trainer = _trainer(tiny_checkpoint, mixed_pair, args, reward_funcs=[accuracy_reward, format_reward])
    trainer.model.train()
    tok = trainer.processing_class.tokenizer
    video = {"type": "video"}
    image = {"type": "image"}
    rows = [{"media": video, "solution": "<answer>A</answer>", "problem_type": "multiple choice"}] * 4 + [
        {"media": image, "solution": "<answer>3</answer>", "problem_type": "numerical"}
    ] * 4
    texts = [
        "<think>x</think><answer>A</answer>",  # correct, formatted
        "<answer>A</answer>",  # correct, unformatted
        "<answer>B</answer>",
        "<think>y</think><answer>A</answer>",
        "<answer>3</answer>",
        "<answer>3</answer>",
        "<answer>4</answer>",
        "<think>z</think><answer>2</answer>",
    ]
    completion_ids = [tok(t).input_ids + [tok.eos_token_id] for t in texts]
    shuffled_texts = ["<answer>A</answer>", "<answer>B</answer>"]
    trainer._rollout = _rollout_with_shuffled(
        rows=[0, 1], completion_ids=[tok(t).input_ids for t in shuffled_texts]
    )
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    rewards = trainer._calculate_rewards(rows, [None] * 8, completions, completion_ids)
    names = trainer.reward_func_names
    assert names == ["accuracy_reward", "format_reward", "temporal_bonus", "length_bonus"]

    acc = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    assert rewards[:, 0].tolist() == acc.tolist()
    assert rewards[:, 1].tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    # video group: p = 0.75 >= 0.8 * p~ (p~ = 0.5) -> +0.3 on each correct completion
    expected, granted = temporal_bonus(acc[:4], torch.tensor([1.0, 0.0]), alpha=0.3, mu=0.8, threshold=0.1)
    assert granted
    assert rewards[:4, 2].tolist() == pytest.approx((expected - acc[:4]).tolist())
    assert rewards[:4, 2].tolist() == pytest.approx([0.3, 0.3, 0.0, 0.3])
    assert rewards[4:, 2].tolist() == [0.0] * 4  # images: no temporal bonus
    lengths = torch.tensor([float(len(ids)) for ids in completion_ids])
    expected_len = torch.cat(
        [
            length_bonus(acc[s], lengths[s], low=3, high=5, bonus=0.2, threshold=0.1)
            for s in (slice(0, 4), slice(4, 8))
        ]
    )
    assert rewards[:, 3].tolist() == pytest.approx(expected_len.tolist())
    assert (expected_len > 0).any()  # the window [3, 5] catches some completions
    log = trainer._metrics["train"]
    assert log["temporal/bonus_rate"][-1] == 1.0
    assert log["temporal/ordered_accuracy"][-1] == pytest.approx(0.75)
    assert log["temporal/shuffled_accuracy"][-1] == pytest.approx(0.5)


def test_temporal_bonus_withheld_when_shuffled_does_as_well(tiny_checkpoint, mixed_pair, tgrpo_config):
    args = tgrpo_config(num_generations=2, shuffled_num_generations=2, temporal_mu=1.0, len_control=False)
    trainer = _trainer(tiny_checkpoint, mixed_pair, args, reward_funcs=[accuracy_reward])
    trainer.model.train()
    tok = trainer.processing_class.tokenizer
    rows = [
        {"media": {"type": "video"}, "solution": "<answer>A</answer>", "problem_type": "multiple choice"}
    ] * 2
    texts = ["<answer>A</answer>", "<answer>B</answer>"]  # p = 0.5
    # p~ = 1.0
    trainer._rollout = _rollout_with_shuffled(
        rows=[0, 1], completion_ids=[tok("<answer>A</answer>").input_ids] * 2
    )
    rewards = trainer._calculate_rewards(
        rows,
        [None] * 2,
        [[{"role": "assistant", "content": t}] for t in texts],
        [tok(t).input_ids for t in texts],
    )
    assert rewards[:, trainer.reward_func_names.index("temporal_bonus")].tolist() == [0.0, 0.0]
    assert trainer._metrics["train"]["temporal/bonus_rate"][-1] == 0.0


def test_config_validation(tmp_path, tgrpo_config):
    with pytest.raises(ValueError, match="shuffle_unit"):
        tgrpo_config(shuffle_unit="clip")
    with pytest.raises(ValueError, match="accuracy"):
        tgrpo_config(reward_funcs=["format"])
    default = tgrpo_config(num_generations=8, per_device_train_batch_size=8, shuffled_num_generations=None)
    assert default.shuffled_num_generations == 4
    with pytest.raises(ValueError, match="shuffled_num_generations"):
        tgrpo_config(num_generations=2, shuffled_num_generations=3)
    with pytest.raises(ValueError, match="temporal_center"):  # the original bonus has no term to centre
        tgrpo_config(temporal_center=True)
    assert tgrpo_config(temporal_mode="order_gap", temporal_center=True).temporal_center


def test_resume_continues_where_it_stopped(tiny_checkpoint, records, tmp_path, tgrpo_config):
    dataset = records.select(range(8))
    full = _trainer(
        tiny_checkpoint,
        dataset,
        tgrpo_config(
            output_dir=str(tmp_path / "full" / "out"), max_steps=3, save_strategy="steps", save_steps=1
        ),
    )
    full.train()
    full_losses = {h["step"]: h["loss"] for h in full.state.log_history if "loss" in h}
    assert len(set(full_losses.values())) > 1  # the losses differ from step to step

    resumed = _trainer(
        tiny_checkpoint, dataset, tgrpo_config(output_dir=str(tmp_path / "resumed" / "out"), max_steps=3)
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "out" / "checkpoint-1"))
    resumed_losses = {h["step"]: h["loss"] for h in resumed.state.log_history if "loss" in h}
    # step 1 comes from the checkpoint's trainer_state.json; steps 2 and 3 were trained after resuming
    assert sorted(resumed_losses) == [1, 2, 3]
    assert resumed.state.global_step == 3
    for step in (1, 2, 3):
        assert resumed_losses[step] == pytest.approx(full_losses[step], abs=1e-6)
    full_params = dict(full.model.named_parameters())
    assert all(torch.allclose(p, full_params[n], atol=1e-6) for n, p in resumed.model.named_parameters())


def test_config_object_is_not_mutated_by_the_trainer(tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config):
    args = tgrpo_config(reward_weights=[1.0, 0.5])
    funcs = [accuracy_reward, format_reward]
    for _ in range(2):
        trainer = _trainer(tiny_checkpoint, mixed_pair, args, reward_funcs=funcs)
        # accuracy weight carried to the temporal bonus column, weight 1 for the length bonus
        assert trainer.reward_weights.tolist() == [1.0, 0.5, 1.0, 1.0]
    assert args.reward_weights == [1.0, 0.5]
    assert args.generation_kwargs is None


def test_prompt_longer_than_max_prompt_length_names_the_record(
    tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config
):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config(max_prompt_length=20))
    problem_id = mixed_pair[0]["problem_id"]
    with pytest.raises(ValueError, match=rf"problem_id={problem_id} .*max_prompt_length=20"):
        trainer.train()


def test_each_video_decoded_once_per_step_shuffled_copy_included(
    tiny_checkpoint, mixed_pair, tmp_path, monkeypatch, tgrpo_config
):
    from video_r1.data import vision

    decoded = []
    real = vision.load_video

    def load_video(path, *args, **kwargs):
        decoded.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(vision, "load_video", load_video)
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config(max_steps=2, record_shuffles=True))
    trainer.train()
    assert trainer.last_shuffle  # the shuffled rollout happened (from the already decoded frames)
    # 2 steps x 1 video prompt (repeated G times in the batch): one decode per step, none for the shuffled copy
    assert decoded == [mixed_pair[0]["media_path"]] * 2


def test_a_skipped_record_is_counted_once_not_once_per_completion(tiny_checkpoint, records, tgrpo_config):
    """data/skipped_media counts records: one bad record behind a prompt with G=4 completions counts 1."""
    videos = [i for i, t in enumerate(records["data_type"]) if t == "video"]
    dataset = records.select(videos[:2]).map(
        lambda r, i: {"media_path": "/nonexistent/clip.mp4"} if i == 0 else {}, with_indices=True
    )
    args = tgrpo_config(
        on_bad_media="skip", per_device_train_batch_size=4, num_generations=4, shuffle_dataset=False
    )
    trainer = _trainer(tiny_checkpoint, dataset, args)
    trainer.train()
    assert trainer.state.log_history[0]["data/skipped_media"] == 1.0
    assert trainer.media_policy.count_logged() >= 1


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_video_backend_travels_inside_the_preset(tiny_checkpoint, mixed_pair, tgrpo_config, backend):
    """One route from the config to the decoder: the resolved VisionPreset carries max_frames and the backend."""
    args = tgrpo_config(video_backend=backend, max_frames=4)
    preset = args.resolved_preset()
    assert (preset.name, preset.video_backend, preset.max_frames) == ("tiny", backend, 4)
    trainer = _trainer(tiny_checkpoint, mixed_pair, args)
    media = trainer.train_dataset[0]["media"]
    assert media["type"] == "video"
    assert media["video_metadata"]["backend"] == backend
    assert media["frames"].shape[0] <= 4
