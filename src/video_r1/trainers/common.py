"""What both trainers do before TRL builds the model: checks, the processor, and the media decoding step."""

from __future__ import annotations

import copy
from typing import Any

from video_r1.data.collate import with_media
from video_r1.data.media import BadMediaPolicy
from video_r1.models.family import ModelFamily
from video_r1.models.qwen2_5_vl import check_model_path
from video_r1.trainers.library_contract import check_library_versions
from video_r1.trainers.lora import prepare_peft


def start_trainer(trainer: str, model: Any, args: Any, config_class: type, kwargs: dict[str, Any]):
    """Check the library versions, the model path and the config; fill ``kwargs["processing_class"]``.

    Returns a copy of ``args``: the trainers add to it (reward columns, suppressed tokens), so one config object
    can build several trainers (e.g. a resumed run) without growing each time.
    """
    if args is None:
        raise ValueError(f"{trainer} needs a {config_class.__name__}")
    if not isinstance(args, config_class):
        raise TypeError(f"args must be a {config_class.__name__}, got {type(args).__name__}")
    args = copy.copy(args)
    check_library_versions()
    prepare_peft(model, kwargs)
    if isinstance(model, str):
        check_model_path(model)  # one clear line instead of a Hub or processor error
    if kwargs.get("processing_class") is None:
        from transformers import AutoProcessor

        name = model if isinstance(model, str) else model.config._name_or_path
        kwargs["processing_class"] = AutoProcessor.from_pretrained(
            name, trust_remote_code=getattr(args, "trust_remote_code", False)
        )
    return args


def decode_media_on_access(
    args: Any,
    train_dataset,
    kwargs: dict[str, Any],
    variant: str,
    loader=None,
    family: ModelFamily | None = None,
):
    """The bad-media policy of ``args`` and ``train_dataset`` (and ``kwargs["eval_dataset"]``) wrapped with the
    media decoding transform of :func:`~video_r1.data.collate.with_media` (vision preset, prompt variant).
    ``loader`` replaces :func:`~video_r1.data.media.load_media_for_record` (same signature), e.g. a
    :class:`~video_r1.data.frame_cache.FrameCache` shared by several stages of a run. ``family`` (the model's
    :class:`~video_r1.models.family.ModelFamily`) sets the preset's ``size_factor``."""
    policy = BadMediaPolicy(args.on_bad_media, output_dir=args.output_dir)
    preset = args.resolved_preset(family)  # the backend travels inside the preset
    options = {"variant": variant, "loader": loader}
    if train_dataset is not None:
        train_dataset = with_media(train_dataset, preset, policy, **options)
    if kwargs.get("eval_dataset") is not None:
        kwargs["eval_dataset"] = with_media(kwargs["eval_dataset"], preset, policy, **options)
    return policy, train_dataset
