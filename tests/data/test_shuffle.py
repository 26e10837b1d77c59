"""Frame orders for shuffled rollouts and evaluation (``video_r1.data.shuffle``)."""

from __future__ import annotations

import pytest
import torch

from video_r1.data.shuffle import seeded_generator, shuffle_permutation


def test_shuffle_permutation_is_never_identity():
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        perm = shuffle_permutation(4, "temporal_patch", gen).tolist()
        assert perm == [2, 3, 0, 1]  # the only non-identity order of two patches
        frame_perm = shuffle_permutation(2, "frame", gen).tolist()
        assert frame_perm == [1, 0]
    with pytest.raises(ValueError, match="cannot shuffle"):
        shuffle_permutation(1, "frame", gen)
    with pytest.raises(ValueError, match="even frame count"):
        shuffle_permutation(5, "temporal_patch", gen)


def test_temporal_patch_unit_keeps_pairs_together():
    perm = shuffle_permutation(16, "temporal_patch", seeded_generator(3)).tolist()
    assert sorted(perm) == list(range(16)) and perm != list(range(16))
    assert all(perm[i + 1] == perm[i] + 1 and perm[i] % 2 == 0 for i in range(0, 16, 2))


def test_seeded_generator_is_reproducible_and_key_sensitive():
    def draw(*keys):
        return torch.randperm(10, generator=seeded_generator(*keys)).tolist()

    assert draw(42, 0, 1) == draw(42, 0, 1)
    assert draw(42, 0, 1) != draw(42, 1, 1)
    assert draw(42, 0, 1) != draw(42, 0, 2)


# ----------------------------------------------------------------------------------------------------
# The shuffle for timestamped video (Qwen3-VL), through the real processor of the tiny checkpoint


def test_units_and_the_default_per_family():
    from video_r1.data.shuffle import SHUFFLE_UNITS, default_shuffle_unit
    from video_r1.models.family import QWEN2_5_VL, QWEN3_VL

    assert SHUFFLE_UNITS == ("frame", "temporal_patch", "temporal_patch_and_frames")
    assert default_shuffle_unit(QWEN3_VL.timestamps_in_text) == "temporal_patch"
    assert default_shuffle_unit(QWEN2_5_VL.timestamps_in_text) == "frame"
    with pytest.raises(ValueError, match="unknown shuffle unit"):
        shuffle_permutation(8, "patch", seeded_generator(0))


def test_temporal_patch_and_frames_moves_patches_and_may_swap_inside():
    swapped = 0
    for seed in range(20):
        perm = shuffle_permutation(8, "temporal_patch_and_frames", seeded_generator(seed)).view(4, 2)
        assert sorted(perm.flatten().tolist()) == list(range(8))
        assert all(sorted(pair.tolist()) in ([0, 1], [2, 3], [4, 5], [6, 7]) for pair in perm)
        swapped += int((perm[:, 0] > perm[:, 1]).sum())
    assert swapped > 0


def _qwen3_vl_inputs(checkpoint, media):
    from transformers import AutoProcessor
    from transformers.video_utils import VideoMetadata

    from video_r1.models.family import QWEN3_VL

    processor = AutoProcessor.from_pretrained(checkpoint)
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Which way?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    md = VideoMetadata(**media["video_metadata"])
    return QWEN3_VL.processor_inputs(
        processor, [text], videos=[media["frames"]], video_metadata=[md], return_tensors="pt"
    )


@pytest.mark.parametrize("unit", ["temporal_patch", "temporal_patch_and_frames"])
def test_timestamped_shuffle_keeps_the_prompt_and_permutes_the_patches(tiny_qwen3_vl_checkpoint, unit):
    from video_r1.data.shuffle import shuffled_video

    frames = torch.randint(
        0, 256, (8, 3, 64, 96), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    ordered = {
        "type": "video",
        "frames": frames,
        "video_metadata": {
            "total_num_frames": 40,
            "fps": 8.0,
            "frames_indices": [0, 5, 10, 15, 20, 25, 30, 35],
        },
    }
    perm = shuffle_permutation(8, unit, seeded_generator(1))
    shuffled = shuffled_video(ordered, perm)
    assert shuffled["video_metadata"] is ordered["video_metadata"]  # the ordered metadata, unchanged
    a = _qwen3_vl_inputs(tiny_qwen3_vl_checkpoint, ordered)
    b = _qwen3_vl_inputs(tiny_qwen3_vl_checkpoint, shuffled)
    assert torch.equal(a["input_ids"], b["input_ids"])  # text, ascending timestamps and placeholders
    assert torch.equal(a["video_grid_thw"], b["video_grid_thw"])
    t, h, w = a["video_grid_thw"][0].tolist()
    rows_a = a["pixel_values_videos"].view(t, h * w, -1)
    rows_b = b["pixel_values_videos"].view(t, h * w, -1)
    assert not torch.equal(rows_a, rows_b)
    patch_order = (perm.view(-1, 2).min(dim=1).values // 2).tolist()
    if unit == "temporal_patch":  # the shuffled video's vision patches are the ordered ones, permuted
        assert torch.equal(rows_b, rows_a[patch_order])
    else:  # the frames inside a swapped patch change its pixels: no longer a permutation of the patches
        swapped = perm.view(-1, 2)[:, 0] > perm.view(-1, 2)[:, 1]
        for i, src in enumerate(patch_order):
            assert torch.equal(rows_b[i], rows_a[src]) == (not bool(swapped[i]))
    with pytest.raises(ValueError, match="not a permutation"):
        shuffled_video(ordered, torch.tensor([0, 0, 1, 2, 3, 4, 5, 6]))
