"""Vision features computed once per distinct image or video and shared by the rows that use it.

A GRPO batch holds each prompt G times (plus T-GRPO's shuffled copies): TRL, like the original, hands the
model one copy of the pixels per row, so the vision tower encodes every media G times in every log-prob pass
and in the generation prefill. Rows of the same sample share one vision dict (the trainer processes each
sample once), which makes the distinct media easy to find. This module is the Qwen2.5-VL-specific part:

- :class:`SharedVisionForward` runs the vision tower once per distinct media of a chunk, scatters the
  features into the token embeddings at the placeholder positions and calls the model from
  ``inputs_embeds`` with the M-RoPE positions of the per-row grids (the same arithmetic as the model's own
  forward; same log-probs within 1e-5 and gradients within 1e-4, tested);
- :func:`shared_vision_generation` does the same for HF ``generate``'s prefill;
- :class:`WithVideoInputs` is the repeat-everything path (TRL's log-prob helper forwards image fields only).

Only families whose ``ModelFamily.shared_vision_unsupported`` is ``None`` (Qwen2.5-VL) may use the first two:
Qwen3-VL's DeepStack features would be skipped by a forward from ``inputs_embeds``.
:func:`check_shared_vision` raises the family's reason, and both entry points call it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from video_r1.models.family import family_for
from video_r1.models.qwen2_5_vl_positions import VIDEO_KEYS, VISION_KEYS


def check_shared_vision(model) -> None:
    """Raise ``ValueError`` with the reason when ``model``'s family cannot reuse vision features across rows."""
    family = family_for(model)
    if family.shared_vision_unsupported:
        raise ValueError(
            f"shared vision is not supported for {family.name}: {family.shared_vision_unsupported}"
        )


def cat_vision(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The rows' vision fields concatenated in row order (one entry per key that any row has)."""
    return {k: torch.cat([r[k] for r in rows if k in r]) for k in VISION_KEYS if any(k in r for r in rows)}


class WithVideoInputs:
    """Calls ``model`` with extra keyword inputs (the video tensors TRL's log-prob helper does not forward)."""

    def __init__(self, model, extra: dict[str, torch.Tensor]):
        self.model = model
        self.extra = extra

    def __call__(self, *args, **kwargs):
        return self.model(*args, **kwargs, **self.extra)


class SharedVisionForward:
    """Calls ``model`` with vision features computed once per distinct media of the chunk.

    ``rows`` holds one vision dict per sequence; rows of the same sample share one dict object (the trainer
    processes each sample once), so the vision tower runs on each distinct dict once and its output is
    expanded to every row that uses it. The expanded features are scattered into the token embeddings at
    the placeholder positions and the model runs from ``inputs_embeds`` with the M-RoPE positions computed
    from the per-row grids - the same arithmetic as the model's own forward, which would encode the media
    once per row. Rows without vision pass through unchanged.
    """

    def __init__(
        self, model, base, rows: list[dict[str, torch.Tensor]], token_ids: dict[str, int], frozen: bool
    ):
        check_shared_vision(base)
        self.model, self.base, self.rows, self.token_ids, self.frozen = model, base, rows, token_ids, frozen

    def _features(self, kind: str, device) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        pixels_key, grid_key = ("pixel_values", "image_grid_thw") if kind == "image" else VIDEO_KEYS[:2]
        distinct: dict[int, int] = {}
        unique_rows = []
        for row in self.rows:
            if pixels_key in row and id(row) not in distinct:
                distinct[id(row)] = len(unique_rows)
                unique_rows.append(row)
        used = [row for row in self.rows if pixels_key in row]
        if not used:
            return None, {}
        encode = self.base.get_image_features if kind == "image" else self.base.get_video_features
        pixels = torch.cat([r[pixels_key] for r in unique_rows]).to(device)
        grids = torch.cat([r[grid_key] for r in unique_rows]).to(device)
        with torch.no_grad() if self.frozen else contextlib.nullcontext():
            per_media = encode(pixels, grids).pooler_output
        # one media item per sample: the i-th distinct row owns the i-th feature block
        features = torch.cat([per_media[distinct[id(r)]] for r in used])
        grid_fields = {grid_key: torch.cat([r[grid_key] for r in used]).to(device)}
        if kind == "video" and all("second_per_grid_ts" in r for r in used):
            grid_fields["second_per_grid_ts"] = torch.cat([r["second_per_grid_ts"] for r in used]).to(device)
        return features, grid_fields

    def embed(self, input_ids) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Token embeddings with the (shared) vision features scattered in, and the per-row grid fields."""
        device = input_ids.device
        embeds = self.base.get_input_embeddings()(input_ids)
        grids: dict[str, torch.Tensor] = {}
        for kind in ("image", "video"):
            features, fields = self._features(kind, device)
            if features is None:
                continue
            mask = input_ids == self.token_ids[kind]
            if int(mask.sum()) != features.shape[0]:
                raise RuntimeError(
                    f"{kind} features and {kind} tokens do not match: {int(mask.sum())} tokens, "
                    f"{features.shape[0]} features"
                )
            embeds = embeds.masked_scatter(mask.unsqueeze(-1), features.to(embeds.dtype))
            grids.update(fields)
        return embeds, grids

    def __call__(self, input_ids, attention_mask, mm_token_type_ids=None, **kwargs):
        embeds, grids = self.embed(input_ids)
        position_ids = None
        if grids:
            position_ids, _ = self.base.get_rope_index(
                input_ids,
                image_grid_thw=grids.get("image_grid_thw"),
                video_grid_thw=grids.get("video_grid_thw"),
                second_per_grid_ts=grids.get("second_per_grid_ts"),
                attention_mask=attention_mask,
                mm_token_type_ids=mm_token_type_ids,
            )
        return self.model(
            inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids, **kwargs
        )


@contextlib.contextmanager
def shared_vision_generation(
    model, rows: list[dict[str, torch.Tensor]], token_ids: dict[str, int]
) -> Iterator[None]:
    """While active, ``model.generate`` gets ``inputs_embeds`` with each distinct media of ``rows`` encoded once.

    ``model`` is the unwrapped ``Qwen2_5_VLForConditionalGeneration``. A batched ``generate`` call gets one
    copy of the pixels per row (G per prompt, plus T-GRPO's shuffled rows), and the model's prefill would
    run the vision tower on each. The wrapper builds the prompt embeddings with :class:`SharedVisionForward`
    instead and drops the pixels; ``input_ids`` and the per-row grids stay, so the M-RoPE positions and the
    returned sequences are those of the plain call.
    """
    check_shared_vision(model)
    own = vars(model).get("generate")  # an instance-level generate (e.g. a wrapper) to restore after
    real = model.generate

    def generate(*args, **kwargs):
        if args or not any(k in kwargs for k in ("pixel_values", "pixel_values_videos")):
            return real(*args, **kwargs)
        input_ids = kwargs["input_ids"]
        if len(rows) != input_ids.size(0):
            raise RuntimeError(f"{len(rows)} vision rows for {input_ids.size(0)} generation rows")
        shared = SharedVisionForward(None, model.model, rows, token_ids, frozen=True)
        embeds, _ = shared.embed(input_ids)
        for key in ("pixel_values", "pixel_values_videos"):
            kwargs.pop(key, None)
        return real(inputs_embeds=embeds, **kwargs)

    model.generate = generate
    try:
        yield
    finally:
        if own is not None:
            model.generate = own
        else:
            del model.generate  # back to the class method
