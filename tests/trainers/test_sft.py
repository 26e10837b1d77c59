"""Video SFT (``video-r1 sft``) on the tiny checkpoint and the synthetic CoT records (CPU)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import AutoProcessor

from video_r1.data.collate import build_processor_inputs, with_media
from video_r1.data.media import MediaError
from video_r1.data.records import load_records
from video_r1.prompts import sft_target
from video_r1.testing.configs import tiny_cpu_args
from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer
from video_r1.trainers.sft import VideoSFTCollator

REPO_ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path, **overrides):
    return tiny_cpu_args(VideoSFTConfig, str(tmp_path / "out"), **{"max_steps": 2, **overrides})


@pytest.fixture(scope="module")
def records(synthetic_data):
    return load_records(synthetic_data["cot"], require_process=True)


@pytest.fixture(scope="module")
def mixed_pair(records):
    """One video record and one image record: a batch of 2 holds both."""
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


@pytest.fixture(scope="module")
def processor(tiny_checkpoint):
    return AutoProcessor.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="module")
def sft_rows(mixed_pair):
    """The pair as the trainer's DataLoader sees it: decoded media + the SFT conversation."""
    dataset = with_media(mixed_pair, "tiny", variant="sft")
    return [dataset[0], dataset[1]]


def _trainer(tiny_checkpoint, dataset, args):
    return VideoSFTTrainer(model=str(tiny_checkpoint), args=args, train_dataset=dataset)


# ------------------------------------------------------------------------------------------------------
# Training


def test_two_steps_on_mixed_image_video_batch_change_parameters(tiny_checkpoint, mixed_pair, tmp_path):
    trainer = _trainer(tiny_checkpoint, mixed_pair, _config(tmp_path))
    batches = []
    collate = trainer.data_collator

    def recording(rows):
        batch = collate(rows)
        batches.append(batch)
        return batch

    trainer.data_collator = recording
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    assert trainer.state.global_step == 2
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("model.language_model") for n in changed)
    assert any(n.startswith("model.visual") for n in changed)  # pixels of both media reached the loss
    # every batch carries both samples' media (the original passed only the last sample's)
    for batch in batches[:2]:
        assert batch["input_ids"].shape[0] == 2
        assert batch["image_grid_thw"].shape[0] == 1 and batch["video_grid_thw"].shape[0] == 1
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert trainer.state.log_history[0]["data/skipped_media"] == 0.0


# ------------------------------------------------------------------------------------------------------
# Labels, token by token


def _expected_pieces(processor, row):
    """Unpadded ids of one row split into (prompt, completion, tail), built from the chat template pieces."""
    tok = processor.tokenizer
    prompt_text = processor.apply_chat_template(
        row["prompt"][:-1], tokenize=False, add_generation_prompt=True
    )
    prompt = build_processor_inputs(processor, [prompt_text], [row["media"]], return_tensors="pt")
    completion = tok(sft_target(row) + "<|im_end|>", add_special_tokens=False).input_ids
    tail = tok("\n", add_special_tokens=False).input_ids
    return prompt["input_ids"][0].tolist(), completion, tail


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("masking", ["completion_only", "original"])
def test_labels_token_by_token(processor, sft_rows, masking, padding_side):
    collator = VideoSFTCollator(processor, loss_masking=masking, padding_side=padding_side)
    batch = collator(sft_rows)
    tok = processor.tokenizer
    pad, image_pad, video_pad, vision_start = tok.convert_tokens_to_ids(
        ["<|endoftext|>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>"]
    )
    length = batch["input_ids"].shape[1]
    lengths = batch["attention_mask"].sum(1).tolist()
    assert lengths[0] != lengths[1]  # the batch really is padded
    for i, row in enumerate(sft_rows):
        prompt, completion, tail = _expected_pieces(processor, row)
        ids = prompt + completion + tail
        if masking == "completion_only":
            expected = [-100] * len(prompt) + completion + [-100] * len(tail)
        else:
            expected = [-100 if t in (pad, image_pad) else t for t in ids]
        padding = [-100] * (length - len(ids))
        expected = expected + padding if padding_side == "right" else padding + expected
        padded_ids = ids + [pad] * len(padding) if padding_side == "right" else [pad] * len(padding) + ids
        assert batch["input_ids"][i].tolist() == padded_ids
        assert batch["labels"][i].tolist() == expected
        labels = batch["labels"][i]
        if masking == "original":
            # the original trains on the prompt, the vision markers and every video placeholder
            assert (labels == vision_start).sum() == 1
            if row["data_type"] == "video":
                n_video = int(batch["video_grid_thw"].prod(-1).sum()) // 4
                assert (labels == video_pad).sum() == n_video > 0
            else:
                assert (batch["input_ids"][i] == image_pad).sum() > 0 and (labels == image_pad).sum() == 0
        else:
            assert not torch.isin(labels, torch.tensor([image_pad, video_pad, vision_start])).any()
            assert labels[labels != -100][-1] == tok.convert_tokens_to_ids("<|im_end|>")


# ------------------------------------------------------------------------------------------------------
# answer_loss_weight


def test_answer_loss_weight_is_the_weighted_token_mean(tiny_checkpoint, mixed_pair, tmp_path):
    weight = 20.0
    trainer = _trainer(tiny_checkpoint, mixed_pair, _config(tmp_path, answer_loss_weight=weight))
    dataset = trainer.train_dataset
    batch = trainer.data_collator([dataset[0], dataset[1]])
    tok = trainer.processing_class.tokenizer
    ids, labels, weights = batch["input_ids"], batch["labels"], batch["loss_weights"]
    open_id, close_id = tok.convert_tokens_to_ids(["<answer>", "</answer>"])
    # weights: 0 off the loss, w on the answer text (one letter/number token here), 1 elsewhere
    assert torch.equal(weights > 0, labels != -100)
    for i in range(2):
        row_ids = ids[i].tolist()
        last_open = len(row_ids) - 1 - row_ids[::-1].index(open_id)
        assert row_ids[last_open + 2] == close_id
        assert (weights[i] == weight).nonzero().squeeze(-1).tolist() == [last_open + 1]
        assert set(weights[i].unique().tolist()) == {0.0, 1.0, weight}

    model = trainer.model
    inputs = trainer._prepare_inputs(dict(batch))
    loss = trainer.compute_loss(model, dict(inputs))
    forward = {k: v for k, v in inputs.items() if k not in ("labels", "loss_weights", "skipped_media_count")}
    with torch.no_grad():
        logits = model(**forward).logits[:, :-1].float()
    target = labels[:, 1:]
    mask = target != -100
    nll = -torch.log_softmax(logits, -1).gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    w = weights[:, 1:]
    expected = (w * nll).sum() / w.sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    plain_mean = nll.sum() / mask.sum()
    # near-uniform random-init predictions: the weighting moves the loss a little, but far beyond the error
    assert abs(loss.item() - plain_mean.item()) > 100 * abs(loss.item() - expected.item())
    # Qwen2.5-VL declares accepts_loss_kwargs=False, so transformers passes no token count and averages
    # micro-batch losses; for a model that accepts one, the count is the accumulated total weight
    assert trainer._get_num_items_in_batch([batch], model.device) is None
    trainer.model_accepts_loss_kwargs = True
    total = trainer._get_num_items_in_batch([batch, batch], model.device)
    assert total.item() == pytest.approx(2 * w.sum().item())
    total = trainer._get_num_items_in_batch([batch], model.device)
    assert total.item() == pytest.approx(w.sum().item())
    loss_acc = trainer.compute_loss(model, dict(inputs), num_items_in_batch=total)
    assert loss_acc.item() == pytest.approx(expected.item(), rel=1e-5)

    # weight 1 (the default): no weights in the batch, TRL's plain token mean
    plain = VideoSFTCollator(trainer.processing_class)([dataset[0], dataset[1]])
    assert "loss_weights" not in plain
    plain_loss = trainer.compute_loss(model, dict(trainer._prepare_inputs(plain)))
    assert plain_loss.item() == pytest.approx(plain_mean.item(), rel=1e-5)


def test_config_validation(tmp_path):
    with pytest.raises(ValueError, match="loss_masking"):
        _config(tmp_path, loss_masking="prompt")
    with pytest.raises(ValueError, match="answer_loss_weight"):
        _config(tmp_path, answer_loss_weight=0.0)
    with pytest.raises(ValueError, match="loss_masking"):
        _config(tmp_path, assistant_only_loss=True)
    with pytest.raises(ValueError, match="skip_prepare_dataset"):
        _config(tmp_path, dataset_kwargs={"skip_prepare_dataset": False})
    default = _config(tmp_path)
    assert default.max_length is None and default.dataset_kwargs == {"skip_prepare_dataset": True}
    assert default.loss_masking == "completion_only" and default.answer_loss_weight == 1.0


# ------------------------------------------------------------------------------------------------------
# Resume, CLI, errors


def test_resume_continues_at_the_same_step(tiny_checkpoint, records, tmp_path):
    dataset = records.select(range(4))
    full = _trainer(
        tiny_checkpoint, dataset, _config(tmp_path / "full", max_steps=2, save_strategy="steps", save_steps=1)
    )
    full.train()
    full_losses = {h["step"]: h["loss"] for h in full.state.log_history if "loss" in h}
    assert len(set(full_losses.values())) == 2

    resumed = _trainer(tiny_checkpoint, dataset, _config(tmp_path / "resumed", max_steps=2))
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "out" / "checkpoint-1"))
    resumed_losses = {h["step"]: h["loss"] for h in resumed.state.log_history if "loss" in h}
    # step 1 comes from the checkpoint's trainer_state.json; step 2 was trained after resuming on the same
    # batch from the restored weights and optimizer state (ResumeWithKeyMappingMixin), so it matches
    assert sorted(resumed_losses) == [1, 2] and resumed.state.global_step == 2
    assert resumed_losses[2] == pytest.approx(full_losses[2], abs=1e-5)
    full_params = dict(full.model.named_parameters())
    assert all(torch.allclose(p, full_params[n], atol=1e-6) for n, p in resumed.model.named_parameters())


def test_cli_end_to_end_output_feeds_tgrpo(tiny_checkpoint, synthetic_data, tmp_path):
    from video_r1.cli.main import main

    out = tmp_path / "sft"
    code = main(
        [
            "sft",
            "--config",
            str(REPO_ROOT / "configs" / "sft_tiny_cpu.yaml"),
            "--model_name_or_path",
            str(tiny_checkpoint),
            "--dataset_name",
            str(synthetic_data["cot"]),
            "--output_dir",
            str(out),
            "--max_steps",
            "2",
            "--save_strategy",
            "no",
        ]
    )
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["use_cache"] is True  # re-enabled for generation, as the original
    for name in ("model.safetensors", "chat_template.jinja", "tokenizer.json", "processor_config.json"):
        assert (out / name).is_file(), name

    # the SFT output is a complete checkpoint for the RL stage
    rl_args = tiny_cpu_args(
        TGRPOConfig, str(tmp_path / "rl"), per_device_train_batch_size=2, max_completion_length=4
    )
    rl_data = load_records(synthetic_data["train"]).select(range(1))
    rl = TGRPOTrainer(model=str(out), args=rl_args, train_dataset=rl_data)
    rl.train()
    assert rl.state.global_step == 1


def test_cli_bad_record_names_file_and_record(tiny_checkpoint, synthetic_data, tmp_path, capsys):
    from video_r1.cli.main import main

    rows = json.loads(synthetic_data["cot"].read_text())
    bad_id = rows[3]["problem_id"]
    del rows[3]["process"]
    bad = tmp_path / "bad_cot.json"
    bad.write_text(json.dumps(rows, indent=1))
    assert (
        main(
            [
                "sft",
                "--config",
                str(REPO_ROOT / "configs" / "sft_tiny_cpu.yaml"),
                "--model_name_or_path",
                str(tiny_checkpoint),
                "--dataset_name",
                str(bad),
                "--output_dir",
                str(tmp_path / "out"),
            ]
        )
        == 1
    )
    (message,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert message.startswith("video-r1 sft: error: ")
    assert str(bad) in message and f"problem_id={bad_id!r}" in message and "'process'" in message


def test_missing_media_names_record_and_path(tiny_checkpoint, records, tmp_path):
    dataset = records.select([0])
    missing = str(tmp_path / "nowhere.mp4")
    dataset = dataset.map(lambda r: {"media_path": missing})
    with pytest.raises(MediaError) as info:
        _trainer(tiny_checkpoint, dataset, _config(tmp_path))  # the trainer reads the first sample at init
    assert info.value.path == missing and info.value.problem_id == records[0]["problem_id"]
    assert missing in str(info.value)


def test_skip_bad_media_trains_on_the_next_record_and_counts_it(tiny_checkpoint, records, tmp_path):
    dataset = records.select([0, 1])
    missing = str(tmp_path / "nowhere.mp4")
    dataset = dataset.map(lambda r, i: {"media_path": missing} if i == 1 else {}, with_indices=True)
    args = _config(tmp_path, on_bad_media="skip", max_steps=1, per_device_train_batch_size=2)
    trainer = _trainer(tiny_checkpoint, dataset, args)
    trainer.train()
    assert trainer.state.log_history[0]["data/skipped_media"] >= 1.0
    assert trainer.media_policy.count_logged() >= 1  # <output_dir>/skipped_media.jsonl names the record
    logged = (tmp_path / "out" / "skipped_media.jsonl").read_text()
    assert missing in logged and str(records[1]["problem_id"]) in logged
