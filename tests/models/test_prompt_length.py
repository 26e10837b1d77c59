"""``ModelFamily.prompt_length``: the expanded prompt's length without running the processor.

The inference backends use it to refuse a prompt over ``max_prompt_length`` before generating. For Qwen3-VL
and Qwen3.5 it must count the ``<t seconds>`` text and the per-patch vision start/end tokens the processor
writes, and the image processor's enlargement of small images (65,536 px minimum: a 64 x 64 test image
becomes 256 x 256, 64 tokens instead of 4); the Qwen2.5-VL-only count missed all three. Checked against
the real processor's ids.
"""

from __future__ import annotations

import pytest
from transformers import AutoProcessor

from video_r1.data.collate import build_processor_inputs
from video_r1.data.records import load_records
from video_r1.data.vision import get_preset, to_video_metadata
from video_r1.inference.requests import GenerationRequest, prepare_sample
from video_r1.models.family import family_for


@pytest.mark.parametrize("temporal_rope", ["sampled_fps", "fixed_2fps"])
@pytest.mark.parametrize(
    "checkpoint", ["tiny_checkpoint", "tiny_qwen3_vl_checkpoint", "tiny_qwen3_5_checkpoint"]
)
def test_prompt_length_equals_the_processors_count(checkpoint, temporal_rope, request, synthetic_data):
    path = str(request.getfixturevalue(checkpoint))
    family = family_for(path)
    processor = AutoProcessor.from_pretrained(path)
    preset = get_preset("tiny", size_factor=family.size_factor)
    rows = load_records(synthetic_data["train"])
    videos = [r for r in rows if r["data_type"] == "video"][:2]
    images = [r for r in rows if r["data_type"] == "image"][:1]
    for record in videos + images:
        sample = prepare_sample(GenerationRequest("k", record), processor, preset)
        ids = build_processor_inputs(processor, [sample.text], [sample.media], temporal_rope=temporal_rope)[
            "input_ids"
        ][0]
        metadata = (
            [to_video_metadata(sample.media["video_metadata"], temporal_rope)]
            if sample.media["type"] == "video"
            else []
        )
        counted = family.prompt_length(processor, sample.text, [sample.media], metadata)
        assert counted == len(ids), (family.name, sample.media["type"])
        if family.timestamps_in_text and sample.media["type"] == "video":
            assert "seconds>" in processor.tokenizer.decode(ids)  # the case the old count missed
