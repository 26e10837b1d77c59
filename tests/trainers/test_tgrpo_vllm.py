"""vLLM rollouts of the T-GRPO trainer, tested on CPU without vLLM.

vLLM is GPU-only. What can be checked here is everything the trainer hands it: TRL's own colocate code
(``VLLMGeneration.generate``, unmodified) builds the requests, and a CPU stand-in for ``vllm.LLM`` records
them and answers with fixed completions. The tests check that the requests carry the same frames (ordered
and shuffled), the same metadata and processor settings the HF path uses - re-processing a request with
the HF processor, as vLLM does internally, must give exactly the trainer's prompt ids and
``second_per_grid_ts`` - and that a full training step runs on the returned completions.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from PIL import Image

from video_r1.data.records import load_records
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.rewards.accuracy import completion_text
from video_r1.testing.colocate import StandInEngine, colocate_trainer
from video_r1.testing.configs import tiny_cpu_args
from video_r1.trainers import TGRPOConfig
from video_r1.vllm.colocate import MediaAwareLLM
from video_r1.vllm.requests import collapse_placeholders


def varied_reward(completions, **kwargs):
    return [len(completion_text(c)) / 10.0 for c in completions]


@pytest.fixture(scope="module")
def mixed_pair(synthetic_data):
    records = load_records(synthetic_data["train"])
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _colocate_trainer(tiny_checkpoint, dataset, tmp_path, monkeypatch):
    """A trainer on TRL's vLLM colocate path whose engine core is the CPU stand-in."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    completions = [
        tokenizer.encode(text) + [tokenizer.eos_token_id] for text in ("<answer>A</answer>", "a", "bb b")
    ]
    engine = StandInEngine(completions)
    args = tiny_cpu_args(
        TGRPOConfig,
        str(tmp_path / "out"),
        record_shuffles=True,
        use_vllm=True,
        vllm_mode="colocate",
        vllm_importance_sampling_correction=False,
    )
    trainer = colocate_trainer(
        monkeypatch,
        str(tiny_checkpoint),
        dataset,
        engine,
        reward_funcs=[accuracy_reward, format_reward, varied_reward],
        args=args,
    )
    return trainer, engine


def test_colocate_rollout_hands_vllm_the_trainer_media_and_trains(
    tiny_checkpoint, mixed_pair, tmp_path, monkeypatch
):
    launch_env = {name: os.environ.get(name) for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    trainer, engine = _colocate_trainer(tiny_checkpoint, mixed_pair, tmp_path, monkeypatch)
    # TRL's colocate set-up wrote launch variables for vLLM; they must not leak into later trainers
    assert {name: os.environ.get(name) for name in launch_env} == launch_env
    assert isinstance(trainer.vllm_generation.llm, MediaAwareLLM)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()

    # TRL built the engine from the trainer's config and synced the policy's weights into it
    assert engine.engine_args["model"] == str(tiny_checkpoint)
    assert any("visual" in name for name in engine.loaded_weights)
    assert any("layers" in name for name in engine.loaded_weights)
    # one generate call: 2 ordered rows per prompt (video, image) + 1 shuffled row for the video prompt
    assert engine.calls == 1
    assert len(engine.prompts) == 5
    kinds = [sorted(p.get("multi_modal_data", {})) for p in engine.prompts]
    assert kinds.count(["video"]) == 3 and kinds.count(["image"]) == 2
    assert kinds[-1] == ["video"]  # shuffled rows come after the ordered ones
    for prompt in engine.prompts:
        if "video" in prompt["multi_modal_data"]:
            assert prompt["mm_processor_kwargs"] == {"do_sample_frames": False, "do_resize": False}
        else:
            assert isinstance(prompt["multi_modal_data"]["image"], Image.Image)
            assert "mm_processor_kwargs" not in prompt
    bias = engine.sampling_params[0]["logit_bias"]
    video_pad = trainer.processing_class.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert bias[video_pad] == -100.0

    # the shuffled request: same prompt ids, frames = the ordered frames permuted, identical metadata
    (shuffle,) = trainer.last_shuffle
    ordered = next(p for p in engine.prompts[:4] if "video" in p["multi_modal_data"])
    shuffled = engine.prompts[-1]
    pads = [trainer._vision_token_ids["image"], trainer._vision_token_ids["video"]]
    assert shuffled["prompt_token_ids"] == ordered["prompt_token_ids"]
    # vLLM gets one placeholder per video and expands it itself; the trainer keeps the expanded ids
    assert ordered["prompt_token_ids"] == collapse_placeholders(shuffle.prompt_ids, pads)
    assert ordered["prompt_token_ids"].count(video_pad) == 1
    assert shuffle.prompt_ids.count(video_pad) > 1
    ordered_frames, ordered_md = ordered["multi_modal_data"]["video"]
    shuffled_frames, shuffled_md = shuffled["multi_modal_data"]["video"]
    # the ordered request carries the record's decoded frames (decoding is deterministic)
    decoded = trainer.train_dataset[0]["media"]["frames"]
    assert np.array_equal(ordered_frames, decoded.permute(0, 2, 3, 1).numpy())
    assert np.array_equal(shuffled_frames, ordered_frames[shuffle.permutation])
    assert not np.array_equal(shuffled_frames, ordered_frames)
    assert shuffled_md == ordered_md

    # vLLM runs the HF processor on exactly these inputs: it must rebuild the trainer's prompt
    from transformers.video_utils import VideoMetadata

    processor = trainer.processing_class
    row = trainer.train_dataset[0]
    assert row["data_type"] == "video"
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    metadata = {k: v for k, v in ordered_md.items() if k != "do_sample_frames"}
    rebuilt = processor(
        text=[text],
        videos=[torch.from_numpy(ordered_frames).permute(0, 3, 1, 2)],
        videos_kwargs={"video_metadata": [VideoMetadata(**metadata)], **ordered["mm_processor_kwargs"]},
        return_tensors="pt",
    )
    assert rebuilt["input_ids"][0].tolist() == shuffle.ordered_prompt_ids
    sampled_fps = len(metadata["frames_indices"]) / metadata["total_num_frames"] * metadata["fps"]
    assert rebuilt["second_per_grid_ts"][0] == pytest.approx(2 / sampled_fps)

    # and the step trained on the completions vLLM returned
    assert math.isfinite(trainer.state.log_history[0]["loss"])
    changed = {n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith("model.language_model") for n in changed)


def test_server_mode_refuses_video_with_a_clear_error(tiny_checkpoint, mixed_pair, tmp_path, monkeypatch):
    trainer, _ = _colocate_trainer(tiny_checkpoint, mixed_pair, tmp_path, monkeypatch)
    trainer.vllm_mode = "server"
    media = trainer.train_dataset[0]["media"]
    with pytest.raises(NotImplementedError, match="vllm_mode='colocate'"):
        trainer._vllm_media([media])
    image = trainer.train_dataset[1]["media"]
    assert trainer._vllm_media([image]) == [[image["image"]]]
