"""One sample of a generation run: its request, its result, and the prompt text and media built for it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from video_r1.data.collate import media_to_dict
from video_r1.data.media import load_media_for_record
from video_r1.data.vision import VisionPreset
from video_r1.models.family import ModelFamily
from video_r1.prompts import build_conversation
from video_r1.vllm.requests import family_vllm_request, vllm_request

logger = logging.getLogger(__name__)


@dataclass
class SamplingConfig:
    """Decoding settings shared by both backends."""

    #: Sampling temperature; 0 means greedy decoding.
    temperature: float = 1.0
    #: Nucleus sampling mass (1.0 = off).
    top_p: float = 1.0
    #: Maximum number of generated tokens per sample.
    max_new_tokens: int = 512
    #: Seed of the sampler (None = not seeded).
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class GenerationRequest:
    """One sample to generate for."""

    #: Unique id of the sample in its run (chosen by the caller, e.g. "<problem_id>" or "<problem_id>#<i>").
    key: str
    #: A validated record (from :func:`video_r1.data.records.load_records`) with ``media_path``.
    record: dict
    #: Prompt variant (:data:`video_r1.prompts.VARIANTS`) used to build the conversation.
    variant: str = "eval"


@dataclass
class GenerationResult:
    """The outcome of one :class:`GenerationRequest`."""

    key: str
    #: Decoded completion (special tokens skipped); None on error.
    output: str | None
    #: ``"<ExceptionType>: <message>"`` (e.g. a ``MediaError`` naming problem_id and path); None on success.
    error: str | None = None
    #: Completion length in tokens, up to and including the first end-of-sequence token.
    num_tokens: int | None = None
    #: The sampled frame rate of the video frames given to the model (videos only).
    sample_fps: float | None = None


@dataclass
class PreparedSample:
    """A request whose prompt text and media are ready for a model (output of :func:`prepare_sample`)."""

    key: str
    #: Chat-templated prompt text (with the generation prompt appended).
    text: str
    #: Decoded media in :func:`video_r1.data.collate.media_to_dict` form.
    media: dict[str, Any]
    sample_fps: float | None = None
    #: Extra information for callers (problem_id, media path).
    info: dict[str, Any] = field(default_factory=dict)


def format_error(err: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` on one line."""
    text = f"{type(err).__name__}: {err}"
    return " ".join(text.split())


def chat_prompt(processor, record: dict[str, Any], variant: str = "eval") -> str:
    """The chat-templated prompt text for ``record`` (media placeholder first, generation prompt added)."""
    conversation = build_conversation(record, variant)
    return processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)


def prepare_sample(
    request: GenerationRequest, processor, preset: VisionPreset
) -> PreparedSample | GenerationResult:
    """Prompt text + decoded media for one request, or an error :class:`GenerationResult`.

    Media is decoded with ``load_media_for_record(record, preset, "error")`` (the preset names the decoder);
    a ``MediaError`` (missing, empty, unreadable, truncated ... file) or a malformed record becomes the
    sample's error. Never raises for per-sample problems.
    """
    record = request.record
    try:
        text = chat_prompt(processor, record, request.variant)
        loaded = load_media_for_record(record, preset, "error")
        media = media_to_dict(loaded)
    except Exception as err:  # per-sample: media errors, bad records, template errors
        logger.warning("sample %s: %s", request.key, format_error(err))
        return GenerationResult(key=request.key, output=None, error=format_error(err))
    sample_fps = None
    if media["type"] == "video":
        sample_fps = float(media["video_metadata"]["sample_fps"])
    info = {"problem_id": record.get("problem_id"), "path": media.get("path")}
    return PreparedSample(key=request.key, text=text, media=media, sample_fps=sample_fps, info=info)


def build_vllm_requests(
    samples: Sequence[PreparedSample], temporal_rope: str = "sampled_fps", family: ModelFamily | None = None
) -> list[dict[str, Any]]:
    """vLLM prompt dicts (``prompt`` + ``multi_modal_data`` [+ ``mm_processor_kwargs``]) for a batch.

    Pure: needs no vLLM, so it is tested on CPU. Each sample's decoded frames go through
    :func:`video_r1.vllm.requests.family_vllm_request` for the model's ``family`` (without one,
    :func:`~video_r1.vllm.requests.vllm_request`: the same request for Qwen2.5-VL), so vLLM sees the same
    frames, sizes and temporal spacing (for Qwen3-VL: the same timestamps) as the HF path.
    """
    if family is None:
        return [vllm_request(sample.text, [sample.media], temporal_rope) for sample in samples]
    return [family_vllm_request(family, sample.text, [sample.media], temporal_rope) for sample in samples]
