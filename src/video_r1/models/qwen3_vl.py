"""Qwen3-VL (dense) facts in one leaf module: sizes, timestamps, positions and the vLLM prompt ids.

What differs from Qwen2.5-VL (read in transformers 5.17 ``models/qwen3_vl`` and vLLM 0.31
``model_executor/models/qwen3_vl.py``; checked against both by tests):

- **Patch 16, merge 2**: frames and images given with ``do_resize=False`` must be multiples of
  :data:`SIZE_FACTOR` = 32 (sizes made for Qwen2.5-VL's 28 raise a reshape error in the processor).
- **Time is text.** The processor writes ``<{t:.1f} seconds>`` before each temporal patch (2 frames):
  ``t`` is the mean time of the patch's frames, ``frames_indices[i] / fps`` (:func:`patch_timestamps`).
  Each patch is ``<t seconds><|vision_start|><|video_pad|>*(h*w/4)<|vision_end|>`` and the whole video
  stays inside an outer ``<|vision_start|>...<|vision_end|>`` (the chat template's). Without metadata
  the processor silently assumes 24 fps, so every path passes the real metadata.
- **Positions**: interleaved M-RoPE whose temporal index does not encode time. Every temporal patch is
  its own ``t=1`` block: its tokens share the block's start as temporal index, rows/columns add to it,
  and the text after a block resumes at ``max + 1`` (for ``t=1`` blocks transformers' ``start +
  max(h, w)`` is the same number). :func:`rope_index` is this rule; it equals transformers'
  ``Qwen3VLModel.get_rope_index`` and vLLM's ``_get_mrope_input_positions`` (tested), so transformers'
  own method stays installed for this family.
- **DeepStack**: the vision tower also returns features of several inner layers, added to the hidden
  states of the first text layers at the vision-token positions. A forward from ``inputs_embeds`` (what
  :mod:`video_r1.models.shared_vision` does to encode each media once) skips them, so shared-vision reuse
  is declared unsupported for this family (:data:`SHARED_VISION_UNSUPPORTED`).
- **vLLM prompts**: token ids must be the *unexpanded* template ids (one
  ``<|vision_start|><|video_pad|><|vision_end|>`` per video, one ``<|image_pad|>`` per image); vLLM writes
  the timestamps and expands. :func:`unexpand_prompt_ids` turns the HF processor's expanded ids back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from video_r1.models.qwen2_5_vl_positions import released_rope_index

MODEL_TYPE = "qwen3_vl"
PATCH_SIZE = 16
SPATIAL_MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
#: Frame and image sides are multiples of this (patch 16 x merge 2).
SIZE_FACTOR = PATCH_SIZE * SPATIAL_MERGE_SIZE

#: Processor outputs that carry one sample's pixels (no ``second_per_grid_ts``: time is in the text).
IMAGE_KEYS = ("pixel_values", "image_grid_thw")
VIDEO_KEYS = ("pixel_values_videos", "video_grid_thw")
VISION_KEYS = IMAGE_KEYS + VIDEO_KEYS

SHARED_VISION_UNSUPPORTED = (
    "Qwen3-VL's DeepStack adds features of inner vision layers to the first text layers at the vision-token "
    "positions; the shared-vision forward runs the model from inputs_embeds, which skips them, so vision "
    "features are not reused across a group's rows for this family (each row encodes its media)"
)


def patch_timestamps(
    frames_indices: Sequence[int], fps: float, temporal_patch_size: int = TEMPORAL_PATCH_SIZE
) -> list[float]:
    """Seconds the processor writes before each temporal patch: the mean of the patch's frame times.

    ``frames_indices`` are the sampled frames' indices in the source video, ``fps`` its native rate (the
    ``VideoMetadata`` fields). An odd count repeats the last index, as the processor does.
    """
    indices = [int(i) for i in frames_indices]
    if not indices:
        return []
    while len(indices) % temporal_patch_size:
        indices.append(indices[-1])
    times = [i / float(fps) for i in indices]
    return [
        (times[i] + times[i + temporal_patch_size - 1]) / 2 for i in range(0, len(times), temporal_patch_size)
    ]


def timestamp_texts(frames_indices: Sequence[int], fps: float) -> list[str]:
    """The ``<t seconds>`` strings of one video, in prompt order (always ascending for sampled frames)."""
    return [f"<{t:.1f} seconds>" for t in patch_timestamps(frames_indices, fps)]


def split_video_grids(video_grid_thw: torch.Tensor | None) -> torch.Tensor | None:
    """``(t, h, w)`` per video -> ``t`` rows of ``(1, h, w)``: one block per temporal patch."""
    if video_grid_thw is None:
        return None
    grids = torch.as_tensor(video_grid_thw)
    split = torch.repeat_interleave(grids, grids[:, 0], dim=0).clone()
    split[:, 0] = 1
    return split


def rope_index(
    input_ids: torch.Tensor,
    image_grid_thw: torch.Tensor | None = None,
    video_grid_thw: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    *,
    image_token_id: int,
    video_token_id: int,
    spatial_merge_size: int = SPATIAL_MERGE_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Qwen3-VL positions ``(3, batch, seq)`` and ``rope_deltas`` ``(batch, 1)`` (see the module docstring).

    Each temporal patch of a video is a ``t=1`` block, so this is the released Qwen2.5-VL rule
    (:func:`~video_r1.models.qwen2_5_vl_positions.released_rope_index`) applied to the per-patch grids:
    a ``t=1`` block has temporal index 0 whatever its time, and text resumes at ``max + 1``.
    """
    return released_rope_index(
        input_ids,
        image_grid_thw=image_grid_thw,
        video_grid_thw=split_video_grids(video_grid_thw),
        second_per_grid_ts=None,
        attention_mask=attention_mask,
        image_token_id=image_token_id,
        video_token_id=video_token_id,
        spatial_merge_size=spatial_merge_size,
    )


def unexpand_prompt_ids(
    token_ids: Sequence[int],
    *,
    image_token_id: int,
    video_token_id: int,
    vision_start_token_id: int,
    vision_end_token_id: int,
) -> list[int]:
    """The chat template's ids from the HF processor's expanded ids (what vLLM 0.31 must be given).

    A video ``<vs> [<t seconds> <vs> <video_pad>*n <ve>]*T <ve>`` becomes ``<vs> <video_pad> <ve>``; an image
    run ``<image_pad>*n`` becomes one ``<image_pad>``. Text is untouched. Raises ``ValueError`` on a video
    whose structure is not the processor's (e.g. a truncated prompt).
    """
    ids = [int(t) for t in token_ids]
    media = {image_token_id, video_token_id, vision_start_token_id, vision_end_token_id}
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        token = ids[i]
        if token == image_token_id:
            out.append(token)
            while i < n and ids[i] == image_token_id:
                i += 1
            continue
        if token == video_token_id:
            raise ValueError(f"a <|video_pad|> at index {i} outside a timestamped video block")
        if token == vision_start_token_id and _is_video_start(ids, i, media, video_token_id):
            i = _skip_video(ids, i, media, video_token_id, vision_start_token_id, vision_end_token_id)
            out.extend((vision_start_token_id, video_token_id, vision_end_token_id))
            continue
        out.append(token)
        i += 1
    return out


def _text_until_media(ids: list[int], i: int, media: set[int]) -> int:
    while i < len(ids) and ids[i] not in media:
        i += 1
    return i


def _is_video_start(ids: list[int], i: int, media: set[int], video_token_id: int) -> bool:
    """Whether the ``<|vision_start|>`` at ``i`` opens an expanded video: timestamp text, then ``<vs><video_pad>``."""
    j = _text_until_media(ids, i + 1, media)
    return j > i + 1 and j + 1 < len(ids) and ids[j + 1] == video_token_id


def _skip_video(ids: list[int], i: int, media: set[int], video: int, start: int, end: int) -> int:
    """Index after the outer ``<|vision_end|>`` of the expanded video whose outer start is at ``i``."""
    j = i + 1
    while True:
        k = _text_until_media(ids, j, media)
        if k == j or k + 1 >= len(ids) or ids[k] != start or ids[k + 1] != video:
            raise ValueError(
                f"index {j}: expected '<t seconds><|vision_start|><|video_pad|>' in a video block"
            )
        k += 1
        while k < len(ids) and ids[k] == video:
            k += 1
        if k >= len(ids) or ids[k] != end:
            raise ValueError(f"index {k}: a video patch's <|video_pad|> run does not end with <|vision_end|>")
        k += 1
        if k < len(ids) and ids[k] == end:
            return k + 1
        j = k
