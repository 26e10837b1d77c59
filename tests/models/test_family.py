"""The model-family interface: the family is read from the checkpoint, unsupported model types are one error."""

from __future__ import annotations

import json

import pytest

from video_r1.errors import ModelPathError, UserError
from video_r1.models import checkpoint
from video_r1.models.family import FAMILIES, QWEN2_5_VL, QWEN3_VL, family_for
from video_r1.models.qwen2_5_vl import check_model_path


def _folder(tmp_path, model_type):
    folder = tmp_path / model_type
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


def test_registry_matches_the_supported_model_types():
    assert set(FAMILIES) == set(checkpoint.SUPPORTED_MODEL_TYPES) == {"qwen2_5_vl", "qwen3_vl", "qwen3_5"}
    assert not set(FAMILIES) & set(checkpoint.REFUSED_MODEL_TYPES)


def test_check_model_path_accepts_both_families(tiny_checkpoint, tiny_qwen3_vl_checkpoint, tmp_path):
    check_model_path(tiny_checkpoint)
    check_model_path(tiny_qwen3_vl_checkpoint)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(tiny_qwen3_vl_checkpoint)})
    )
    assert family_for(str(adapter)) is QWEN3_VL
    assert family_for({"model_type": "qwen2_5_vl"}) is QWEN2_5_VL


@pytest.mark.parametrize(
    "model_type, expected",
    [
        (
            "gpt2",
            "'gpt2' model, not Qwen2.5-VL, Qwen3-VL or Qwen3.5; video-r1 supports the model types "
            "Qwen2.5-VL ('qwen2_5_vl'), Qwen3-VL ('qwen3_vl'), Qwen3.5 ('qwen3_5')",
        ),
        ("qwen3_vl_moe", "'qwen3_vl_moe' model: Qwen3-VL MoE is not supported yet"),
        ("qwen3_5_moe", "'qwen3_5_moe' model: Qwen3.5 MoE is not supported yet"),
    ],
)
def test_an_unsupported_model_type_is_one_user_error(tmp_path, model_type, expected):
    folder = _folder(tmp_path, model_type)
    for call in (check_model_path, family_for):
        with pytest.raises(ModelPathError) as err:
            call(str(folder))
        assert isinstance(err.value, UserError)
        assert expected in str(err.value) and "\n" not in str(err.value)


def test_token_ids_and_templates(tiny_qwen3_vl_checkpoint, tiny_checkpoint):
    from transformers import AutoProcessor

    for path, family in ((tiny_checkpoint, QWEN2_5_VL), (tiny_qwen3_vl_checkpoint, QWEN3_VL)):
        processor = AutoProcessor.from_pretrained(path)
        ids = family.token_ids(processor)
        assert ids["image"] == processor.image_token_id and ids["video"] == processor.video_token_id
        assert ids["vision_start"] == processor.tokenizer.convert_tokens_to_ids("<|vision_start|>")
        assert processor.chat_template == family.chat_template
        assert family.training_chat_template != family.chat_template


def test_qwen2_5_vl_vllm_prompt_ids_collapse_pad_runs():
    ids = {"image": 7, "video": 8, "vision_start": 5, "vision_end": 6}
    assert QWEN2_5_VL.vllm_prompt_ids([1, 5, 8, 8, 8, 6, 2, 5, 7, 7, 6], ids) == [1, 5, 8, 6, 2, 5, 7, 6]


def test_qwen2_5_vl_processor_inputs_equal_the_collate_path(tiny_checkpoint):
    """Qwen2.5-VL behind the interface is unchanged: the family's processor call = build_processor_inputs."""
    import torch
    from transformers import AutoProcessor

    from video_r1.data.collate import build_processor_inputs
    from video_r1.data.vision import to_video_metadata

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    frames = torch.randint(
        0, 256, (4, 3, 56, 84), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    md = {"total_num_frames": 44, "video_fps": 8.0, "frames_indices": [0, 14, 29, 43], "backend": "decord"}
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Which way?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ours = QWEN2_5_VL.processor_inputs(
        processor, [text], videos=[frames], video_metadata=[to_video_metadata(md)], return_tensors="pt"
    )
    theirs = build_processor_inputs(
        processor, [text], [{"type": "video", "frames": frames, "video_metadata": md}], return_tensors="pt"
    )
    assert set(ours) == set(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.parametrize(
    "checkpoint, prefix",
    [("tiny_checkpoint", ""), ("tiny_qwen3_vl_checkpoint", ""), ("tiny_qwen3_5_checkpoint", "<think>\n")],
)
def test_reply_prefix_is_what_the_generation_prompt_opens(checkpoint, prefix, request):
    """Qwen3.5's thinking template ends the generation prompt with the opening think tag; the others with the
    assistant header alone. Read from the checkpoint's own template."""
    from transformers import AutoProcessor

    path = request.getfixturevalue(checkpoint)
    processor = AutoProcessor.from_pretrained(str(path))
    family = family_for(str(path))
    assert family.reply_prefix(processor) == prefix
    user = [{"role": "user", "content": [{"type": "text", "text": "Which way?"}]}]
    prompt = processor.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n" + prefix)
