"""Requests for vLLM built from the project's decoded media: pure functions, testable without vLLM.

vLLM is GPU-only and imported lazily by its callers (the T-GRPO trainer's colocate rollouts, the eval and
annotation backends). What they hand to ``vllm.LLM.generate`` is built here, from the same decoded media the
HF path gives the processor, so both paths see the same frames, sizes and temporal spacing:

- the prompt is the chat-templated text, or token ids with ONE placeholder token per media item
  (:func:`collapse_placeholders`). vLLM (0.31 and 0.33) expands each ``<|image_pad|>`` / ``<|video_pad|>`` to the
  item's feature count itself; a run that is already expanded (what the HF processor returns) is expanded
  again (960 video pads became 1,919 on the 22 s example video), so expanded ids must never reach it;
- a video is ``(frames, metadata)``: ``frames`` a ``uint8`` ``numpy`` array ``(T, H, W, C)`` (vLLM's layout;
  the project keeps ``(T, C, H, W)`` tensors), ``metadata`` the fields of
  ``transformers.video_utils.VideoMetadata`` from :func:`video_r1.data.vision.to_video_metadata`, so the
  Qwen2.5-VL processor inside vLLM computes the same ``second_per_grid_ts`` as ours;
- ``mm_processor_kwargs`` turns vLLM's own frame sampling and resizing off (the frames are already sampled
  and sized by the vision preset), exactly as :func:`video_r1.data.vision.processor_video_kwargs` does for
  the HF processor;
- an image is the PIL image itself.

The original passed no fps to the processor in training and ``fps`` through ``mm_processor_kwargs`` in
evaluation; here every path passes the real metadata (or the original's fixed 2 fps with
``temporal_rope="fixed_2fps"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from video_r1.data.vision import TemporalRope, to_video_metadata
from video_r1.models.family import ModelFamily
from video_r1.models.qwen2_5_vl_positions import collapse_pad_runs as collapse_placeholders

#: Processor settings for pre-sampled, pre-sized frames (mirrors ``processor_video_kwargs``).
VIDEO_PROCESSOR_KWARGS: dict[str, Any] = {"do_sample_frames": False, "do_resize": False}

_METADATA_FIELDS = (
    "total_num_frames",
    "fps",
    "width",
    "height",
    "duration",
    "video_backend",
    "frames_indices",
)


def video_metadata_dict(
    metadata: Mapping[str, Any], temporal_rope: TemporalRope = "sampled_fps"
) -> dict[str, Any]:
    """Plain-dict ``VideoMetadata`` fields for one video (what vLLM's video item carries)."""
    md = to_video_metadata(dict(metadata), temporal_rope)
    out = {name: getattr(md, name) for name in _METADATA_FIELDS}
    out["frames_indices"] = [int(i) for i in out["frames_indices"]]
    out["do_sample_frames"] = False
    return out


def vllm_video(
    frames: Any, metadata: Mapping[str, Any], temporal_rope: TemporalRope = "sampled_fps"
) -> tuple[np.ndarray, dict[str, Any]]:
    """``(uint8 array (T, H, W, C), metadata dict)`` for a ``(T, C, H, W)`` frame tensor or array."""
    array = frames.numpy() if hasattr(frames, "numpy") else np.asarray(frames)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(
            f"expected video frames shaped (T, C, H, W) with C in (1, 3), got {tuple(array.shape)}"
        )
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames (as the vision presets return), got {array.dtype}")
    nframes = len(metadata.get("frames_indices", ()))
    if nframes and nframes != array.shape[0]:
        raise ValueError(f"{array.shape[0]} frames but metadata lists {nframes} frame indices")
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)), video_metadata_dict(metadata, temporal_rope)


def vllm_multi_modal_data(
    media: Sequence[Mapping[str, Any]], temporal_rope: TemporalRope = "sampled_fps"
) -> dict[str, Any]:
    """``multi_modal_data`` for one prompt from its media dicts (``collate.media_to_dict`` form).

    One item of a kind is passed bare, several as a list, as vLLM expects.
    """
    images: list[Any] = []
    videos: list[tuple[np.ndarray, dict[str, Any]]] = []
    for item in media:
        kind = item.get("type")
        if kind == "video":
            videos.append(vllm_video(item["frames"], item["video_metadata"], temporal_rope))
        elif kind == "image":
            images.append(item["image"])
        else:
            raise ValueError(f"unknown media type {kind!r}")
    data: dict[str, Any] = {}
    if images:
        data["image"] = images[0] if len(images) == 1 else images
    if videos:
        data["video"] = videos[0] if len(videos) == 1 else videos
    return data


def vllm_media_fields(
    media: Sequence[Mapping[str, Any]], temporal_rope: TemporalRope = "sampled_fps"
) -> dict[str, Any]:
    """The media part of a vLLM prompt: ``multi_modal_data`` and, for videos, ``mm_processor_kwargs``."""
    fields: dict[str, Any] = {"multi_modal_data": vllm_multi_modal_data(media, temporal_rope)}
    if "video" in fields["multi_modal_data"]:
        fields["mm_processor_kwargs"] = dict(VIDEO_PROCESSOR_KWARGS)
    return fields


def vllm_request(
    prompt: str | Sequence[int],
    media: Sequence[Mapping[str, Any]] | None = None,
    temporal_rope: TemporalRope = "sampled_fps",
    placeholder_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """One vLLM prompt dict: chat-templated text (``prompt``) or token ids (``prompt_token_ids``) + media.

    Token ids with media need ``placeholder_ids`` (the image and video pad ids): expanded placeholder runs
    are collapsed to one token each, which vLLM expands again to exactly the HF processor's ids.
    """
    if isinstance(prompt, str):
        request: dict[str, Any] = {"prompt": prompt}
    else:
        ids = [int(t) for t in prompt]
        if media:
            if placeholder_ids is None:
                raise ValueError("token-id prompts with media need placeholder_ids to collapse the expansion")
            ids = collapse_placeholders(ids, placeholder_ids)
        request = {"prompt_token_ids": ids}
    if media:
        request.update(vllm_media_fields(media, temporal_rope))
    return request


def family_vllm_request(
    family: ModelFamily,
    prompt: str | Sequence[int],
    media: Sequence[Mapping[str, Any]] | None = None,
    temporal_rope: TemporalRope = "sampled_fps",
    token_ids: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """One vLLM prompt dict for a model family (:func:`video_r1.models.family.family_for`).

    Text prompts and media are built as in :func:`vllm_request` (the video metadata carries the real fps and
    frame indices, from which Qwen3-VL's processor inside vLLM writes the same ``<t seconds>`` as ours; a
    shuffled video carries the ordered video's metadata, so the timestamps stay ascending). Token-id prompts
    with media need ``token_ids`` (``family.token_ids(tokenizer)``): the HF processor's expanded ids become
    what vLLM expands itself, ``family.vllm_prompt_ids`` - pad runs collapsed for Qwen2.5-VL, the chat
    template's ``<|vision_start|><|video_pad|><|vision_end|>`` per video for Qwen3-VL (its timestamps and
    per-patch markers removed; vLLM writes them again).
    """
    if isinstance(prompt, str):
        request: dict[str, Any] = {"prompt": prompt}
    else:
        ids = [int(t) for t in prompt]
        if media:
            if token_ids is None:
                raise ValueError("token-id prompts with media need token_ids (family.token_ids(tokenizer))")
            ids = family.vllm_prompt_ids(ids, dict(token_ids))
        request = {"prompt_token_ids": ids}
    if media:
        request["multi_modal_data"] = vllm_multi_modal_data(media, temporal_rope)
        if "video" in request["multi_modal_data"]:
            request["mm_processor_kwargs"] = family.vllm_mm_processor_kwargs
    return request
