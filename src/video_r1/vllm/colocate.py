"""The T-GRPO trainer's rollouts on TRL's colocated vLLM engine, with video.

TRL 1.16's colocate rollout (``VLLMGeneration.generate``) builds
``{"prompt_token_ids": ids, "multi_modal_data": {"image": x}}`` for every prompt from the trainer's token
ids and its ``images`` argument, and hands the list to ``vllm.LLM.generate``. It knows images only. The
trainer passes each prompt's media as one :class:`VLLMMedia` "image", which keeps all of TRL's machinery
(weight sync, sleep mode, tensor-parallel gathering, sampling parameters, logprobs for importance
sampling); :class:`MediaAwareLLM` wraps the engine and, just before ``generate``, swaps each stand-in for
the real media (a video as ``(frames, metadata)`` with vLLM's own sampling and resizing off) and collapses
the prompt's expanded placeholder runs to one token per media item (:func:`restore_vllm_media`), which is
what vLLM expands. The trainer keeps its expanded ids for the log-prob passes: TRL never uses the prompt
ids vLLM returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from video_r1.vllm.requests import vllm_request


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


def restore_vllm_media(prompts: list[dict[str, Any]], placeholder_ids: Sequence[int]) -> list[dict[str, Any]]:
    """TRL-built vLLM prompts with each :class:`VLLMMedia` replaced by its media and the ids collapsed (the
    request :func:`~video_r1.vllm.requests.vllm_request` builds from the same ids and media)."""
    out = []
    for prompt in prompts:
        item = (prompt.get("multi_modal_data") or {}).get("image")
        if isinstance(item, VLLMMedia):
            rest = {k: v for k, v in prompt.items() if k not in ("prompt_token_ids", "multi_modal_data")}
            prompt = {
                **rest,
                **vllm_request(prompt["prompt_token_ids"], [item.media], item.temporal_rope, placeholder_ids),
            }
        out.append(prompt)
    return out


class MediaAwareLLM:
    """Wraps TRL's colocated ``vllm.LLM``: rewrites prompts with :func:`restore_vllm_media`, forwards the rest."""

    def __init__(self, llm, placeholder_ids: Sequence[int]):
        self._llm = llm
        self.placeholder_ids = [int(i) for i in placeholder_ids]

    def generate(self, prompts, *args, **kwargs):
        return self._llm.generate(restore_vllm_media(list(prompts), self.placeholder_ids), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._llm, name)
