"""The T-GRPO trainer's rollouts on TRL's colocated vLLM engine, with video.

TRL 1.16's colocate rollout (``VLLMGeneration.generate``) builds
``{"prompt_token_ids": ids, "multi_modal_data": {"image": x}}`` for every prompt from the trainer's token
ids and its ``images`` argument, and hands the list to ``vllm.LLM.generate``. It knows images only. The
trainer passes each prompt's media as one :class:`VLLMMedia` "image", which keeps all of TRL's machinery
(weight sync, sleep mode, tensor-parallel gathering, sampling parameters, logprobs for importance
sampling); :class:`MediaAwareLLM` wraps the engine and, just before ``generate``, swaps each stand-in for
the real media (a video as ``(frames, metadata)`` with vLLM's own sampling and resizing off) and turns the
prompt's expanded ids back into what vLLM expands itself (:func:`restore_vllm_media`): for the model's
family (:func:`~video_r1.vllm.requests.family_vllm_request`), placeholder runs collapsed to one token per
media item (Qwen2.5-VL) or the chat template's ids without timestamps and per-patch markers (Qwen3-VL,
Qwen3.5: vLLM writes them again from the video's metadata). The trainer keeps its expanded ids for the log-prob passes: TRL never uses the prompt
ids vLLM returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from video_r1.models.family import ModelFamily
from video_r1.vllm.requests import family_vllm_request, vllm_request


def suppress_tokens_kwargs(
    generation_kwargs: dict[str, Any] | None, token_ids: list[int], for_vllm: bool
) -> dict[str, Any]:
    """``generation_kwargs`` that forbid ``token_ids``: HF ``suppress_tokens``, or a vLLM ``logit_bias``.

    vLLM's ``SamplingParams`` has no ``suppress_tokens``; a bias of -100 (the floor vLLM accepts) makes the
    tokens practically impossible to sample.
    """
    kwargs = dict(generation_kwargs or {})
    if for_vllm:
        bias = dict(kwargs.get("logit_bias") or {})
        bias.update({int(i): -100.0 for i in token_ids})
        kwargs["logit_bias"] = bias
    else:
        kwargs["suppress_tokens"] = sorted(
            set(kwargs.get("suppress_tokens") or []) | {int(i) for i in token_ids}
        )
    return kwargs


class VLLMMedia:
    """One prompt's media riding through TRL's ``images`` argument (see the module); turned into vLLM's
    fields by :func:`~video_r1.vllm.requests.vllm_request` when the prompt reaches the engine."""

    def __init__(self, media: dict[str, Any], temporal_rope: str):
        self.media = media
        self.temporal_rope = temporal_rope

    def __repr__(self) -> str:
        return f"VLLMMedia({self.media.get('type')!r})"


def restore_vllm_media(
    prompts: list[dict[str, Any]],
    placeholder_ids: Sequence[int],
    family: ModelFamily | None = None,
    token_ids: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """TRL-built vLLM prompts with each :class:`VLLMMedia` replaced by its media and the ids turned back into
    vLLM's: the request :func:`~video_r1.vllm.requests.family_vllm_request` builds from the same ids and media
    for ``family`` (with ``token_ids = family.token_ids(tokenizer)``), or, without a family,
    :func:`~video_r1.vllm.requests.vllm_request` (pad runs collapsed; the same request for Qwen2.5-VL)."""
    out = []
    for prompt in prompts:
        item = (prompt.get("multi_modal_data") or {}).get("image")
        if isinstance(item, VLLMMedia):
            rest = {k: v for k, v in prompt.items() if k not in ("prompt_token_ids", "multi_modal_data")}
            ids, media = prompt["prompt_token_ids"], [item.media]
            if family is None:
                request = vllm_request(ids, media, item.temporal_rope, placeholder_ids)
            else:
                request = family_vllm_request(family, ids, media, item.temporal_rope, token_ids)
            prompt = {**rest, **request}
        out.append(prompt)
    return out


class MediaAwareLLM:
    """Wraps TRL's colocated ``vllm.LLM``: rewrites prompts with :func:`restore_vllm_media`, forwards the rest."""

    def __init__(
        self,
        llm,
        placeholder_ids: Sequence[int],
        family: ModelFamily | None = None,
        token_ids: Mapping[str, int] | None = None,
    ):
        self._llm = llm
        self.placeholder_ids = [int(i) for i in placeholder_ids]
        self.family = family
        self.token_ids = dict(token_ids) if token_ids is not None else None

    def generate(self, prompts, *args, **kwargs):
        restored = restore_vllm_media(list(prompts), self.placeholder_ids, self.family, self.token_ids)
        return self._llm.generate(restored, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._llm, name)
