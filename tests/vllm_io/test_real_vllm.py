"""The project's requests through vLLM 0.31's real input processing, on CPU, compared with the HF path.

Runs in ``.venv-vllm`` (``bash setup.sh --vllm-check``; ``scripts/test.sh`` runs it after the main suite
and fails when that venv is missing). In the main venv, where vLLM is not installed, it is skipped.

What is real here: vLLM's renderer and Qwen2.5-VL multimodal processor and ``InputProcessor.process_inputs``
(everything ``vllm.LLM.generate`` does per prompt before the engine core), vLLM's device-side pixel
normalisation (``build_mm_input_norm``), vLLM's M-RoPE (``get_mrope_input_positions``), and on the training
side TRL's own ``VLLMGeneration`` colocate code with the T-GRPO trainer. Only the engine core (model
execution, sampling) is stood in for (:class:`video_r1.testing.colocate.StandInEngine`): it needs a GPU.

Every request kind - ordered and shuffled video, image, text only, in one rollout call, and the eval /
annotation backend's text prompts - must come out of vLLM's processing with the HF path's prompt ids,
placeholder ranges, grids, pixels, ``second_per_grid_ts`` (up to vLLM's bfloat16 cast) and M-RoPE positions,
for ``temporal_rope`` ``sampled_fps`` and ``fixed_2fps``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
if os.environ.get("VIDEO_R1_REQUIRE_VLLM") == "1":
    import vllm  # noqa: F401  (scripts/test.sh: a missing vLLM must fail, not skip)
vllm = pytest.importorskip(
    "vllm", reason="vLLM is not installed here: run in .venv-vllm (setup.sh --vllm-check)"
)

from video_r1.data.records import load_records  # noqa: E402
from video_r1.data.synthetic import encode_video  # noqa: E402
from video_r1.models.qwen2_5_vl import (  # noqa: E402
    install_released_mrope,
    released_rope_index,
    round_second_per_grid_ts,
    vision_token_ids,
)
from video_r1.rewards import accuracy_reward, format_reward  # noqa: E402
from video_r1.testing.colocate import StandInEngine, colocate_trainer  # noqa: E402
from video_r1.vllm.requests import vllm_request  # noqa: E402

pytestmark = pytest.mark.vllm


class RealInputProcessing:
    """What ``vllm.LLM.generate`` does with each prompt before the engine core, with vLLM's own code."""

    from vllm import LLM as _LLM

    # LLM's own preprocessing methods, bound to this object (they read .renderer and .model_config)
    _preprocess_cmpl = _LLM._preprocess_cmpl
    _preprocess_cmpl_one = _LLM._preprocess_cmpl_one

    def __init__(self, checkpoint, dtype="bfloat16"):
        from vllm.config import set_current_vllm_config
        from vllm.engine.arg_utils import EngineArgs
        from vllm.model_executor.layers.fusion.mm_input_norm import build_mm_input_norm
        from vllm.v1.engine.input_processor import InputProcessor

        self.vllm_config = EngineArgs(
            model=str(checkpoint),
            dtype=dtype,
            max_model_len=16384,
            limit_mm_per_prompt={"image": 1, "video": 1},
            mm_processor_cache_gb=0,  # every request carries its processed media (no cache hits)
        ).create_engine_config()
        self.model_config = self.vllm_config.model_config
        self.input_processor = InputProcessor(self.vllm_config)
        self.renderer = self.input_processor.renderer
        with set_current_vllm_config(self.vllm_config):
            self.input_norm = build_mm_input_norm(self.model_config)
        self.count = 0

    def __call__(self, prompt, sampling_params=None):
        from vllm import SamplingParams

        if isinstance(sampling_params, dict) or sampling_params is None:
            sampling_params = SamplingParams(**(sampling_params or {"max_tokens": 4}))
        engine_input = self._preprocess_cmpl_one(prompt)
        self.count += 1
        return self.input_processor.process_inputs(
            f"req-{self.count}", engine_input, sampling_params, ("generate",)
        )

    def positions(self, request) -> torch.Tensor:
        """vLLM's M-RoPE positions ``(3, L)`` for a processed request (Qwen2.5-VL's own method)."""
        from vllm.model_executor.models.qwen2_5_vl import Qwen2_5_VLForConditionalGeneration as VLLMQwen

        model = SimpleNamespace(config=self.model_config.hf_config)
        model.iter_mm_grid_thw = functools.partial(VLLMQwen.iter_mm_grid_thw, model)
        positions, _ = VLLMQwen.get_mrope_input_positions(
            model, request.prompt_token_ids, request.mm_features or []
        )
        return torch.as_tensor(positions)

    def pixels(self, feature) -> torch.Tensor:
        """A feature's pixels as the vision tower gets them (vLLM normalises uint8 pixels on the device)."""
        key = "pixel_values_videos" if feature.modality == "video" else "pixel_values"
        raw = feature.data[key].data
        if raw.dtype == torch.uint8:
            return self.input_norm.forward_native(raw, torch.float32)
        return raw.float()


@pytest.fixture(scope="module")
def vllm_processing(tiny_checkpoint):
    return RealInputProcessing(tiny_checkpoint)


@pytest.fixture(scope="module")
def clip_data(tmp_path_factory, synthetic_data):
    """A records file with a 320x180 11 s clip at 8 fps (16 frames sampled: 1.375 s per temporal patch, so
    the stock transformers positions are wrong for it) and a synthetic image record."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    frames = np.zeros((88, 180, 320, 3), dtype=np.uint8)
    for t in range(88):
        frames[t] = rng.integers(0, 60, (1, 1, 3), dtype=np.uint8)
        x = 10 + 3 * t
        frames[t, 60:110, x : x + 40] = (220, 40, 40)
    encode_video(frames, root / "clip.mp4", fps=8.0)
    image = next(r for r in json.loads(synthetic_data["train"].read_text()) if r["data_type"] == "image")
    video = {
        "problem_id": 1,
        "problem": "In which direction does the red box move?",
        "data_type": "video",
        "problem_type": "multiple choice",
        "options": ["A. left", "B. right"],
        "solution": "<answer>B</answer>",
        "path": "./clip.mp4",
        "data_source": "test",
    }
    shutil.copy(synthetic_data["train"].parent / image["path"][2:], root / "image.png")
    image = {**image, "problem_id": 2, "path": "./image.png"}
    path = root / "records.json"
    path.write_text(json.dumps([video, image]))
    return path


def _compare(vllm_processing, request, hf_ids, hf_vision, token_ids, model=None):
    """Assert one processed vLLM request equals the HF path's ids, ranges, grids, pixels, seconds, positions."""
    assert list(request.prompt_token_ids) == list(hf_ids)
    features = request.mm_features or []
    kinds = [k for k in ("image", "video") if any(t == token_ids[k] for t in hf_ids)]
    assert [f.modality for f in features] == kinds
    for feature in features:
        kind = feature.modality
        pad = token_ids[kind]
        first = list(hf_ids).index(pad)
        count = list(hf_ids).count(pad)
        assert (feature.mm_position.offset, feature.mm_position.length) == (first, count)
        grid_key = f"{kind}_grid_thw"
        assert feature.data[grid_key].data.tolist() == hf_vision[grid_key][0].tolist()
        pixels_key = "pixel_values_videos" if kind == "video" else "pixel_values"
        torch.testing.assert_close(
            vllm_processing.pixels(feature), hf_vision[pixels_key].float(), atol=1e-5, rtol=1e-5
        )
        if kind == "video":
            seconds = feature.data["second_per_grid_ts"].data
            assert seconds.dtype == torch.bfloat16  # vLLM keeps it in the model dtype
            assert seconds.float().item() == round_second_per_grid_ts(hf_vision["second_per_grid_ts"]).item()
    # M-RoPE: vLLM's positions equal the project's (released Qwen2.5-VL) positions for the HF ids
    ids = torch.tensor([list(hf_ids)])
    ours, _ = released_rope_index(
        ids,
        image_grid_thw=hf_vision.get("image_grid_thw"),
        video_grid_thw=hf_vision.get("video_grid_thw"),
        second_per_grid_ts=hf_vision.get("second_per_grid_ts"),
        image_token_id=token_ids["image"],
        video_token_id=token_ids["video"],
    )
    theirs = vllm_processing.positions(request)
    assert torch.equal(theirs, ours[:, 0])
    if model is not None and features:  # and what the trainer's model itself computes
        types = torch.zeros_like(ids)
        types[ids == token_ids["image"]] = 1
        types[ids == token_ids["video"]] = 2
        installed, _ = model.model.get_rope_index(
            ids, types, **{k: v for k, v in hf_vision.items() if "grid" in k or k == "second_per_grid_ts"}
        )
        assert torch.equal(installed[:, 0], theirs)
    return theirs


@pytest.mark.parametrize("temporal_rope", ["sampled_fps", "fixed_2fps"])
def test_tgrpo_colocate_rollout_requests_match_the_hf_path(
    vllm_processing, tiny_checkpoint, clip_data, tmp_path, monkeypatch, temporal_rope
):
    """One T-GRPO step on TRL's colocate path: ordered video, shuffled video and image prompts in one
    generate call, each through vLLM's real processing, each equal to what the trainer computes on."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    completions = [tokenizer.encode(t) + [tokenizer.eos_token_id] for t in ("<answer>B</answer>", "a b")]
    engine = StandInEngine(completions, process=vllm_processing)
    trainer = colocate_trainer(
        monkeypatch,
        str(tiny_checkpoint),
        load_records(clip_data),
        engine,
        reward_funcs=[accuracy_reward, format_reward],
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        num_generations=2,
        shuffled_num_generations=1,
        max_completion_length=6,
        max_steps=1,
        report_to="none",
        save_strategy="no",
        vision_preset="train",
        temporal_rope=temporal_rope,
        use_cpu=True,
        gradient_checkpointing=False,
        vllm_importance_sampling_correction=False,
        seed=0,
    )
    rollouts = []
    prepare = trainer._prepare_rollout

    def recording(inputs):
        rollouts.append(prepare(inputs))
        return rollouts[-1]

    trainer._prepare_rollout = recording
    trainer.train()

    (rollout,) = rollouts
    hf_ids = rollout.prompt_ids + rollout.shuffled.prompt_ids
    hf_vision = rollout.vision + rollout.shuffled.vision
    assert engine.calls == 1 and len(engine.processed) == len(hf_ids) == 5
    token_ids = vision_token_ids(trainer.processing_class)
    kinds = []
    for request, ids, vision in zip(engine.processed, hf_ids, hf_vision, strict=True):
        _compare(vllm_processing, request, ids, vision, token_ids, trainer.model)
        kinds.append(request.mm_features[0].modality)
    assert sorted(kinds) == ["image", "image", "video", "video", "video"]
    # the shuffled request (last) holds the ordered frames permuted: same ids, other pixels
    shuffled, ordered = (
        engine.processed[-1],
        next(r for r in engine.processed if r.mm_features[0].modality == "video"),
    )
    assert shuffled.prompt_token_ids == ordered.prompt_token_ids
    assert not torch.equal(
        vllm_processing.pixels(shuffled.mm_features[0]), vllm_processing.pixels(ordered.mm_features[0])
    )
    seconds = ordered.mm_features[0].data["second_per_grid_ts"].data.float().item()
    assert seconds == (1.0 if temporal_rope == "fixed_2fps" else 1.375)
    assert trainer.state.global_step == 1


def test_text_only_and_mixed_prompts_in_one_call(vllm_processing, tiny_checkpoint, clip_data):
    """MediaAwareLLM's rewriting (the path TRL's colocate prompts take) for a text-only prompt beside media."""
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs, with_media
    from video_r1.vllm.colocate import MediaAwareLLM, VLLMMedia

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    token_ids = vision_token_ids(processor)
    rows = [with_media(load_records(clip_data), "train")[i] for i in range(2)]
    engine = StandInEngine([[1]], process=vllm_processing)
    llm = MediaAwareLLM(engine, list(token_ids.values()))
    prompts, expected = [], []
    for row in rows:
        text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        hf = build_processor_inputs(processor, [text], [row["media"]], return_tensors="pt")
        ids = hf["input_ids"][0].tolist()
        prompts.append(
            {"prompt_token_ids": ids, "multi_modal_data": {"image": VLLMMedia(row["media"], "sampled_fps")}}
        )
        expected.append(
            (ids, {k: hf[k] for k in hf if k not in ("input_ids", "attention_mask", "mm_token_type_ids")})
        )
    text_ids = processor.tokenizer(
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    ).input_ids
    prompts.append({"prompt_token_ids": text_ids})
    expected.append((text_ids, {}))
    llm.generate(prompts, sampling_params={"max_tokens": 2})
    for request, (ids, vision) in zip(engine.processed, expected, strict=True):
        positions = _compare(vllm_processing, request, ids, vision, token_ids)
    assert torch.equal(positions, torch.arange(len(text_ids)).expand(3, -1))  # text only: 1-D positions


def test_expanded_ids_are_expanded_again_by_vllm(vllm_processing, tiny_checkpoint, clip_data):
    """Why requests collapse their placeholders: vLLM 0.31 re-expands an already expanded run."""
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs, with_media

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    video_pad = vision_token_ids(processor)["video"]
    row = with_media(load_records(clip_data), "train")[0]
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    ids = build_processor_inputs(processor, [text], [row["media"]], return_tensors="pt")["input_ids"][
        0
    ].tolist()
    n = ids.count(video_pad)
    expanded = {
        "prompt_token_ids": ids,
        **{k: v for k, v in vllm_request(text, [row["media"]]).items() if k != "prompt"},
    }
    request = vllm_processing(expanded)
    assert (
        list(request.prompt_token_ids).count(video_pad) == 2 * n - 1
    )  # n become the placeholder, n-1 stay text
    collapsed = vllm_request(ids, [row["media"]], placeholder_ids=[video_pad])
    assert list(vllm_processing(collapsed).prompt_token_ids) == ids


@pytest.mark.parametrize("temporal_rope", ["sampled_fps", "fixed_2fps"])
def test_eval_and_annotate_backend_requests_match_the_hf_path(
    vllm_processing, tiny_checkpoint, clip_data, temporal_rope
):
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs
    from video_r1.inference import GenerationRequest, PreparedSample, build_vllm_requests, prepare_sample

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    token_ids = vision_token_ids(processor)
    samples = [
        prepare_sample(GenerationRequest(str(i), dict(record), variant), processor, "eval")
        for i, (record, variant) in enumerate(zip(load_records(clip_data), ("eval", "annotate"), strict=True))
    ]
    assert all(isinstance(s, PreparedSample) for s in samples)
    requests = build_vllm_requests(samples, temporal_rope)
    assert all("prompt" in r for r in requests)  # text prompts: vLLM tokenizes and expands once
    for sample, request in zip(samples, requests, strict=True):
        hf = build_processor_inputs(
            processor, [sample.text], [sample.media], temporal_rope=temporal_rope, return_tensors="pt"
        )
        vision = {k: hf[k] for k in hf if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
        _compare(vllm_processing, vllm_processing(request), hf["input_ids"][0].tolist(), vision, token_ids)


def test_bf16_boundary_one_rounding_rule(vllm_processing, tiny_checkpoint):
    """0.4999 s per temporal patch: float32 gives temporal index floor(2 * 0.9998) = 1, vLLM's bfloat16
    value 0.5 gives 2. The project rounds to bfloat16 too, so both sides agree."""
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    token_ids = vision_token_ids(processor)
    fps = 2 / 0.4999  # sampled fps that makes second_per_grid_ts = 2 / fps = 0.4999
    frames = torch.randint(
        0, 255, (8, 3, 56, 56), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    metadata = {
        "frames_indices": list(range(8)),
        "total_num_frames": 8,
        "video_fps": fps,
        "width": 56,
        "height": 56,
        "duration": 8 / fps,
        "backend": "decord",
    }
    media = {"type": "video", "frames": frames, "video_metadata": metadata}
    text = (
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>Go?<|im_end|>\n<|im_start|>assistant\n"
    )
    hf = build_processor_inputs(processor, [text], [media], return_tensors="pt")
    assert hf["second_per_grid_ts"].item() == pytest.approx(0.4999, abs=1e-6)
    vision = {k: hf[k] for k in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")}
    positions = _compare(
        vllm_processing,
        vllm_processing(vllm_request(text, [media])),
        hf["input_ids"][0].tolist(),
        vision,
        token_ids,
    )
    start = hf["input_ids"][0].tolist().index(token_ids["video"])
    per_patch = 2 * 2  # (56/14/2)^2 merged tokens per temporal patch
    assert positions[0, start::per_patch][:4].tolist() == [start + t for t in range(4)]


def test_transformers_517_positions_disagree_with_vllm(vllm_processing, tiny_checkpoint, clip_data):
    """The bug the project's positions fix: stock transformers 5.17 differs from vLLM on this clip."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from video_r1.data.collate import build_processor_inputs, with_media

    install_released_mrope()
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint)
    row = with_media(load_records(clip_data), "train")[0]
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    hf = build_processor_inputs(processor, [text], [row["media"]], return_tensors="pt")
    theirs = vllm_processing.positions(vllm_processing(vllm_request(text, [row["media"]])))
    kwargs = {k: hf[k] for k in ("video_grid_thw", "second_per_grid_ts")}
    stock, _ = type(model.model).transformers_get_rope_index(
        model.model, hf["input_ids"], hf["mm_token_type_ids"], **kwargs
    )
    fixed, _ = model.model.get_rope_index(hf["input_ids"], hf["mm_token_type_ids"], **kwargs)
    assert torch.equal(fixed[:, 0], theirs)
    assert not torch.equal(stock[:, 0], theirs)


def test_the_real_example_video(vllm_processing, tiny_checkpoint, shared_video):
    """The issue's measurement on ../shared/media/video1.mp4 (train preset: 16 frames at 224x420, 960 video
    pads): the trainer's request now reaches vLLM's model with exactly the HF ids (before: 1,919 pads)."""
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs
    from video_r1.data.vision import load_video

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    token_ids = vision_token_ids(processor)
    frames, metadata = load_video(shared_video, "train")
    media = {"type": "video", "frames": frames, "video_metadata": metadata}
    conversation = [
        {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "What happens?"}]}
    ]
    text = processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    hf = build_processor_inputs(processor, [text], [media], return_tensors="pt")
    ids = hf["input_ids"][0].tolist()
    assert ids.count(token_ids["video"]) == 960
    vision = {k: hf[k] for k in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")}
    request = vllm_request(ids, [media], placeholder_ids=list(token_ids.values()))
    _compare(vllm_processing, vllm_processing(request), ids, vision, token_ids)
