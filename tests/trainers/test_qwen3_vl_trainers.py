"""The trainers on the tiny Qwen3-VL checkpoint: the family is read from the checkpoint's config (no flag)."""

from __future__ import annotations

import logging

import pytest
import torch

from video_r1.data.records import load_records
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.rewards.accuracy import completion_text
from video_r1.trainers import TGRPOTrainer


def varied_reward(completions, **kwargs):
    """Spread inside every group, so advantages (and gradients) are non-zero."""
    return [len(completion_text(c)) / 10.0 for c in completions]


@pytest.fixture(scope="module")
def videos(synthetic_data):
    records = load_records(synthetic_data["train"])
    types = records["data_type"]
    return records.select([i for i, t in enumerate(types) if t == "video"][:2])


def test_tgrpo_step_shuffles_whole_patches_under_the_same_prompt(
    tiny_qwen3_vl_checkpoint, videos, tgrpo_config, caplog
):
    args = tgrpo_config(record_shuffles=True)
    assert args.shuffle_unit is None  # the family's default
    with caplog.at_level(logging.WARNING, logger="video_r1.trainers.video_grpo_trainer"):
        trainer = TGRPOTrainer(
            model=str(tiny_qwen3_vl_checkpoint),
            reward_funcs=[accuracy_reward, format_reward, varied_reward],
            args=args,
            train_dataset=videos,
        )
    assert trainer.family.name == "Qwen3-VL"
    assert trainer.args.shuffle_unit == "temporal_patch"
    assert trainer.args.reuse_vision_features is False
    assert [r.message for r in caplog.records if "reuse_vision_features" in r.message] == [
        f"reuse_vision_features switched off for Qwen3-VL: {trainer.family.shared_vision_unsupported}"
    ]
    seen = []  # (frames, vision fields, prompt ids) of every processor call: ordered and shuffled
    process = trainer._process_sample

    def recording(prompt, media):
        out = process(prompt, media)
        seen.append((media["frames"], out[1], out[0]))
        # the token types the log-prob forwards rebuild from ids equal the processor's own
        rebuilt = trainer.family.mm_token_type_ids(torch.tensor([out[0]]), trainer._vision_token_ids)
        assert rebuilt[0].tolist() == out[2]
        return out

    trainer._process_sample = recording
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("model.language_model") for n in changed)
    assert any(n.startswith("model.visual") for n in changed)

    assert trainer.last_shuffle, "no shuffled rollout happened"
    for entry in trainer.last_shuffle:
        perm = entry.permutation
        assert perm != sorted(perm)
        assert all(perm[i + 1] == perm[i] + 1 and perm[i] % 2 == 0 for i in range(0, len(perm), 2))
        # identical prompt ids: same text, same ascending timestamps, same placeholders
        assert entry.prompt_ids == entry.ordered_prompt_ids
        ordered = next(v for f, v, ids in seen if ids == entry.ordered_prompt_ids)  # ordered come first
        shuffled = [v for f, v, ids in seen if ids == entry.prompt_ids]
        assert "second_per_grid_ts" not in ordered
        t, h, w = ordered["video_grid_thw"][0].tolist()
        patches = ordered["pixel_values_videos"].view(t, h * w, -1)
        order = torch.tensor(perm[::2]) // 2
        # some processor call got the ordered video's patches in exactly the recorded patch order
        assert any(torch.equal(v["pixel_values_videos"].view(t, h * w, -1), patches[order]) for v in shuffled)


def test_vllm_colocate_step_sends_template_ids_and_the_ordered_metadata(
    tiny_qwen3_vl_checkpoint, videos, tmp_path, monkeypatch
):
    """TRL's colocate rollout on Qwen3-VL: vLLM gets the chat template's ids (it writes the timestamps and
    expands the placeholders itself), the frames in order / permuted, and the ordered video's metadata."""
    import numpy as np
    from transformers import AutoTokenizer
    from transformers.video_utils import VideoMetadata

    from video_r1.testing.colocate import StandInEngine, colocate_trainer
    from video_r1.testing.configs import tiny_cpu_args
    from video_r1.trainers import TGRPOConfig

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3_vl_checkpoint)
    engine = StandInEngine(
        [tokenizer.encode(t) + [tokenizer.eos_token_id] for t in ("<answer>A</answer>", "b")]
    )
    args = tiny_cpu_args(
        TGRPOConfig,
        str(tmp_path / "out"),
        record_shuffles=True,
        use_vllm=True,
        vllm_mode="colocate",
        vllm_importance_sampling_correction=False,
        per_device_train_batch_size=2,
    )
    trainer = colocate_trainer(
        monkeypatch,
        str(tiny_qwen3_vl_checkpoint),
        videos.select([0]),
        engine,
        reward_funcs=[accuracy_reward, format_reward, varied_reward],
        args=args,
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    assert engine.calls == 1 and len(engine.prompts) == 3  # 2 ordered rows + 1 shuffled row
    (shuffle,) = trainer.last_shuffle
    ordered, shuffled = engine.prompts[0], engine.prompts[-1]
    processor = trainer.processing_class
    row = trainer.train_dataset[0]
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    template_ids = processor.tokenizer(text)["input_ids"]  # one <|vision_start|><|video_pad|><|vision_end|>
    assert ordered["prompt_token_ids"] == shuffled["prompt_token_ids"] == template_ids
    assert ordered["mm_processor_kwargs"] == {
        "do_sample_frames": False,
        "videos_kwargs": {"do_resize": False},
    }

    ordered_frames, ordered_md = ordered["multi_modal_data"]["video"]
    shuffled_frames, shuffled_md = shuffled["multi_modal_data"]["video"]
    decoded = row["media"]["frames"]
    assert decoded.shape[-1] % 32 == 0 and decoded.shape[-2] % 32 == 0  # the family's size_factor
    assert np.array_equal(ordered_frames, decoded.permute(0, 2, 3, 1).numpy())
    assert np.array_equal(shuffled_frames, ordered_frames[shuffle.permutation])
    assert not np.array_equal(shuffled_frames, ordered_frames)
    assert shuffled_md == ordered_md  # so vLLM writes the ordered prompt's ascending timestamps

    # the HF processor on the request's text, frames and metadata rebuilds the trainer's expanded prompt
    metadata = VideoMetadata(**{k: v for k, v in ordered_md.items() if k != "do_sample_frames"})
    rebuilt = processor(
        text=[text],
        videos=[torch.from_numpy(shuffled_frames).permute(0, 3, 1, 2)],
        videos_kwargs={"video_metadata": [metadata], "do_sample_frames": False, "do_resize": False},
    )
    assert rebuilt["input_ids"][0] == shuffle.prompt_ids == shuffle.ordered_prompt_ids
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)]
    assert changed


@pytest.mark.parametrize(
    "checkpoint, family", [("tiny_qwen3_vl_checkpoint", "Qwen3-VL"), ("tiny_qwen3_5_checkpoint", "Qwen3.5")]
)
def test_sft_step_on_mixed_batch_trains_only_the_assistant_turn(
    checkpoint, family, request, synthetic_data, tmp_path
):
    from video_r1.testing.configs import tiny_cpu_args
    from video_r1.trainers import VideoSFTConfig, VideoSFTTrainer

    records = load_records(synthetic_data["cot"], require_process=True)
    types = records["data_type"]
    pair = records.select([types.index("video"), types.index("image")])
    args = tiny_cpu_args(VideoSFTConfig, str(tmp_path / "out"), answer_loss_weight=10.0)
    trainer = VideoSFTTrainer(model=str(request.getfixturevalue(checkpoint)), args=args, train_dataset=pair)
    assert trainer.family.name == family
    rows = [trainer.train_dataset[0], trainer.train_dataset[1]]
    batch = trainer.data_collator(rows)
    assert "second_per_grid_ts" not in batch and batch["video_grid_thw"].shape[0] == 1
    assert all(s % 32 == 0 for s in rows[0]["media"]["frames"].shape[-2:])
    tokenizer = trainer.processing_class.tokenizer
    for i, row in enumerate(rows):
        labelled = batch["labels"][i][batch["labels"][i] != -100].tolist()
        target = row["prompt"][-1]["content"]
        target = target if isinstance(target, str) else "".join(c.get("text", "") for c in target)
        # the reply as the family's chat template writes it (Qwen3.5's puts the think content on its own lines)
        rendered = trainer.processing_class.apply_chat_template(row["prompt"], tokenize=False)
        reply = rendered.rsplit("<|im_start|>assistant\n", 1)[1].split("<|im_end|>")[0]
        assert (reply == target) == (family == "Qwen3-VL"), (reply, target)
        assert labelled == tokenizer(reply, add_special_tokens=False)["input_ids"] + [
            tokenizer.convert_tokens_to_ids("<|im_end|>")
        ]
        # answer_loss_weight falls on exactly the tokens between <answer> and </answer>
        heavy = batch["input_ids"][i][batch["loss_weights"][i] == 10.0].tolist()
        answer = reply.split("<answer>")[1].split("</answer>")[0]
        assert tokenizer.decode(heavy) == answer, (tokenizer.decode(heavy), answer)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("model.language_model") for n in changed)
    assert any(n.startswith("model.visual") for n in changed)


def test_qwen3_5_tgrpo_step_through_the_same_wiring(tiny_qwen3_5_checkpoint, videos, tgrpo_config):
    """Qwen3.5 shares the timestamped video processing: the same trainer code runs one T-GRPO step. Its
    generation prompt opens the think block, so the reward functions see every completion behind it."""
    seen: list[str] = []

    def recording_reward(completions, **kwargs):
        seen.extend(completion_text(c) for c in completions)
        return varied_reward(completions)

    trainer = TGRPOTrainer(
        model=str(tiny_qwen3_5_checkpoint),
        reward_funcs=[accuracy_reward, format_reward, recording_reward],
        args=tgrpo_config(record_shuffles=True, per_device_train_batch_size=2),
        train_dataset=videos.select([0]),
    )
    assert trainer.family.name == "Qwen3.5" and trainer.reply_prefix == "<think>\n"
    assert (trainer.args.shuffle_unit, trainer.args.reuse_vision_features) == ("temporal_patch", False)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    (entry,) = trainer.last_shuffle
    assert entry.prompt_ids == entry.ordered_prompt_ids and entry.permutation != sorted(entry.permutation)
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
    assert seen and all(text.startswith("<think>\n") for text in seen)
    # a reply the model ends correctly earns the format reward once the template's opening is in front
    reply = "left\n</think>\n\n<answer>A</answer>"
    assert format_reward(trainer.with_reply_prefix([reply])) == [1.0] and format_reward([reply]) == [0.0]
