"""The tiny offline checkpoint behaves like a real Qwen2.5-VL checkpoint through the real classes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor
from transformers.video_utils import VideoMetadata

from video_r1.prompts import build_conversation
from video_r1.testing.tiny import QWEN_SPECIAL_TOKENS, TAG_TOKENS, build_tiny_checkpoint

VIDEO_RECORD = {
    "problem_id": 1,
    "problem": "In which direction does the object move?",
    "data_type": "video",
    "problem_type": "multiple choice",
    "options": ["A. left", "B. right"],
    "solution": "<answer>A</answer>",
}
IMAGE_RECORD = {**VIDEO_RECORD, "data_type": "image", "problem_type": "numerical", "options": []}


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    return AutoProcessor.from_pretrained(tiny_checkpoint), AutoModelForImageTextToText.from_pretrained(
        tiny_checkpoint
    )


def test_checkpoint_files(tiny_checkpoint):
    names = {p.name for p in tiny_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    assert {"processor_config.json", "generation_config.json"} <= names
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["model_type"] == "qwen2_5_vl"


def test_tokenizer_has_qwen_special_tokens_and_tags(loaded):
    processor, model = loaded
    tok = processor.tokenizer
    for token in (*QWEN_SPECIAL_TOKENS, *TAG_TOKENS):
        ids = tok.convert_tokens_to_ids([token])
        assert ids[0] is not None and ids[0] != tok.unk_token_id
        assert tok.tokenize(token) == [token]
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert model.config.video_token_id == tok.convert_tokens_to_ids("<|video_pad|>")
    assert model.config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    # Tags survive skip_special_tokens decoding (rewards parse decoded text).
    text = "<think>let me think</think><answer>A</answer>"
    assert tok.decode(tok(text).input_ids, skip_special_tokens=True) == text


def test_chat_template_is_qwen25vl(loaded):
    processor, _ = loaded
    text = processor.apply_chat_template(
        build_conversation(VIDEO_RECORD), tokenize=False, add_generation_prompt=True
    )
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
    assert "<|vision_start|><|video_pad|><|vision_end|>In which direction" in text
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")


def _generate(processor, model, record, **media):
    text = processor.apply_chat_template(
        build_conversation(record), tokenize=False, add_generation_prompt=True
    )
    inputs = processor(text=[text], return_tensors="pt", **media)
    torch.manual_seed(0)
    out = model.generate(
        **inputs, max_new_tokens=6, do_sample=True, pad_token_id=processor.tokenizer.pad_token_id
    )
    return inputs, out


def test_generate_on_image(loaded):
    from PIL import Image

    processor, model = loaded
    image = Image.new("RGB", (56, 84), color=(200, 30, 30))
    inputs, out = _generate(processor, model, IMAGE_RECORD, images=[image])
    # 84x56 image -> 6x4 patches of 14 px; 2x2 merge -> 6 image tokens.
    assert inputs["image_grid_thw"].tolist() == [[1, 6, 4]]
    assert (inputs["input_ids"] == model.config.image_token_id).sum().item() == 6
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_generate_on_video_frames_tensor(loaded):
    processor, model = loaded
    frames = torch.randint(0, 256, (8, 3, 56, 112), dtype=torch.uint8)
    metadata = VideoMetadata(total_num_frames=8, fps=2.0, frames_indices=list(range(8)), width=112, height=56)
    inputs, out = _generate(
        processor, model, VIDEO_RECORD, videos=[frames], video_metadata=[metadata], do_sample_frames=False
    )
    # 8 frames / temporal patch 2 = 4; 56x112 -> 4x8 patches; tokens = 4*4*8/4 = 32.
    assert inputs["video_grid_thw"].tolist() == [[4, 4, 8]]
    assert (inputs["input_ids"] == model.config.video_token_id).sum().item() == 32
    # 2 frames per temporal patch at 2 fps -> 1.0 s per grid step.
    assert inputs["second_per_grid_ts"].tolist() == pytest.approx([1.0])
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_same_seed_same_weights_different_seed_differs(tmp_path, tiny_checkpoint):
    a = load_file(build_tiny_checkpoint(tmp_path / "a", seed=0) / "model.safetensors")
    b = load_file(tiny_checkpoint / "model.safetensors")
    c = load_file(build_tiny_checkpoint(tmp_path / "c", seed=1) / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    assert (tmp_path / "a" / "tokenizer.json").read_text() == (tiny_checkpoint / "tokenizer.json").read_text()


def test_size_overrides(tmp_path):
    path = build_tiny_checkpoint(tmp_path / "big", hidden_size=128, vision_hidden_size=64)
    config = json.loads((path / "config.json").read_text())
    assert config["text_config"]["hidden_size"] == 128
    assert config["vision_config"]["hidden_size"] == 64
    assert config["vision_config"]["out_hidden_size"] == 128
    with pytest.raises(TypeError, match="unknown tiny-model size override"):
        build_tiny_checkpoint(tmp_path / "bad", hiden_size=3)
