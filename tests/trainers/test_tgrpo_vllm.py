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
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from video_r1.data.records import load_records
from video_r1.models.qwen2_5_vl import VISION_PLACEHOLDER_TOKENS
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.rewards.accuracy import completion_text
from video_r1.trainers import TGRPOConfig, TGRPOTrainer
from video_r1.trainers.tgrpo_trainer import (
    MediaAwareLLM,
    VLLMMedia,
    restore_vllm_media,
    suppress_tokens_kwargs,
)
from video_r1.vllm_inputs import vllm_request


def varied_reward(completions, **kwargs):
    return [len(completion_text(c)) / 10.0 for c in completions]


class CPUStandInLLM:
    """Records the prompts ``vllm.LLM.generate`` would get; answers with fixed completions of varied length."""

    def __init__(self, completions: list[list[int]]):
        self.completions = completions
        self.prompts: list[dict] = []
        self.sampling_params = []

    def generate(self, prompts, sampling_params=None, use_tqdm=False):
        outputs = []
        for prompt in prompts:
            ids = self.completions[len(self.prompts) % len(self.completions)]
            self.prompts.append(prompt)
            self.sampling_params.append(sampling_params)
            logprobs = [{t: SimpleNamespace(rank=1, logprob=-0.5)} for t in ids]
            seq = SimpleNamespace(token_ids=list(ids), logprobs=logprobs)
            outputs.append(SimpleNamespace(prompt_token_ids=prompt["prompt_token_ids"], outputs=[seq]))
        return outputs


@pytest.fixture(scope="module")
def mixed_pair(synthetic_data):
    records = load_records(synthetic_data["train"])
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _colocate_trainer(tiny_checkpoint, dataset, tmp_path, monkeypatch):
    """A trainer switched to TRL's vLLM colocate path with the CPU stand-in as its engine."""
    import trl.generation.vllm_generation as vllm_generation

    args = TGRPOConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        num_generations=2,
        shuffled_num_generations=1,
        max_completion_length=6,
        max_steps=1,
        learning_rate=1e-2,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        vision_preset="tiny",
        use_cpu=True,
        gradient_checkpointing=False,
        seed=0,
        vllm_importance_sampling_correction=False,
    )
    trainer = TGRPOTrainer(
        model=str(tiny_checkpoint),
        reward_funcs=[accuracy_reward, format_reward, varied_reward],
        args=args,
        train_dataset=dataset,
    )
    tokenizer = trainer.processing_class.tokenizer
    completions = [
        tokenizer.encode(text) + [tokenizer.eos_token_id] for text in ("<answer>A</answer>", "a", "bb b")
    ]
    engine = CPUStandInLLM(completions)
    # TRL's real VLLMGeneration.generate, with the engine it would have built replaced by the stand-in.
    generation = vllm_generation.VLLMGeneration.__new__(vllm_generation.VLLMGeneration)
    vision_ids = tokenizer.convert_tokens_to_ids(list(VISION_PLACEHOLDER_TOKENS))
    generation.__dict__.update(
        accelerator=trainer.accelerator,
        model=trainer.model,
        mode="colocate",
        tensor_parallel_size=1,
        enable_sleep_mode=False,
        _llm_weights_sleeping=False,
        temperature=1.0,
        top_p=0.95,
        top_k=0,
        min_p=None,
        repetition_penalty=1.0,
        max_completion_length=6,
        logprobs=0,
        structured_outputs_regex=None,
        generation_kwargs=suppress_tokens_kwargs({}, vision_ids, for_vllm=True),
        llm=engine,
    )
    generation.sync_weights = lambda: None  # the weights live in the trainer's own model here
    monkeypatch.setattr(vllm_generation, "SamplingParams", dict, raising=False)
    trainer.vllm_generation = generation
    trainer.use_vllm = True
    trainer.vllm_mode = "colocate"
    trainer._last_loaded_step = -1
    trainer._wrap_vllm_engine()
    return trainer, engine


def test_colocate_rollout_hands_vllm_the_trainer_media_and_trains(
    tiny_checkpoint, mixed_pair, tmp_path, monkeypatch
):
    trainer, engine = _colocate_trainer(tiny_checkpoint, mixed_pair, tmp_path, monkeypatch)
    assert isinstance(trainer.vllm_generation.llm, MediaAwareLLM)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()

    # one generate call: 2 ordered rows per prompt (video, image) + 1 shuffled row for the video prompt
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
    assert shuffled["prompt_token_ids"] == ordered["prompt_token_ids"] == shuffle["prompt_ids"]
    ordered_frames, ordered_md = ordered["multi_modal_data"]["video"]
    shuffled_frames, shuffled_md = shuffled["multi_modal_data"]["video"]
    assert np.array_equal(ordered_frames, shuffle["ordered_frames"].permute(0, 2, 3, 1).numpy())
    assert np.array_equal(shuffled_frames, ordered_frames[shuffle["permutation"]])
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
    assert rebuilt["input_ids"][0].tolist() == ordered["prompt_token_ids"]
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


def test_restore_vllm_media_swaps_only_stand_ins():
    frames = torch.arange(4 * 3 * 2 * 2, dtype=torch.uint8).reshape(4, 3, 2, 2)
    metadata = {
        "frames_indices": [0, 3, 6, 9],
        "total_num_frames": 10,
        "video_fps": 5.0,
        "width": 2,
        "height": 2,
        "duration": 2.0,
        "backend": "decord",
    }
    video = {"type": "video", "frames": frames, "video_metadata": metadata}
    image = Image.new("RGB", (4, 4))
    prompts = [
        {"prompt_token_ids": [1, 2], "multi_modal_data": {"image": VLLMMedia(video, "sampled_fps")}},
        {"prompt_token_ids": [3], "multi_modal_data": {"image": image}},
        {"prompt_token_ids": [4]},
    ]
    restored = restore_vllm_media(prompts)
    expected = vllm_request([1, 2], [video])
    array, md = restored[0]["multi_modal_data"]["video"]
    assert np.array_equal(array, expected["multi_modal_data"]["video"][0])
    assert array.shape == (4, 2, 2, 3) and array[1, 0, 1, 2] == frames[1, 2, 0, 1]
    assert md == expected["multi_modal_data"]["video"][1]
    assert md["fps"] == 5.0 and md["frames_indices"] == [0, 3, 6, 9]
    assert restored[0]["mm_processor_kwargs"] == {"do_sample_frames": False, "do_resize": False}
    assert restored[1] == prompts[1] and restored[2] == prompts[2]
    # the original's training M-RoPE: frames described as consecutive frames of a 2 fps clip
    fixed = VLLMMedia(video, "fixed_2fps").multi_modal_data["video"][1]
    assert fixed["fps"] == 2.0 and fixed["frames_indices"] == [0, 1, 2, 3] and fixed["total_num_frames"] == 4


def test_suppress_tokens_kwargs_for_hf_and_vllm():
    assert suppress_tokens_kwargs({"suppress_tokens": [5]}, [7, 5], for_vllm=False) == {
        "suppress_tokens": [5, 7]
    }
    out = suppress_tokens_kwargs({"logit_bias": {1: 2.0}, "seed": 3}, [7], for_vllm=True)
    assert out == {"logit_bias": {1: 2.0, 7: -100.0}, "seed": 3}
    assert "suppress_tokens" not in out


def test_vllm_request_validates_frames():
    md = {"frames_indices": [0, 1], "total_num_frames": 2, "video_fps": 2.0}
    with pytest.raises(ValueError, match="uint8"):
        vllm_request("x", [{"type": "video", "frames": torch.zeros(2, 3, 4, 4), "video_metadata": md}])
    with pytest.raises(ValueError, match="3 frames but metadata lists 2"):
        vllm_request(
            "x",
            [{"type": "video", "frames": torch.zeros(3, 3, 4, 4, dtype=torch.uint8), "video_metadata": md}],
        )
    request = vllm_request("text", None)
    assert request == {"prompt": "text"}
