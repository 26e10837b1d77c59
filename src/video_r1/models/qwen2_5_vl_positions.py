"""Qwen2.5-VL facts in one leaf module: placeholder tokens and the released M-RoPE positions.

This module imports nothing from the rest of the package, so any layer may use it. Checkpoint checks and
loading live in :mod:`video_r1.models.checkpoint`; :mod:`video_r1.models.qwen2_5_vl` re-exports both, and
:mod:`video_r1.models.family` puts them behind the model-family interface.

M-RoPE positions
----------------
Qwen2.5-VL gives every token three rotary position indices (temporal, height, width). Text tokens use the
same index on all three axes; the tokens of an image or video get a grid. The model was trained (and is
served by vLLM) with this rule, the one in transformers 4.49 where Qwen2.5-VL was released:

- a media item with grid ``(t, h, w)`` (``h``, ``w`` after the 2x2 spatial merge) starting after text
  whose last index is ``s - 1`` gets ``(s + floor(T_i), s + j, s + k)`` for temporal patch ``i``, row
  ``j``, column ``k``, where ``T_i = i * second_per_grid_t * tokens_per_second`` is computed in floating
  point *before* the cast to an integer (``second_per_grid_t`` = seconds covered by one temporal patch;
  0 for images, so all their patches share one temporal index);
- the text after a media item continues at ``max(all three indices of that item) + 1``.

transformers 5.17 differed on both counts: it truncated ``second_per_grid_t`` with ``int()`` before
multiplying (2.75 s per patch became 2, 0.5 became 0), and it continued text at ``s + max(h, w)``, ignoring
the temporal extent. 5.20 (the pinned one, the newest vLLM 0.33 accepts) scales by the real spacing but still
continues text at ``s + max(h, w)``, and so does 5.25 (tests/models/test_positions.py). Every video the
model sees through ``transformers`` would get positions it was never trained with. :func:`released_rope_index`
is the released rule, and :func:`install_released_mrope` puts it in place of ``Qwen2_5_VLModel.get_rope_index``
(the one method every forward, ``generate`` prefill and the trainers' shared-vision forward call), so the
policy, the reference model, SFT, the demo and HF evaluation all use it.

One rounding rule: vLLM keeps ``second_per_grid_ts`` in the model dtype (bfloat16 for the 7B), e.g.
2.7535 s becomes 2.75 s, before it computes positions. Where that cast alone moves a position
(``0.4999 * 2 * 2 = 1.9996 -> 1`` but ``bf16(0.4999) = 0.5 -> 2``) the trainer and vLLM would disagree, so
:func:`released_rope_index` rounds ``second_per_grid_ts`` to bfloat16 first (:func:`round_second_per_grid_ts`):
the trainer's log-probs, HF generation and vLLM rollouts then see the same positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

#: The model type this module describes (``config.model_type``).
MODEL_TYPE = "qwen2_5_vl"
IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"
VISION_START, VISION_END, VISION_PAD = "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>"
#: Vision placeholder tokens; a sampled one would break the scoring forward (Video-R1 #23), so generation
#: suppresses them.
VISION_PLACEHOLDER_TOKENS = (IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END, VISION_PAD)
#: ``mm_token_type_ids`` values of transformers 5.x: text 0, image 1, video 2.
TOKEN_TYPE = {"text": 0, "image": 1, "video": 2}
#: Processor outputs that carry one sample's pixels: image fields first, then video fields.
IMAGE_KEYS = ("pixel_values", "image_grid_thw")
VIDEO_KEYS = ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")
VISION_KEYS = IMAGE_KEYS + VIDEO_KEYS


# ----------------------------------------------------------------------------------------------------
# Tokens


def _token_id(tokenizer, token: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(token)
    return None if token_id is None or token_id == tokenizer.unk_token_id else int(token_id)


def vision_token_ids(tokenizer) -> dict[str, int]:
    """``{"image": id of <|image_pad|>, "video": id of <|video_pad|>}``; raises if the tokenizer lacks one."""
    tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
    out = {}
    for kind, token in (("image", IMAGE_PAD), ("video", VIDEO_PAD)):
        token_id = _token_id(tokenizer, token)
        if token_id is None:
            raise ValueError(f"the tokenizer has no {token} token: not a Qwen2.5-VL tokenizer")
        out[kind] = token_id
    return out


def vision_placeholder_ids(tokenizer) -> list[int]:
    """Ids of :data:`VISION_PLACEHOLDER_TOKENS` the tokenizer has (suppressed at generation)."""
    tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
    ids = (_token_id(tokenizer, token) for token in VISION_PLACEHOLDER_TOKENS)
    return sorted({i for i in ids if i is not None})


def collapse_pad_runs(token_ids: Sequence[int], placeholder_ids: Sequence[int]) -> list[int]:
    """``token_ids`` with every run of one placeholder id (``<|image_pad|>``, ``<|video_pad|>``) cut to one token:
    the unexpanded prompt vLLM 0.31 wants for Qwen2.5-VL (it expands each placeholder itself)."""
    out: list[int] = []
    placeholders = {int(i) for i in placeholder_ids}
    for token in token_ids:
        token = int(token)
        if token in placeholders and out and out[-1] == token:
            continue
        out.append(token)
    return out


def mm_token_type_ids(input_ids: torch.Tensor, token_ids: dict[str, int]) -> torch.Tensor:
    """transformers 5.x's ``mm_token_type_ids`` rebuilt from token ids (text 0, image 1, video 2)."""
    types = torch.zeros_like(input_ids)
    types[input_ids == token_ids["image"]] = TOKEN_TYPE["image"]
    types[input_ids == token_ids["video"]] = TOKEN_TYPE["video"]
    return types


def vision_token_count(
    media: dict[str, Any], patch: int = 14, merge: int = 2, temporal_patch: int = 2
) -> int:
    """Placeholder tokens a decoded media item expands to (``collate.media_to_dict`` form, already sized).

    A video of ``T`` frames at ``H x W`` gives ``T/2 * (H/28) * (W/28)`` tokens, an image ``(H/28) * (W/28)``.
    """
    side = patch * merge
    if media["type"] == "video":
        frames = media["frames"]
        return (frames.shape[0] // temporal_patch) * (frames.shape[-2] // side) * (frames.shape[-1] // side)
    width, height = media["image"].size
    return (height // side) * (width // side)


# ----------------------------------------------------------------------------------------------------
# Positions


def round_second_per_grid_ts(second_per_grid_ts: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """``second_per_grid_ts`` rounded to bfloat16 precision (vLLM's value), returned as float32."""
    values = torch.as_tensor(second_per_grid_ts, dtype=torch.float32)
    return values.to(torch.bfloat16).to(torch.float32)


def media_position_ids(
    start: int,
    grid_thw: Sequence[int],
    spatial_merge_size: int,
    second_per_grid_t: float,
    tokens_per_second: int,
) -> torch.Tensor:
    """``(3, t*h*w/merge^2)`` positions of one media item whose first position is ``start`` (released rule)."""
    t, h, w = (int(v) for v in grid_thw)
    h, w = h // spatial_merge_size, w // spatial_merge_size
    # float32 product, then truncation toward zero (torch .long()), as the released model
    temporal = (torch.arange(t, dtype=torch.float32) * float(second_per_grid_t) * tokens_per_second).long()
    t_index = temporal.view(-1, 1).expand(-1, h * w).flatten()
    h_index = torch.arange(h).view(1, -1, 1).expand(t, -1, w).flatten()
    w_index = torch.arange(w).view(1, 1, -1).expand(t, h, -1).flatten()
    return torch.stack([t_index, h_index, w_index]) + start


def released_rope_index(
    input_ids: torch.Tensor,
    image_grid_thw: torch.Tensor | None = None,
    video_grid_thw: torch.Tensor | None = None,
    second_per_grid_ts: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    *,
    image_token_id: int,
    video_token_id: int,
    spatial_merge_size: int = 2,
    tokens_per_second: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """M-RoPE positions ``(3, batch, seq)`` and ``rope_deltas`` ``(batch, 1)`` as released Qwen2.5-VL computes them.

    Media items are consumed in order of appearance across the batch: each run of ``<|image_pad|>`` /
    ``<|video_pad|>`` tokens takes the next grid of its kind (and, for videos, the next
    ``second_per_grid_ts``, rounded by :func:`round_second_per_grid_ts`; 1.0 when none is given, as
    released). Padding (``attention_mask == 0``) may be on either side; padded slots get position 1.
    ``rope_deltas`` is ``max position + 1 - number of real tokens`` per row: the offset transformers 5.x
    adds to the attention-mask count of a token to place the tokens generated after the prompt.
    """
    batch, seq = input_ids.shape
    device = input_ids.device
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    grids = {
        image_token_id: iter(image_grid_thw.tolist()) if image_grid_thw is not None else iter(()),
        video_token_id: iter(video_grid_thw.tolist()) if video_grid_thw is not None else iter(()),
    }
    seconds = (
        iter(round_second_per_grid_ts(second_per_grid_ts).tolist())
        if second_per_grid_ts is not None
        else None
    )
    position_ids = torch.ones(3, batch, seq, dtype=torch.long)
    deltas = []
    for row in range(batch):
        keep = attention_mask[row].bool().cpu()
        tokens = input_ids[row].cpu()[keep].tolist()
        pieces: list[torch.Tensor] = []
        next_pos = 0  # first position of the next piece
        st = 0
        while True:
            media_at = next((i for i in range(st, len(tokens)) if tokens[i] in grids), None)
            if media_at is None:
                break
            kind = tokens[media_at]
            label = "image" if kind == image_token_id else "video"
            try:
                grid = next(grids[kind])
            except StopIteration:
                raise ValueError(f"row {row}: more {label} placeholder runs than {label} grids") from None
            if kind == video_token_id:
                second = 1.0 if seconds is None else next(seconds, None)
                if second is None:
                    raise ValueError(f"row {row}: more videos than second_per_grid_ts entries")
            else:
                second = 0.0
            if media_at > st:
                pieces.append(torch.arange(media_at - st).view(1, -1).expand(3, -1) + next_pos)
                next_pos += media_at - st
            block = media_position_ids(next_pos, grid, spatial_merge_size, second, tokens_per_second)
            end = media_at + block.shape[1]
            if tokens[media_at:end] != [kind] * block.shape[1]:
                raise ValueError(
                    f"row {row}: the {label} grid {grid} needs {block.shape[1]} consecutive {label} placeholder "
                    f"tokens at index {media_at}; the prompt has a different count"
                )
            pieces.append(block)
            next_pos = int(block.max()) + 1
            st = end
        if st < len(tokens):
            pieces.append(torch.arange(len(tokens) - st).view(1, -1).expand(3, -1) + next_pos)
        positions = torch.cat(pieces, dim=1) if pieces else torch.zeros(3, 0, dtype=torch.long)
        position_ids[:, row, keep] = positions
        deltas.append((int(positions.max()) + 1 if positions.numel() else 0) - len(tokens))
    for kind, remaining in grids.items():
        if next(remaining, None) is not None:
            label = "image" if kind == image_token_id else "video"
            raise ValueError(f"more {label} grids than {label} placeholder runs in the batch")
    return position_ids.to(device), torch.tensor(deltas, device=device).unsqueeze(1)


def _get_rope_index(
    self,
    input_ids: torch.Tensor,
    mm_token_type_ids: torch.Tensor | None = None,
    image_grid_thw: torch.Tensor | None = None,
    video_grid_thw: torch.Tensor | None = None,
    second_per_grid_ts: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
    **unused: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``Qwen2_5_VLModel.get_rope_index`` with the released rule (installed by :func:`install_released_mrope`)."""
    config = self.config
    return released_rope_index(
        input_ids,
        image_grid_thw=image_grid_thw,
        video_grid_thw=video_grid_thw,
        second_per_grid_ts=second_per_grid_ts,
        attention_mask=attention_mask,
        image_token_id=config.image_token_id,
        video_token_id=config.video_token_id,
        spatial_merge_size=config.vision_config.spatial_merge_size,
        tokens_per_second=config.vision_config.tokens_per_second,
    )


_get_rope_index.video_r1_released = True


def install_released_mrope() -> None:
    """Make every ``Qwen2_5_VLModel`` in this process compute the released positions (idempotent).

    Patches the class, not an instance, so models that TRL or transformers build internally (the
    reference model under ZeRO-3, a resumed checkpoint, ``from_pretrained`` anywhere) are covered too.
    """
    from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl

    cls = modeling_qwen2_5_vl.Qwen2_5_VLModel
    if not getattr(cls.get_rope_index, "video_r1_released", False):
        if not hasattr(cls, "transformers_get_rope_index"):
            cls.transformers_get_rope_index = cls.get_rope_index  # kept for comparison (tests)
        cls.get_rope_index = _get_rope_index


def uses_released_mrope(model) -> bool:
    """Whether ``model`` (a Qwen2.5-VL model, possibly wrapped by DDP, DeepSpeed or PEFT) computes the
    released positions."""
    inner = next((m for m in model.modules() if hasattr(type(m), "get_rope_index")), None)
    method = getattr(type(inner), "get_rope_index", None)
    return bool(getattr(method, "video_r1_released", False))
