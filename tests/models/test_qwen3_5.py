"""Qwen3.5 through the same family interface as Qwen3-VL, on its tiny offline checkpoint (real processor, model)."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from transformers.video_utils import VideoMetadata

from video_r1.data.shuffle import seeded_generator, shuffle_permutation
from video_r1.models.family import QWEN3_5, family_for, load_model


@pytest.fixture(scope="module")
def processor(tiny_qwen3_5_checkpoint):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_qwen3_5_checkpoint)


def _text(processor, *kinds):
    content = [{"type": kind} for kind in kinds] + [{"type": "text", "text": "Which way?"}]
    return processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )


def _frames(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 64, 96), dtype=torch.uint8, generator=g)


def _image():
    g = torch.Generator().manual_seed(1)
    return Image.fromarray(torch.randint(0, 256, (64, 64, 3), dtype=torch.uint8, generator=g).numpy())


def test_qwen3_5_family_positions_and_one_step(processor, tiny_qwen3_5_checkpoint):
    assert family_for(str(tiny_qwen3_5_checkpoint)) is QWEN3_5
    assert processor.chat_template == QWEN3_5.chat_template
    assert _text(processor).endswith("<|im_start|>assistant\n<think>\n")
    model = load_model(str(tiny_qwen3_5_checkpoint))
    assert type(model).__name__ == "Qwen3_5ForConditionalGeneration"
    md = VideoMetadata(total_num_frames=40, fps=8.0, frames_indices=list(range(0, 40, 5)))
    shuffled = _frames()[shuffle_permutation(8, "temporal_patch", seeded_generator(0))]
    inputs = QWEN3_5.processor_inputs(
        processor,
        [_text(processor, "image", "video"), _text(processor, "video"), _text(processor)],
        images=[_image()],
        videos=[_frames(), shuffled],
        video_metadata=[md, md],
        padding=True,
        padding_side="left",
        return_tensors="pt",
    )
    ids = inputs["input_ids"]
    # row 1 holds shuffled patches under the ordered metadata: ascending timestamps (frames 0 and 5 at 8 fps first)
    pads = (inputs["attention_mask"][1] == 0).sum()
    assert "<0.3 seconds>" in processor.tokenizer.decode(ids[1])
    grids = {k: inputs[k] for k in ("image_grid_thw", "video_grid_thw")}
    ours, deltas = QWEN3_5.rope_index(model.config, ids, attention_mask=inputs["attention_mask"], **grids)
    theirs, their_deltas = model.model.get_rope_index(
        ids, inputs["mm_token_type_ids"], attention_mask=inputs["attention_mask"], **grids
    )
    keep = inputs["attention_mask"].bool()
    assert torch.equal(ours[:, keep], theirs[:, keep]) and torch.equal(deltas, their_deltas)
    assert pads > 0
    # generate, then loss and backward on CPU (linear-attention layers through their PyTorch fallback)
    with torch.no_grad():
        sequences = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    model.train()
    labels = sequences.clone()
    labels[:, : ids.shape[1]] = -100
    extra = sequences.shape[1] - ids.shape[1]
    out = model(
        input_ids=sequences,
        attention_mask=torch.nn.functional.pad(inputs["attention_mask"], (0, extra), value=1),
        mm_token_type_ids=torch.nn.functional.pad(inputs["mm_token_type_ids"], (0, extra)),
        pixel_values=inputs["pixel_values"],
        image_grid_thw=inputs["image_grid_thw"],
        pixel_values_videos=inputs["pixel_values_videos"],
        video_grid_thw=inputs["video_grid_thw"],
        labels=labels,
    )
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert any("linear_attn" in n and g.abs().sum() > 0 for n, g in grads.items())
    assert any("visual.merger" in n and g.abs().sum() > 0 for n, g in grads.items())
