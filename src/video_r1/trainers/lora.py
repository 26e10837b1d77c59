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
* vLLM rollouts (``use_vllm``) get the merged weights without touching the base weights: TRL 1.16 merges the
  adapter into the base weights *in place* before each sync and subtracts it afterwards; in bf16 that round
  trip does not give the base weights back, and the error accumulates sync after sync in weights that are
  meant to stay frozen (trl#6688 measured a max drift of 28% of the mean weight after 100 bf16 cycles).
  :func:`install_merged_weight_sync` makes the sync compute ``W + delta`` out of place, one weight at a time
  (the same values reach vLLM; the base weights stay bit-identical).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from video_r1.errors import ModelPathError
from video_r1.models.qwen2_5_vl import LORA_TEXT_TARGET_MODULES, adapter_base, merge_command

logger = logging.getLogger(__name__)


def check_not_adapter(model: Any, what: str = "training") -> None:
    """Raise :class:`~video_r1.errors.ModelPathError` when ``model`` is the path of a LoRA adapter folder."""
    if isinstance(model, str) and adapter_base(model) is not None:
        raise ModelPathError(
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


def install_merged_weight_sync(generation: Any) -> bool:
    """Make TRL's ``VLLMGeneration`` sync a LoRA policy's merged weights out of place; ``True`` if installed.

    Replaces ``generation._iter_named_params`` (TRL 1.16: gather under ZeRO-3, ``merge_adapter()`` in place,
    yield the renamed parameters, ``unmerge_adapter()``) by :func:`iter_merged_params`, which yields the same
    names and values and never writes to a parameter. Not installed (TRL's own path stays) for a non-PEFT
    policy, under FSDP, or for LoRA variants whose merge is not ``W + delta`` (DoRA, lora_bias, ...): a
    warning says so.
    """
    from accelerate.utils import extract_model_from_parallel, is_peft_model

    if not is_peft_model(generation.model):
        return False
    model = extract_model_from_parallel(generation.model)
    layers = _lora_layers(model)
    plain = all(
        adapter not in layer.lora_variant and not layer.lora_bias.get(adapter, False)
        for layer in layers.values()
        for adapter in layer.lora_A
    )
    if generation._dist.is_fsdp or not plain:
        logger.warning(
            "LoRA + vLLM: TRL's in-place merge/unmerge weight sync is kept (FSDP or a LoRA variant such as DoRA); "
            "in bf16 it lets the frozen base weights drift a little at every sync (trl#6688)"
        )
        return False
    generation._iter_named_params = lambda: iter_merged_params(generation, model, layers)
    return True


def _lora_layers(model: Any) -> dict[str, Any]:
    from peft.tuners.lora import LoraLayer

    return {name: module for name, module in model.named_modules() if isinstance(module, LoraLayer)}


def iter_merged_params(generation: Any, model: Any, layers: dict[str, Any]):
    """``(vLLM name, weight)`` for every base parameter of the PEFT ``model``, LoRA targets as ``W + delta``.

    Names as TRL's ``_iter_named_params`` makes them (``base_model.model.`` and ``.base_layer`` removed,
    ``modules_to_save`` copies under the module's own name, adapter weights skipped); ``W + delta`` is
    computed into a new tensor in ``W``'s dtype - one rounding, as PEFT's in-place merge - while ``W`` itself is
    only read. Under ZeRO-3 every parameter is gathered for the duration, as TRL does.
    """
    with generation._dist.gather_params(list(model.parameters())):
        for name, param in model.named_parameters():
            if model.prefix in name or "original_module" in name:
                continue
            value = param.data
            module_name, _, leaf = name.rpartition(".")
            layer = layers.get(module_name.removesuffix(".base_layer")) if leaf == "weight" else None
            if layer is not None and module_name.endswith(".base_layer"):
                if not layer.merged and not layer.disable_adapters:
                    for adapter in layer.active_adapters:
                        if adapter in layer.lora_A:
                            value = (value + layer.get_delta_weight(adapter)).to(param.dtype)
            vllm_name = name.removeprefix("base_model.model.").replace(".base_layer", "")
            yield (
                generation._fix_param_name_to_vllm(vllm_name, extra_prefixes=["modules_to_save.default."]),
                value,
            )
