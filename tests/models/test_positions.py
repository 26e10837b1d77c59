"""Qwen2.5-VL M-RoPE positions: the project's rule equals the released model's, and every model path uses it.

``reference_rope_index`` below is an independent transcription of ``get_rope_index`` as released with
Qwen2.5-VL (transformers 4.49): it finds media through ``<|vision_start|>`` tokens and ``list.index``
searches, multiplies the temporal index by ``second_per_grid_t * tokens_per_second`` in float32 before the
cast, and resumes text at the maximum position of the previous block + 1. The project's
``released_rope_index`` walks placeholder runs instead; both must give the same positions.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from video_r1.models.qwen2_5_vl import (
    install_released_mrope,
    released_rope_index,
    round_second_per_grid_ts,
    uses_released_mrope,
)

IMG, VID, START, END, PAD = 90, 91, 92, 93, 0
TEXT = 7  # any text token
MERGE, TPS = 2, 2


def reference_rope_index(input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts, attention_mask):
    """transformers 4.49 ``Qwen2_5_VLForConditionalGeneration.get_rope_index``, transcribed (vision branch)."""
    position_ids = torch.ones(3, input_ids.shape[0], input_ids.shape[1], dtype=input_ids.dtype)
    image_index, video_index = 0, 0
    deltas = []
    for i, ids in enumerate(input_ids):
        ids = ids[attention_mask[i] == 1]
        vision_start_indices = torch.argwhere(ids == START).squeeze(1)
        vision_tokens = ids[vision_start_indices + 1]
        image_nums = int((vision_tokens == IMG).sum())
        video_nums = int((vision_tokens == VID).sum())
        input_tokens = ids.tolist()
        llm_pos_ids_list = []
        st = 0
        remain_images, remain_videos = image_nums, video_nums
        for _ in range(image_nums + video_nums):
            if IMG in input_tokens and remain_images > 0:
                ed_image = input_tokens.index(IMG, st)
            else:
                ed_image = len(input_tokens) + 1
            if VID in input_tokens and remain_videos > 0:
                ed_video = input_tokens.index(VID, st)
            else:
                ed_video = len(input_tokens) + 1
            if ed_image < ed_video:
                t, h, w = image_grid_thw[image_index]
                second_per_grid_t = 0
                image_index += 1
                remain_images -= 1
                ed = ed_image
            else:
                t, h, w = video_grid_thw[video_index]
                second_per_grid_t = second_per_grid_ts[video_index] if second_per_grid_ts is not None else 1.0
                video_index += 1
                remain_videos -= 1
                ed = ed_video
            llm_grid_t, llm_grid_h, llm_grid_w = t.item(), h.item() // MERGE, w.item() // MERGE
            text_len = ed - st
            st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
            llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
            range_tensor = torch.arange(llm_grid_t).view(-1, 1)
            expanded_range = range_tensor.expand(-1, llm_grid_h * llm_grid_w)
            time_tensor = expanded_range * second_per_grid_t * TPS
            t_index = time_tensor.long().flatten()
            h_index = torch.arange(llm_grid_h).view(1, -1, 1).expand(llm_grid_t, -1, llm_grid_w).flatten()
            w_index = torch.arange(llm_grid_w).view(1, 1, -1).expand(llm_grid_t, llm_grid_h, -1).flatten()
            llm_pos_ids_list.append(torch.stack([t_index, h_index, w_index]) + text_len + st_idx)
            st = ed + llm_grid_t * llm_grid_h * llm_grid_w
        if st < len(input_tokens):
            st_idx = llm_pos_ids_list[-1].max() + 1 if len(llm_pos_ids_list) > 0 else 0
            text_len = len(input_tokens) - st
            llm_pos_ids_list.append(torch.arange(text_len).view(1, -1).expand(3, -1) + st_idx)
        llm_positions = torch.cat(llm_pos_ids_list, dim=1).reshape(3, -1)
        position_ids[..., i, attention_mask[i] == 1] = llm_positions
        deltas.append(int(llm_positions.max()) + 1 - len(input_tokens))
    return position_ids, torch.tensor(deltas).unsqueeze(1)


def build_row(layout, grids):
    """Token ids for ``layout`` (a list of "t<n>" text runs, "img" or "vid"), consuming ``grids`` in order."""
    ids = []
    for piece in layout:
        if piece.startswith("t"):
            ids += [TEXT] * int(piece[1:])
        else:
            t, h, w = grids.pop(0)
            token = IMG if piece == "img" else VID
            ids += [START] + [token] * (t * h * w // MERGE**2) + [END]
    return ids


def batch(rows, side="left"):
    length = max(len(r) for r in rows)
    ids = torch.full((len(rows), length), PAD)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, r in enumerate(rows):
        sl = slice(length - len(r), length) if side == "left" else slice(0, len(r))
        ids[i, sl] = torch.tensor(r)
        mask[i, sl] = 1
    return ids, mask


def ours(ids, mask, image_grids, video_grids, seconds):
    return released_rope_index(
        ids,
        image_grid_thw=torch.tensor(image_grids) if image_grids else None,
        video_grid_thw=torch.tensor(video_grids) if video_grids else None,
        second_per_grid_ts=torch.tensor(seconds, dtype=torch.float32) if seconds is not None else None,
        attention_mask=mask,
        image_token_id=IMG,
        video_token_id=VID,
        spatial_merge_size=MERGE,
        tokens_per_second=TPS,
    )


def reference(ids, mask, image_grids, video_grids, seconds):
    # The project rounds second_per_grid_ts to bfloat16 first (vLLM's value); the reference takes the result.
    rounded = round_second_per_grid_ts(seconds) if seconds is not None else None
    return reference_rope_index(
        ids,
        torch.tensor(image_grids) if image_grids else None,
        torch.tensor(video_grids) if video_grids else None,
        rounded,
        mask,
    )


VIDEO_GRIDS = [(8, 16, 30), (16, 24, 42), (2, 4, 4), (4, 2, 2), (1, 8, 8), (32, 2, 4), (3, 6, 10)]
IMAGE_GRIDS = [(1, 4, 4), (1, 18, 36), (1, 2, 2), (1, 36, 8)]
SECONDS = [0.5, 1.0, 1.376, 2.75, 4 / 3, 2.7535, 0.4999, 0.083333, 15.0, 7.3]


@pytest.mark.parametrize("seconds", SECONDS)
@pytest.mark.parametrize("grid", VIDEO_GRIDS)
def test_single_video_matches_released(grid, seconds):
    ids, mask = batch([build_row(["t5", "vid", "t9"], [grid])])
    got = ours(ids, mask, [], [grid], [seconds])
    want = reference(ids, mask, [], [grid], [seconds])
    assert torch.equal(got[0], want[0])
    assert torch.equal(got[1], want[1])


@pytest.mark.parametrize("side", ["left", "right"])
def test_mixed_batch_images_videos_and_text_only_rows(side):
    rng = torch.Generator().manual_seed(0)
    layouts = [
        ["t3", "img", "t4", "vid", "t6"],
        ["t2", "vid", "t1", "vid", "t5"],
        ["t11"],  # text only
        ["t1", "img", "t2", "img", "t3", "vid", "t2"],
        ["t4", "vid", "t3", "img", "t7"],
    ]
    for trial in range(20):
        image_grids, video_grids, seconds, rows = [], [], [], []
        for layout in layouts:
            grids = []
            for piece in layout:
                if piece == "img":
                    g = IMAGE_GRIDS[int(torch.randint(len(IMAGE_GRIDS), (1,), generator=rng))]
                    image_grids.append(g)
                    grids.append(g)
                elif piece == "vid":
                    g = VIDEO_GRIDS[int(torch.randint(len(VIDEO_GRIDS), (1,), generator=rng))]
                    video_grids.append(g)
                    seconds.append(SECONDS[int(torch.randint(len(SECONDS), (1,), generator=rng))])
                    grids.append(g)
            rows.append(build_row(layout, list(grids)))
        ids, mask = batch(rows, side)
        got = ours(ids, mask, image_grids, video_grids, seconds)
        want = reference(ids, mask, image_grids, video_grids, seconds)
        assert torch.equal(got[0], want[0]), f"trial {trial}"
        assert torch.equal(got[1], want[1]), f"trial {trial}"


def test_without_second_per_grid_ts_the_spacing_is_one_second():
    grid = (4, 4, 4)
    ids, mask = batch([build_row(["t2", "vid", "t2"], [grid])])
    got, _ = ours(ids, mask, [], [grid], None)
    want, _ = reference_rope_index(ids, None, torch.tensor([grid]), None, mask)
    assert torch.equal(got, want)
    assert sorted(set(got[0, 0, 3:7].tolist())) == [3]  # first temporal patch at the text position
    # patch i at 3 + i * 1.0 * 2
    assert got[0, 0, 3::4][:4].tolist() == [3, 5, 7, 9]


def test_released_rule_worked_example():
    """The issue's example: 16 frames, 224x420 (grid 8 x 16 x 30), 2.75 s per patch, tokens_per_second 2."""
    grid = (8, 16, 30)
    ids, mask = batch([build_row(["t15", "vid", "t3"], [grid])])
    pos, _ = ours(ids, mask, [], [grid], [2.7535])
    per_patch = 8 * 15
    video = pos[0, 0, 16 : 16 + 8 * per_patch]
    assert video[::per_patch].tolist() == [16, 21, 27, 32, 38, 43, 49, 54]  # 16 + floor(i * 5.5)
    # text after the video: max over all three axes + 1 (16 + 38 = 54 temporal > 16 + 14 width) -> 55
    assert pos[0, 0, 16 + 8 * per_patch].item() == 55  # <|vision_end|>


def test_bf16_rounding_rule_at_a_boundary():
    """0.4999 s x 2 tokens/s at patch 2 is 1.9996 (-> 1) unrounded, but vLLM's bf16 value 0.5 gives 2."""
    assert round_second_per_grid_ts([0.4999]).item() == 0.5
    grid = (4, 2, 2)
    ids, mask = batch([build_row(["t1", "vid"], [grid])])
    pos, _ = ours(ids, mask, [], [grid], [0.4999])
    assert pos[0, 0, 2:6].tolist() == [2, 3, 4, 5]  # start 2 + floor(i * 0.5 * 2)
    unrounded, _ = reference_rope_index(ids, None, torch.tensor([grid]), torch.tensor([0.4999]), mask)
    assert unrounded[0, 0, 2:6].tolist() == [2, 2, 3, 4]


def test_stock_transformers_differs_and_the_install_replaces_it(tiny_checkpoint):
    """Documents the upstream bug this module fixes, then checks the class-level install."""
    from transformers import AutoModelForImageTextToText
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl

    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint)
    cfg = model.config
    grid = (8, 16, 30)
    row = [3] * 5 + [cfg.vision_start_token_id] + [cfg.video_token_id] * (8 * 16 * 30 // 4) + [3] * 4
    ids = torch.tensor([row])
    types = (ids == cfg.video_token_id).long() * 2
    kwargs = {
        "video_grid_thw": torch.tensor([grid]),
        "second_per_grid_ts": torch.tensor([2.75]),
        "attention_mask": torch.ones_like(ids),
    }
    install_released_mrope()
    assert uses_released_mrope(model)
    stock, _ = modeling_qwen2_5_vl.Qwen2_5_VLModel.transformers_get_rope_index(
        model.model, ids, types, **kwargs
    )
    # transformers 5.20 (the pin) scales video patches by the real 2.75 s (5.17 truncated it with int(): 4 per
    # patch), but the text after the video still resumes at start + max(h, w) / merge = 6 + 15 instead of
    # after the last temporal position
    assert stock[0, 0, 6::120][:8].tolist() == [6 + int(i * 5.5) for i in range(8)]
    assert stock[0, 0, -4].item() == 6 + 15
    fixed, _ = model.model.get_rope_index(ids, types, **kwargs)
    assert fixed[0, 0, 6::120][:8].tolist() == [6 + int(i * 5.5) for i in range(8)]
    assert fixed[0, 0, -4].item() == 6 + 38 + 1


def test_cached_greedy_generation_equals_full_recompute(tiny_checkpoint):
    """With the released positions installed, generate() with the KV cache gives the same tokens as
    recomputing the whole sequence (prompt + tokens so far) from scratch at every step."""
    from transformers import AutoProcessor

    from video_r1.models.qwen2_5_vl import load_model

    torch.manual_seed(0)
    model = load_model(str(tiny_checkpoint), dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    frames = torch.randint(0, 256, (8, 3, 56, 84), dtype=torch.uint8)
    metadata = {
        "total_num_frames": 88,
        "video_fps": 8.0,
        "frames_indices": [round(i * 87 / 7) for i in range(8)],
        "width": 84,
        "height": 56,
        "duration": 11.0,
        "backend": "decord",
    }
    from video_r1.data.vision import processor_video_kwargs

    texts = [
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>Which way?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>user\nA much longer text prompt first <|vision_start|><|video_pad|><|vision_end|>"
        " and?<|im_end|>\n<|im_start|>assistant\n",
    ]
    inputs = processor(
        text=texts,
        videos=[frames, frames.flip(0)],
        padding=True,
        padding_side="left",
        return_tensors="pt",
        **processor_video_kwargs([metadata, metadata]),
    )
    # 2 s per temporal patch (sampled at 8/11 fps): not an integer multiple of the stock rule's int()
    assert inputs["second_per_grid_ts"].tolist() == pytest.approx([2.75, 2.75])
    steps = 6
    out = model.generate(
        **inputs,
        max_new_tokens=steps,
        do_sample=False,
        suppress_tokens=[],
        output_logits=True,
        return_dict_in_generate=True,
    )
    cached = out.sequences[:, inputs["input_ids"].shape[1] :]
    cached_logits = torch.stack(out.logits, dim=1)

    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    vision = {k: inputs[k] for k in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")}
    recomputed, recomputed_logits = [], []
    for _ in range(steps):
        types = (ids == model.config.video_token_id).long() * 2
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, mm_token_type_ids=types, **vision).logits
        recomputed_logits.append(logits[:, -1])
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        recomputed.append(nxt)
        ids = torch.cat([ids, nxt], dim=1)
        mask = torch.cat([mask, torch.ones_like(nxt)], dim=1)
    assert torch.equal(cached, torch.cat(recomputed, dim=1))
    torch.testing.assert_close(cached_logits, torch.stack(recomputed_logits, dim=1), atol=1e-5, rtol=1e-4)

    # The model's own cached forward (no position_ids: it adds rope_deltas to the cache position), one row
    # without padding, must continue at the same positions as the recomputation.
    keep = inputs["attention_mask"][0].bool()
    ids = inputs["input_ids"][:1, keep]
    row_vision = {
        "pixel_values_videos": inputs["pixel_values_videos"][: inputs["pixel_values_videos"].shape[0] // 2],
        "video_grid_thw": inputs["video_grid_thw"][:1],
        "second_per_grid_ts": inputs["second_per_grid_ts"][:1],
    }
    types = (ids == model.config.video_token_id).long() * 2
    step_logits = []
    with torch.no_grad():
        step = model(input_ids=ids, mm_token_type_ids=types, use_cache=True, **row_vision)
        for k in range(steps):
            step_logits.append(step.logits[:, -1])
            if k + 1 < steps:
                step = model(
                    input_ids=cached[:1, k : k + 1], past_key_values=step.past_key_values, use_cache=True
                )
    torch.testing.assert_close(torch.stack(step_logits, dim=1), cached_logits[:1], atol=1e-5, rtol=1e-4)


def test_every_grid_and_second_value_combination_is_consistent():
    """Exhaustive small sweep: all grids x all second values x text before/after, single row."""
    for grid, seconds, (before, after) in itertools.product(
        VIDEO_GRIDS[:5], SECONDS, [(0, 0), (1, 5), (7, 0)]
    ):
        layout = ([f"t{before}"] if before else []) + ["vid"] + ([f"t{after}"] if after else [])
        ids, mask = batch([build_row(layout, [grid])])
        got = ours(ids, mask, [], [grid], [seconds])
        want = reference(ids, mask, [], [grid], [seconds])
        assert torch.equal(got[0], want[0]), (grid, seconds, before, after)
