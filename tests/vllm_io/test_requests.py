"""``video_r1.vllm``: request building (pure functions) and the colocate plumbing, without vLLM.

What vLLM 0.31 itself makes of these requests is checked in ``tests/vllm/test_real_vllm.py`` (run in
``.venv-vllm``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from video_r1.vllm.colocate import MediaAwareLLM, VLLMMedia, restore_vllm_media, suppress_tokens_kwargs
from video_r1.vllm.requests import collapse_placeholders, vllm_request

PAD_IMAGE, PAD_VIDEO = 90, 91


def _video():
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
    return frames, {"type": "video", "frames": frames, "video_metadata": metadata}


def test_collapse_placeholders_keeps_one_token_per_run():
    ids = [1, 2, PAD_VIDEO, PAD_VIDEO, PAD_VIDEO, 3, PAD_IMAGE, PAD_IMAGE, 4, 5, 5]
    assert collapse_placeholders(ids, [PAD_IMAGE, PAD_VIDEO]) == [1, 2, PAD_VIDEO, 3, PAD_IMAGE, 4, 5, 5]
    # two media of one kind separated by text stay two placeholders
    assert collapse_placeholders([PAD_VIDEO, PAD_VIDEO, 7, PAD_VIDEO], [PAD_VIDEO]) == [
        PAD_VIDEO,
        7,
        PAD_VIDEO,
    ]
    assert collapse_placeholders([1, 2], [PAD_VIDEO]) == [1, 2]


def test_vllm_request_collapses_token_id_prompts_with_media():
    _, video = _video()
    request = vllm_request([1, PAD_VIDEO, PAD_VIDEO, 2], [video], placeholder_ids=[PAD_IMAGE, PAD_VIDEO])
    assert request["prompt_token_ids"] == [1, PAD_VIDEO, 2]
    assert request["mm_processor_kwargs"] == {"do_sample_frames": False, "do_resize": False}
    with pytest.raises(ValueError, match="placeholder_ids"):
        vllm_request([1, PAD_VIDEO, PAD_VIDEO, 2], [video])
    # text-only token prompts pass unchanged
    assert vllm_request([1, 2, 3]) == {"prompt_token_ids": [1, 2, 3]}


def test_restore_vllm_media_swaps_only_stand_ins_and_collapses_their_ids():
    frames, video = _video()
    image = Image.new("RGB", (4, 4))
    prompts = [
        {
            "prompt_token_ids": [1, PAD_VIDEO, PAD_VIDEO, PAD_VIDEO, 2],
            "multi_modal_data": {"image": VLLMMedia(video, "sampled_fps")},
        },
        {"prompt_token_ids": [3, PAD_IMAGE], "multi_modal_data": {"image": image}},
        {"prompt_token_ids": [4]},
    ]
    restored = restore_vllm_media(prompts, [PAD_IMAGE, PAD_VIDEO])
    expected = vllm_request("text", [video])
    assert restored[0]["prompt_token_ids"] == [1, PAD_VIDEO, 2]
    array, md = restored[0]["multi_modal_data"]["video"]
    assert np.array_equal(array, expected["multi_modal_data"]["video"][0])
    assert array.shape == (4, 2, 2, 3) and array[1, 0, 1, 2] == frames[1, 2, 0, 1]
    assert md == expected["multi_modal_data"]["video"][1]
    assert md["fps"] == 5.0 and md["frames_indices"] == [0, 3, 6, 9]
    assert restored[0]["mm_processor_kwargs"] == {"do_sample_frames": False, "do_resize": False}
    assert restored[1] == prompts[1] and restored[2] == prompts[2]
    assert prompts[0]["prompt_token_ids"] == [1, PAD_VIDEO, PAD_VIDEO, PAD_VIDEO, 2]  # inputs untouched
    # the original's training M-RoPE: frames described as consecutive frames of a 2 fps clip
    fixed_prompt = {
        "prompt_token_ids": [1, PAD_VIDEO, 2],
        "multi_modal_data": {"image": VLLMMedia(video, "fixed_2fps")},
    }
    fixed = restore_vllm_media([fixed_prompt], [PAD_IMAGE, PAD_VIDEO])[0]["multi_modal_data"]["video"][1]
    assert fixed["fps"] == 2.0 and fixed["frames_indices"] == [0, 1, 2, 3] and fixed["total_num_frames"] == 4


def test_media_aware_llm_forwards_restored_prompts():
    _, video = _video()
    seen = []

    class Engine:
        name = "engine"

        def generate(self, prompts, sampling_params=None, use_tqdm=False):
            seen.append((prompts, sampling_params))
            return ["out"] * len(prompts)

    llm = MediaAwareLLM(Engine(), [PAD_VIDEO])
    prompt = {
        "prompt_token_ids": [PAD_VIDEO, PAD_VIDEO],
        "multi_modal_data": {"image": VLLMMedia(video, "sampled_fps")},
    }
    assert llm.generate([prompt], sampling_params="sp") == ["out"]
    assert seen[0][0][0]["prompt_token_ids"] == [PAD_VIDEO] and seen[0][1] == "sp"
    assert llm.name == "engine"  # other attributes reach the engine


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


def test_family_requests():
    """Qwen2.5-VL through the family = the existing request; Qwen3-VL gets the template ids and video-only resize."""
    from video_r1.models.family import QWEN2_5_VL, QWEN3_VL
    from video_r1.vllm.requests import family_vllm_request

    token_ids = {"image": PAD_IMAGE, "video": PAD_VIDEO, "vision_start": 80, "vision_end": 81}
    media = [_video()[1]]
    ids = [1, 80, PAD_VIDEO, PAD_VIDEO, PAD_VIDEO, 81, 2]
    old = vllm_request(ids, media, placeholder_ids=[PAD_IMAGE, PAD_VIDEO])
    new = family_vllm_request(QWEN2_5_VL, ids, media, token_ids=token_ids)
    assert new["prompt_token_ids"] == old["prompt_token_ids"] == [1, 80, PAD_VIDEO, 81, 2]
    assert new["mm_processor_kwargs"] == old["mm_processor_kwargs"]
    assert new["multi_modal_data"]["video"][1] == old["multi_modal_data"]["video"][1]
    # Qwen3-VL: <vs> [<t seconds> <vs> pads <ve>]* <ve> -> <vs> <video_pad> <ve>; "<0.3 seconds>" stands as 7, 8
    expanded = [1, 80, 7, 8, 80, PAD_VIDEO, PAD_VIDEO, 81, 7, 9, 80, PAD_VIDEO, PAD_VIDEO, 81, 81, 2]
    q3 = family_vllm_request(QWEN3_VL, expanded, media, token_ids=token_ids)
    assert q3["prompt_token_ids"] == [1, 80, PAD_VIDEO, 81, 2]
    assert q3["mm_processor_kwargs"] == {"do_sample_frames": False, "videos_kwargs": {"do_resize": False}}
    assert family_vllm_request(QWEN3_VL, "text", [])["prompt"] == "text"
    with pytest.raises(ValueError, match="token_ids"):
        family_vllm_request(QWEN3_VL, expanded, media)
