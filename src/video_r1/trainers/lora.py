"""LoRA / PEFT for both trainers: TRL's own PEFT path, with Qwen2.5-VL defaults and two checks.

Given a ``peft_config`` (``trl.get_peft_config(model_args)`` in the CLI), TRL wraps the policy with
``peft.get_peft_model``: only the adapter weights train, the base weights stay frozen, checkpoints and the
final output hold the adapter (``adapter_config.json`` + ``adapter_model.safetensors``), and resuming loads
the adapter back (transformers' PEFT resume path). With ``beta > 0`` GRPO needs no second model: the
reference log-probs are the same model's with the adapter disabled, i.e. the base model. This module adds:

* default targets: a ``LoraConfig`` without ``target_modules`` gets
  :data:`~video_r1.models.qwen2_5_vl.LORA_TEXT_TARGET_MODULES` (the text model's attention and MLP
  projections; PEFT has no default for Qwen2.5-VL and would refuse the config). The vision tower stays frozen
  unless the targets name its modules.
* a training run cannot start from a LoRA adapter folder (it would train a second adapter on the bare base
  model, silently dropping the first): the error gives the merge command.
"""

from __future__ import annotations

import copy
from typing import Any

from video_r1.models.qwen2_5_vl import LORA_TEXT_TARGET_MODULES, adapter_base, merge_command


def check_not_adapter(model: Any, what: str = "training") -> None:
    """Raise a ``ValueError`` when ``model`` is the path of a LoRA adapter folder."""
    if isinstance(model, str) and adapter_base(model) is not None:
        raise ValueError(
            f"{model} is a LoRA adapter folder (adapter_config.json), not a full checkpoint; {what} starts from "
            f"a full model: merge the adapter into its base model first with `{merge_command(model)}` and pass "
            "the merged folder"
        )


def with_default_targets(peft_config: Any) -> Any:
    """``peft_config``, with the text-model targets when it is a ``LoraConfig`` that names no target."""
    if peft_config is None:
        return None
    from peft import LoraConfig

    if (
        isinstance(peft_config, LoraConfig)
        and peft_config.target_modules is None
        and not peft_config.target_parameters
    ):
        peft_config = copy.copy(peft_config)  # the caller's config object is not changed
        peft_config.target_modules = LORA_TEXT_TARGET_MODULES
    return peft_config


def prepare_peft(model: Any, kwargs: dict[str, Any]) -> None:
    """Trainer ``__init__`` step: refuse adapter folders, fill ``kwargs["peft_config"]``'s default targets."""
    check_not_adapter(model)
    if kwargs.get("peft_config") is not None:
        kwargs["peft_config"] = with_default_targets(kwargs["peft_config"])
