"""One small interface over the supported model families (Qwen2.5-VL, Qwen3-VL, Qwen3.5), chosen by the checkpoint.

Code that trains, generates, serves or evaluates a model asks :func:`family_for` (a checkpoint path, a
config, a ``config.json`` dict or a loaded model) for its :class:`ModelFamily` and talks only to it:

============================  ==========================================  ========================================
question                      Qwen2.5-VL (the paper's model, default)     Qwen3-VL (dense)
============================  ==========================================  ========================================
placeholder tokens            ``<|image_pad|>``, ``<|video_pad|>``,       the same tokens; each temporal patch is
                              ``<|vision_start|>``, ``<|vision_end|>``     ``<t seconds><vs>pads<ve>`` inside the
                                                                          video's outer ``<vs>...<ve>``
frame/image side multiple     28 (patch 14 x merge 2)                      32 (patch 16 x merge 2)
processor call                real ``VideoMetadata`` per video, no          the same; metadata is *required* (fps
                              resampling/resizing                          and ``frames_indices`` make the
                                                                          timestamps)
positions                     the released M-RoPE rule, installed in        transformers' own (equal to the
                              place of transformers 5.17's                 project's :func:`qwen3_vl.rope_index`
                                                                          and vLLM's: tested)
shared-vision reuse           yes                                          no: DeepStack (reason in
                                                                          :data:`qwen3_vl.SHARED_VISION_UNSUPPORTED`)
vLLM token-id prompts         pad runs collapsed to one pad                the chat template's ids
                                                                          (:func:`qwen3_vl.unexpand_prompt_ids`)
chat template                 TRL's ``qwen2_5_vl_chat_template``           TRL's ``qwen3_vl_chat_template``
tiny checkpoint               ``video_r1.testing.tiny``                    ``video_r1.testing.tiny_qwen3_vl``
============================  ==========================================  ========================================

Qwen3.5 (``qwen3_5``) is Qwen3-VL's column with TRL's ``qwen3_5_think_chat_template``, no DeepStack (shared
vision is still off: not checked against its model), its config class passed explicitly when loading (vLLM
registers its own ``Qwen3_5Config`` with AutoConfig), and the tiny checkpoint in ``video_r1.testing.tiny_qwen3_5``.

The tiny-checkpoint builders live in the testing layer (above this one): ``video_r1.testing.tiny.TINY_BUILDERS``
maps each ``model_type`` to its builder. An unsupported or refused ``model_type`` is one
:class:`~video_r1.errors.ModelPathError` (:func:`~video_r1.models.checkpoint.check_model_type`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from video_r1.models import qwen2_5_vl_positions as qwen2_5_vl
from video_r1.models import qwen3_vl
from video_r1.models.checkpoint import (
    SUPPORTED_MODEL_TYPES,
    adapter_base,
    check_config,
    check_model_type,
    model_type_of,
)

#: Processor settings for frames the vision presets already sampled and sized (both families).
VIDEO_PROCESSOR_KWARGS: dict[str, Any] = {"do_sample_frames": False, "do_resize": False}


@dataclass(frozen=True)
class ModelFamily:
    """What the rest of video-r1 needs to know about one model family (see the module docstring)."""

    model_type: str
    name: str
    #: Frame and image sides must be multiples of this when the processor does not resize (patch x merge).
    size_factor: int
    #: Processor outputs that carry one sample's pixels (image fields first, then video fields).
    vision_keys: tuple[str, ...]
    #: Whether the processor writes the time as text (``<t seconds>``) and so needs real metadata.
    timestamps_in_text: bool
    #: ``None`` when vision features can be shared across a group's rows, else why not.
    shared_vision_unsupported: str | None
    #: ``(input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts, attention_mask, config) -> (pos, deltas)``
    _rope_index: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    #: Installs the family's positions into transformers' model class (idempotent; may do nothing).
    install_positions: Callable[[], None]
    #: ``(expanded prompt ids, token ids dict) -> ids for a vLLM token-id prompt``.
    _vllm_prompt_ids: Callable[[Sequence[int], dict[str, int]], list[int]]
    #: Name of TRL's chat template for the family (``trl.chat_template_utils``).
    chat_template_name: str
    #: The transformers config class to load the checkpoint with, when ``AutoConfig`` cannot be trusted: in a
    #: process that imported vLLM, vLLM registers its own ``Qwen3_5Config`` with AutoConfig.
    config_class_name: str | None = None

    # -- tokens ------------------------------------------------------------------------------------------

    placeholder_tokens = {
        "image": qwen2_5_vl.IMAGE_PAD,
        "video": qwen2_5_vl.VIDEO_PAD,
        "vision_start": qwen2_5_vl.VISION_START,
        "vision_end": qwen2_5_vl.VISION_END,
    }

    def token_ids(self, tokenizer) -> dict[str, int]:
        """``{"image", "video", "vision_start", "vision_end"}`` ids of a (processor's) tokenizer."""
        tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
        out = {}
        for kind, token in self.placeholder_tokens.items():
            token_id = qwen2_5_vl._token_id(tokenizer, token)
            if token_id is None:
                raise ValueError(f"the tokenizer has no {token} token: not a {self.name} tokenizer")
            out[kind] = token_id
        return out

    def suppressed_token_ids(self, tokenizer) -> list[int]:
        """Placeholder ids generation must never sample (Video-R1 #23)."""
        return qwen2_5_vl.vision_placeholder_ids(tokenizer)

    def reply_prefix(self, processor) -> str:
        """The start of the reply that the chat template's generation prompt writes itself.

        Qwen3.5's (thinking) template ends the generation prompt with ``<think>`` and a newline, so the model's
        completion starts inside the think block and its text alone never matches the think-then-answer
        format. Trainers and backends put this prefix in front of a completion before scoring or storing it.
        Read from the processor's own template (a released checkpoint's or the tiny one's): "" for Qwen2.5-VL
        and Qwen3-VL.
        """
        user = [{"role": "user", "content": [{"type": "text", "text": "?"}]}]
        rendered = processor.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
        header = "<|im_start|>assistant\n"
        return rendered.rsplit(header, 1)[1] if header in rendered else ""

    def prompt_length(
        self, processor, text: str, media: Sequence[dict[str, Any]], video_metadata: Sequence[Any] = ()
    ) -> int:
        """Tokens of the processor's expanded prompt, counted without running it (a cheap length check).

        ``text`` is the chat-templated prompt with one placeholder per item of ``media`` (sized, in
        ``collate.media_to_dict`` form, in prompt order); ``video_metadata`` holds what the processor gets for
        each video (``frames_indices``, ``fps``). Each placeholder becomes the item's pad tokens: a video's
        frames are taken as they are (``do_resize=False``), an image goes through the image processor's own
        resize (Qwen3-VL's 65,536 px minimum enlarges small images). A timestamped family also writes, per
        temporal patch, ``<t seconds>`` and a ``<|vision_start|>``/``<|vision_end|>`` pair. Equal to the
        processor's own count (tested for the three families).
        """
        tokenizer = getattr(processor, "tokenizer", processor)
        length = len(tokenizer(text, add_special_tokens=False).input_ids)
        videos = iter(video_metadata)
        for item in media:
            length += self._media_tokens(processor, item) - 1
            if self.timestamps_in_text and item["type"] == "video":
                md = next(videos, None)
                if md is None:
                    raise ValueError(f"{self.name}: a video without metadata (its timestamps are text)")
                stamps = qwen3_vl.timestamp_texts(md.frames_indices, md.fps)
                length += 2 * len(stamps)
                length += sum(len(tokenizer(stamp, add_special_tokens=False).input_ids) for stamp in stamps)
        return length

    def _media_tokens(self, processor, item: dict[str, Any]) -> int:
        image_processor = getattr(processor, "image_processor", None)
        size = getattr(image_processor, "size", None) or {}
        if item["type"] != "image" or "shortest_edge" not in size:
            return qwen2_5_vl.vision_token_count(item, patch=self.size_factor // 2)
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        width, height = item["image"].size
        height, width = smart_resize(
            height,
            width,
            factor=self.size_factor,
            min_pixels=size["shortest_edge"],
            max_pixels=size["longest_edge"],
        )
        return (height // self.size_factor) * (width // self.size_factor)

    def mm_token_type_ids(self, input_ids: torch.Tensor, token_ids: dict[str, int]) -> torch.Tensor:
        """transformers 5.x's ``mm_token_type_ids`` (text 0, image 1, video 2) rebuilt from token ids.

        Both families mark exactly the ``<|image_pad|>`` / ``<|video_pad|>`` tokens (Qwen3-VL's timestamp text
        and per-patch ``<|vision_start|>``/``<|vision_end|>`` are text, type 0, as its processor writes them;
        tested against the processor's own output).
        """
        return qwen2_5_vl.mm_token_type_ids(input_ids, token_ids)

    @property
    def video_keys(self) -> tuple[str, ...]:
        """The video part of :attr:`vision_keys` (Qwen3-VL has no ``second_per_grid_ts``)."""
        return tuple(k for k in self.vision_keys if k not in qwen2_5_vl.IMAGE_KEYS)

    # -- processor ---------------------------------------------------------------------------------------

    def processor_inputs(
        self,
        processor,
        texts: Sequence[str],
        *,
        images: Sequence[Any] = (),
        videos: Sequence[Any] = (),
        video_metadata: Sequence[Any] = (),
        **kwargs: Any,
    ):
        """The processor on chat-templated ``texts`` with already sampled, sized media.

        ``video_metadata`` holds one ``transformers.video_utils.VideoMetadata`` (real ``fps`` and
        ``frames_indices``, e.g. from :func:`video_r1.data.vision.to_video_metadata`) per video, in order.
        For a timestamped family it is required: without it the processor silently assumes 24 fps.
        """
        call: dict[str, Any] = {"text": list(texts), **kwargs}
        if images:
            call["images"] = list(images)
        if videos:
            if len(video_metadata) != len(videos):
                raise ValueError(f"{len(videos)} videos but {len(video_metadata)} video metadata entries")
            if self.timestamps_in_text:
                for index, md in enumerate(video_metadata):
                    if getattr(md, "fps", None) is None or getattr(md, "frames_indices", None) is None:
                        raise ValueError(
                            f"video {index}: {self.name} writes frame timestamps from the metadata's fps and "
                            "frames_indices; both are needed (the processor would assume 24 fps)"
                        )
            call["videos"] = list(videos)
            videos_kwargs = dict(call.pop("videos_kwargs", {}))
            videos_kwargs.update(
                video_metadata=list(video_metadata), cap_pixels_per_frame=True, **VIDEO_PROCESSOR_KWARGS
            )
            call["videos_kwargs"] = videos_kwargs
        return processor(**call)

    # -- positions ---------------------------------------------------------------------------------------

    def rope_index(
        self,
        config,
        input_ids: torch.Tensor,
        image_grid_thw: torch.Tensor | None = None,
        video_grid_thw: torch.Tensor | None = None,
        second_per_grid_ts: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The positions the family's model was trained with (and vLLM serves): ``(3, B, L)``, deltas ``(B, 1)``."""
        return self._rope_index(
            input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts, attention_mask, config
        )

    # -- vLLM --------------------------------------------------------------------------------------------

    def vllm_prompt_ids(self, expanded_ids: Sequence[int], token_ids: dict[str, int]) -> list[int]:
        """Ids for a vLLM token-id prompt from the HF processor's expanded ids (vLLM expands them itself)."""
        return self._vllm_prompt_ids(expanded_ids, token_ids)

    @property
    def vllm_mm_processor_kwargs(self) -> dict[str, Any]:
        """``mm_processor_kwargs`` of a request with videos: no resampling or resizing of its frames inside vLLM.

        Qwen2.5-VL: ``do_sample_frames`` / ``do_resize`` at the top level, as before (they also reach the
        images of a mixed prompt: a no-op for preset-sized images within its 3,136 px minimum). Qwen3-VL:
        ``do_resize`` only for videos (``videos_kwargs``), as the HF path does, because its image processor's
        65,536 px minimum does resize small images (a top-level ``do_resize`` made vLLM's image grid differ
        from HF's in a mixed image + video prompt: tested).
        """
        if not self.timestamps_in_text:
            return dict(VIDEO_PROCESSOR_KWARGS)
        return {"do_sample_frames": False, "videos_kwargs": {"do_resize": False}}

    # -- templates ---------------------------------------------------------------------------------------

    @property
    def chat_template(self) -> str:
        """The family's chat template (the copy TRL ships)."""
        from trl import chat_template_utils

        return getattr(chat_template_utils, self.chat_template_name)

    @property
    def training_chat_template(self) -> str:
        """TRL's training variant of the chat template (assistant masks for SFT)."""
        from trl import chat_template_utils

        return getattr(chat_template_utils, self.chat_template_name.replace("_chat_", "_training_chat_"))


# ----------------------------------------------------------------------------------------------------
# The two families


def _qwen2_5_vl_rope(input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts, attention_mask, config):
    return qwen2_5_vl.released_rope_index(
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


def _qwen3_vl_rope(input_ids, image_grid_thw, video_grid_thw, second_per_grid_ts, attention_mask, config):
    if second_per_grid_ts is not None:
        raise ValueError("Qwen3-VL positions take no second_per_grid_ts (time is in the timestamp text)")
    return qwen3_vl.rope_index(
        input_ids,
        image_grid_thw=image_grid_thw,
        video_grid_thw=video_grid_thw,
        attention_mask=attention_mask,
        image_token_id=config.image_token_id,
        video_token_id=config.video_token_id,
        spatial_merge_size=config.vision_config.spatial_merge_size,
    )


def _collapse_pad_runs(ids: Sequence[int], token_ids: dict[str, int]) -> list[int]:
    return qwen2_5_vl.collapse_pad_runs(ids, (token_ids["image"], token_ids["video"]))


def _qwen3_vl_prompt_ids(ids: Sequence[int], token_ids: dict[str, int]) -> list[int]:
    return qwen3_vl.unexpand_prompt_ids(
        ids,
        image_token_id=token_ids["image"],
        video_token_id=token_ids["video"],
        vision_start_token_id=token_ids["vision_start"],
        vision_end_token_id=token_ids["vision_end"],
    )


def _no_install() -> None:
    """Qwen3-VL: transformers' own positions are the model's (tested against vLLM); nothing to install."""


QWEN2_5_VL = ModelFamily(
    model_type=qwen2_5_vl.MODEL_TYPE,
    name="Qwen2.5-VL",
    size_factor=28,
    vision_keys=qwen2_5_vl.VISION_KEYS,
    timestamps_in_text=False,
    shared_vision_unsupported=None,
    _rope_index=_qwen2_5_vl_rope,
    install_positions=qwen2_5_vl.install_released_mrope,
    _vllm_prompt_ids=_collapse_pad_runs,
    chat_template_name="qwen2_5_vl_chat_template",
)

QWEN3_VL = ModelFamily(
    model_type=qwen3_vl.MODEL_TYPE,
    name="Qwen3-VL",
    size_factor=qwen3_vl.SIZE_FACTOR,
    vision_keys=qwen3_vl.VISION_KEYS,
    timestamps_in_text=True,
    shared_vision_unsupported=qwen3_vl.SHARED_VISION_UNSUPPORTED,
    _rope_index=_qwen3_vl_rope,
    install_positions=_no_install,
    _vllm_prompt_ids=_qwen3_vl_prompt_ids,
    chat_template_name="qwen3_vl_chat_template",
)

#: ``model_type`` -> family; the keys are :data:`video_r1.models.checkpoint.SUPPORTED_MODEL_TYPES` (tested).
QWEN3_5 = ModelFamily(
    model_type="qwen3_5",
    name="Qwen3.5",
    size_factor=qwen3_vl.SIZE_FACTOR,
    vision_keys=qwen3_vl.VISION_KEYS,
    timestamps_in_text=True,
    shared_vision_unsupported=(
        "Qwen3.5 has no DeepStack, but the shared-vision forward has not been checked against its model "
        "(hybrid linear-attention layers, its own get_rope_index signature): each row encodes its media"
    ),
    _rope_index=_qwen3_vl_rope,
    install_positions=_no_install,
    _vllm_prompt_ids=_qwen3_vl_prompt_ids,
    chat_template_name="qwen3_5_think_chat_template",
    config_class_name="Qwen3_5Config",
)

FAMILIES: dict[str, ModelFamily] = {f.model_type: f for f in (QWEN2_5_VL, QWEN3_VL, QWEN3_5)}
assert set(FAMILIES) == set(SUPPORTED_MODEL_TYPES), "checkpoint.SUPPORTED_MODEL_TYPES and FAMILIES differ"


def family_for(source: Any) -> ModelFamily:
    """The family of a checkpoint path / Hub id / adapter folder, a config, a ``config.json`` dict, a
    ``model_type`` string of a supported family, or a loaded model (its ``.config``).

    Raises :class:`~video_r1.errors.ModelPathError` naming the ``model_type`` and the supported families.
    """
    if isinstance(source, str) and source in FAMILIES and not os.path.exists(source):
        return FAMILIES[source]
    if isinstance(source, (str, os.PathLike)):
        return FAMILIES[model_type_of(source)]
    if isinstance(source, dict):
        return FAMILIES[check_model_type(source.get("model_type"), "the model config")]
    config = getattr(source, "config", source)
    return FAMILIES[check_config(config, type(source).__name__)]


def load_model(model_name_or_path: str, *, merge_adapter: bool = False, **kwargs: Any):
    """``AutoModelForImageTextToText.from_pretrained`` with the family's positions installed.

    A LoRA adapter folder (:func:`~video_r1.models.checkpoint.adapter_base`) loads as its base model (with
    ``kwargs``, the same fixes) plus the adapter: a ``peft.PeftModel`` in inference mode, or, with
    ``merge_adapter=True``, the base model with the adapter merged into its weights (``merge_and_unload``).
    """
    from transformers import AutoModelForImageTextToText

    family = family_for(str(model_name_or_path))
    family.install_positions()
    base = adapter_base(model_name_or_path)
    if base is not None:
        from peft import PeftModel

        model = load_model(base, **kwargs)
        model = PeftModel.from_pretrained(model, str(model_name_or_path))
        return model.merge_and_unload() if merge_adapter else model
    if family.config_class_name and "config" not in kwargs:
        import transformers

        config_class = getattr(transformers, family.config_class_name)
        kwargs["config"] = config_class.from_pretrained(model_name_or_path)
    model = AutoModelForImageTextToText.from_pretrained(model_name_or_path, **kwargs)
    check_config(model.config, str(model_name_or_path))
    return model
