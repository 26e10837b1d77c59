"""Qwen3-VL through the model family, on the tiny offline checkpoint with the real processor and model.

The project's positions (``qwen3_vl.rope_index``) must equal transformers' own ``Qwen3VLModel.get_rope_index``
for every prompt kind, the processor must write the timestamps of the real metadata, and one step (processor
inputs -> generate -> loss -> backward) must run on CPU.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers.video_utils import VideoMetadata

from video_r1.data.shuffle import seeded_generator, shuffle_permutation
from video_r1.data.vision import get_preset, load_video, to_video_metadata
from video_r1.models import qwen3_vl
from video_r1.models.family import QWEN3_VL, family_for

QUESTION = "What colour is the square?"


@pytest.fixture(scope="module")
def processor(tiny_qwen3_vl_checkpoint):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_qwen3_vl_checkpoint)


@pytest.fixture(scope="module")
def model(tiny_qwen3_vl_checkpoint):
    from video_r1.models.family import load_model

    return load_model(str(tiny_qwen3_vl_checkpoint)).eval()


def _frames(n=8, height=64, width=96, seed=0):
    return torch.randint(
        0, 256, (n, 3, height, width), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def _metadata(n=8, step=3, fps=6.0):
    return VideoMetadata(total_num_frames=n * step, fps=fps, frames_indices=list(range(0, n * step, step)))


def _image(seed=1, side=64):
    g = torch.Generator().manual_seed(seed)
    return Image.fromarray(torch.randint(0, 256, (side, side, 3), dtype=torch.uint8, generator=g).numpy())


def _text(processor, *kinds):
    content = [{"type": kind} for kind in kinds] + [{"type": "text", "text": QUESTION}]
    return processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )


def _inputs(processor, texts, images=(), videos=(), metadata=(), **kwargs):
    return QWEN3_VL.processor_inputs(
        processor, texts, images=images, videos=videos, video_metadata=metadata, return_tensors="pt", **kwargs
    )


def _assert_positions_equal_transformers(model, inputs):
    ours, our_deltas = QWEN3_VL.rope_index(
        model.config,
        inputs["input_ids"],
        image_grid_thw=inputs.get("image_grid_thw"),
        video_grid_thw=inputs.get("video_grid_thw"),
        attention_mask=inputs["attention_mask"],
    )
    theirs, their_deltas = model.model.get_rope_index(
        inputs["input_ids"],
        inputs["mm_token_type_ids"],
        image_grid_thw=inputs.get("image_grid_thw"),
        video_grid_thw=inputs.get("video_grid_thw"),
        attention_mask=inputs["attention_mask"],
    )
    keep = inputs["attention_mask"].bool()
    assert torch.equal(ours[:, keep], theirs[:, keep])
    assert torch.equal(our_deltas, their_deltas)
    return ours


def test_family_is_read_from_the_checkpoint(tiny_qwen3_vl_checkpoint, tiny_checkpoint, model):
    assert family_for(str(tiny_qwen3_vl_checkpoint)) is QWEN3_VL
    assert family_for(model) is QWEN3_VL
    assert family_for(str(tiny_checkpoint)).model_type == "qwen2_5_vl"
    assert QWEN3_VL.size_factor == 32 and QWEN3_VL.shared_vision_unsupported


def test_timestamps_come_from_the_real_metadata(processor):
    inputs = _inputs(processor, [_text(processor, "video")], videos=[_frames()], metadata=[_metadata()])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    # frames 0, 3, ..., 21 at 6 fps: patch means 0.25, 1.25, 2.25, 3.25 s, written with one decimal
    assert qwen3_vl.timestamp_texts(range(0, 24, 3), 6.0) == [
        "<0.2 seconds>",
        "<1.2 seconds>",
        "<2.2 seconds>",
        "<3.2 seconds>",
    ]
    expected = "".join(
        f"{t}<|vision_start|>{'<|video_pad|>' * 6}<|vision_end|>"
        for t in qwen3_vl.timestamp_texts(range(0, 24, 3), 6.0)
    )
    assert f"<|vision_start|>{expected}<|vision_end|>{QUESTION}" in text
    assert inputs["video_grid_thw"].tolist() == [[4, 4, 6]]


def test_metadata_is_required(processor):
    bare = VideoMetadata(total_num_frames=8, fps=None, frames_indices=list(range(8)))
    with pytest.raises(ValueError, match="timestamps"):
        _inputs(processor, [_text(processor, "video")], videos=[_frames()], metadata=[bare])
    with pytest.raises(ValueError, match="1 videos but 0"):
        _inputs(processor, [_text(processor, "video")], videos=[_frames()], metadata=[])


@pytest.mark.parametrize("kind", ["ordered", "shuffled", "image", "image+video", "text"])
def test_positions_equal_transformers(processor, model, kind):
    frames, md = _frames(), _metadata()
    if kind == "shuffled":
        perm = shuffle_permutation(8, "temporal_patch", seeded_generator(0))
        frames = frames[perm]
    kinds = {"ordered": ("video",), "shuffled": ("video",), "image": ("image",), "text": ()}.get(
        kind, ("image", "video")
    )
    inputs = _inputs(
        processor,
        [_text(processor, *kinds)],
        images=[_image()] if "image" in kinds else (),
        videos=[frames] if "video" in kinds else (),
        metadata=[md] if "video" in kinds else (),
    )
    positions = _assert_positions_equal_transformers(model, inputs)
    if "video" in kinds:
        # every temporal patch is its own t=1 block: its tokens share one temporal index
        video = inputs["input_ids"][0] == QWEN3_VL.token_ids(processor)["video"]
        temporal = positions[0, 0, video].view(4, -1)
        assert all(len(set(row.tolist())) == 1 for row in temporal)
        assert temporal[:, 0].tolist() == sorted(temporal[:, 0].tolist())


def test_positions_equal_transformers_in_a_left_padded_batch(processor, model):
    texts = [
        _text(processor, "video"),
        _text(processor, "image"),
        _text(processor),
        _text(processor, "image", "video"),
    ]
    inputs = _inputs(
        processor,
        texts,
        images=[_image(1), _image(2, side=96)],
        videos=[_frames(), _frames(n=4, height=32, width=64, seed=3)],
        metadata=[_metadata(), _metadata(n=4, step=5, fps=10.0)],
        padding=True,
        padding_side="left",
    )
    assert (inputs["attention_mask"] == 0).any()
    _assert_positions_equal_transformers(model, inputs)


def test_vllm_prompt_ids_are_the_chat_template_ids(processor):
    text = _text(processor, "image", "video")
    inputs = _inputs(processor, [text], images=[_image()], videos=[_frames()], metadata=[_metadata()])
    ids = QWEN3_VL.vllm_prompt_ids(inputs["input_ids"][0].tolist(), QWEN3_VL.token_ids(processor))
    assert ids == processor.tokenizer(text)["input_ids"]
    with pytest.raises(ValueError, match="video"):
        QWEN3_VL.vllm_prompt_ids(inputs["input_ids"][0, :-30].tolist(), QWEN3_VL.token_ids(processor))


def test_a_size_factor_32_preset_gives_frames_the_processor_accepts(processor, shared_video):
    frames28, meta28 = load_video(shared_video, get_preset("tiny", max_frames=4))
    assert frames28.shape[-1] % 28 == 0 and frames28.shape[-1] % 32 != 0
    meta28 = to_video_metadata(meta28)
    with pytest.raises(RuntimeError):  # sizes made for Qwen2.5-VL break Qwen3-VL without resizing
        _inputs(processor, [_text(processor, "video")], videos=[frames28], metadata=[meta28])
    frames, meta = load_video(
        shared_video, get_preset("tiny", max_frames=4, size_factor=QWEN3_VL.size_factor)
    )
    assert frames.shape[-2] % 32 == 0 and frames.shape[-1] % 32 == 0
    inputs = _inputs(
        processor, [_text(processor, "video")], videos=[frames], metadata=[to_video_metadata(meta)]
    )
    t, h, w = inputs["video_grid_thw"][0].tolist()
    assert (t, h * 16, w * 16) == (2, frames.shape[-2], frames.shape[-1])
    stamps = qwen3_vl.timestamp_texts(meta["frames_indices"], meta["video_fps"])
    assert all(s in processor.tokenizer.decode(inputs["input_ids"][0]) for s in stamps)


def test_one_step_processor_generate_loss_backward(processor, tiny_qwen3_vl_checkpoint):
    from video_r1.models.family import load_model

    model = load_model(str(tiny_qwen3_vl_checkpoint)).train()
    inputs = _inputs(processor, [_text(processor, "video")], videos=[_frames()], metadata=[_metadata()])
    with torch.no_grad():
        sequences = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    prompt_len = inputs["input_ids"].shape[1]
    assert sequences.shape[1] > prompt_len
    labels = sequences.clone()
    labels[:, :prompt_len] = -100
    pad = sequences.shape[1] - prompt_len
    out = model(
        input_ids=sequences,
        attention_mask=torch.ones_like(sequences),
        mm_token_type_ids=torch.nn.functional.pad(inputs["mm_token_type_ids"], (0, pad)),
        pixel_values_videos=inputs["pixel_values_videos"],
        video_grid_thw=inputs["video_grid_thw"],
        labels=labels,
    )
    assert torch.isfinite(out.loss)
    out.loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert any(name.startswith("lm_head") for name in grads)
    # the video reaches the loss through the merger and through DeepStack's extra merger
    assert any("visual.merger" in name and g.abs().sum() > 0 for name, g in grads.items())
    assert any("deepstack_merger_list" in name and g.abs().sum() > 0 for name, g in grads.items())


def test_shared_vision_is_refused_with_the_deepstack_reason(model):
    from video_r1.models.shared_vision import SharedVisionForward, shared_vision_generation

    with pytest.raises(ValueError, match="DeepStack"):
        SharedVisionForward(model, model.model, [], {}, frozen=True)
    with pytest.raises(ValueError, match="not supported for Qwen3-VL"):
        with shared_vision_generation(model, [], {}):
            pass


def test_frame_size_uses_the_preset_size_factor():
    from video_r1.data.vision import frame_size

    assert frame_size(get_preset("tiny"), 180, 320, 4) == (84, 140)
    height, width = frame_size(get_preset("tiny", size_factor=QWEN3_VL.size_factor), 180, 320, 4)
    assert height % 32 == 0 and width % 32 == 0
    with pytest.raises(ValueError, match="size_factor"):
        get_preset("tiny", size_factor=15)
