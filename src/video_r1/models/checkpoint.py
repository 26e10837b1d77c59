"""Checkpoint checks shared by every model family: which ``model_type`` video-r1 supports, adapter folders,
and the early, user-facing check of a model path.

A leaf module (imports nothing from the package but :mod:`video_r1.errors`). The supported model types are
listed here by name only; :mod:`video_r1.models.family` maps each to its :class:`~video_r1.models.family.ModelFamily`
(a test keeps the two in step). Model types that are known but not supported (the MoE variants) are refused with what is missing, everything else with the list of supported families.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from video_r1.errors import ModelPathError

#: ``config.model_type`` -> the family's display name, in the order the families were added.
SUPPORTED_MODEL_TYPES: dict[str, str] = {
    "qwen2_5_vl": "Qwen2.5-VL",
    "qwen3_vl": "Qwen3-VL",
    "qwen3_5": "Qwen3.5",
}

#: Known model types video-r1 refuses, with the reason (what is missing) named in the error.
REFUSED_MODEL_TYPES: dict[str, str] = {
    "qwen3_vl_moe": (
        "Qwen3-VL MoE is not supported yet: its mixture-of-experts text model has no tiny offline checkpoint, "
        "no T-GRPO step and no vLLM-equality test in video-r1 (use a dense Qwen3-VL checkpoint)"
    ),
    "qwen3_5_moe": (
        "Qwen3.5 MoE is not supported yet: its mixture-of-experts text model has no tiny offline checkpoint, "
        "no T-GRPO step and no vLLM-equality test in video-r1"
    ),
}


def supported_families_text() -> str:
    """``Qwen2.5-VL ('qwen2_5_vl'), Qwen3-VL ('qwen3_vl')`` for error messages."""
    return ", ".join(f"{name} ({model_type!r})" for model_type, name in SUPPORTED_MODEL_TYPES.items())


def check_model_type(model_type: str | None, source: str) -> str:
    """Return ``model_type`` when video-r1 supports it, else raise one :class:`ModelPathError` naming it."""
    if model_type in SUPPORTED_MODEL_TYPES:
        return model_type
    if model_type in REFUSED_MODEL_TYPES:
        raise ModelPathError(f"{source} is a {model_type!r} model: {REFUSED_MODEL_TYPES[model_type]}")
    *first, last = SUPPORTED_MODEL_TYPES.values()
    names = f"{', '.join(first)} or {last}" if first else last
    raise ModelPathError(
        f"{source} is a {model_type!r} model, not {names}; video-r1 supports the model types "
        f"{supported_families_text()} (e.g. Qwen/Qwen2.5-VL-7B-Instruct, Qwen/Qwen3-VL-8B-Instruct or a "
        "video-r1 output folder)"
    )


def check_config(config: Any, source: str) -> str:
    """The supported ``model_type`` of a loaded config (raises :class:`ModelPathError` otherwise)."""
    return check_model_type(getattr(config, "model_type", None), source)


def check_qwen2_5_vl_config(config: Any, source: str) -> None:
    """Raise :class:`ModelPathError` when ``config`` is not a supported model's (kept name; any family)."""
    check_config(config, source)


#: PEFT's adapter file: a folder holding it is a LoRA adapter, not a full checkpoint.
ADAPTER_CONFIG_NAME = "adapter_config.json"

#: LoRA targets of ``--use_peft`` when ``--lora_target_modules`` is not given: the attention (q, k, v, o) and
#: MLP (gate, up, down) projections of every decoder layer of the text model. A regular expression, because
#: PEFT matches a *list* of names against the end of every module name and the vision tower has its own
#: ``mlp.gate_proj`` / ``up_proj`` / ``down_proj``: the expression keeps the vision tower (and its merger)
#: out, so it stays frozen. PEFT full-matches it against names such as
#: ``model.language_model.layers.3.self_attn.q_proj`` (the same in Qwen2.5-VL and Qwen3-VL).
LORA_TEXT_TARGET_MODULES = (
    r".*\blanguage_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
)


def adapter_base(model_name_or_path: str | os.PathLike) -> str | None:
    """The base model of a LoRA adapter folder, or ``None`` when ``model_name_or_path`` is not one.

    An adapter folder (what ``video-r1 grpo`` / ``sft`` write with ``--use_peft``) holds
    ``adapter_config.json``; its ``base_model_name_or_path`` names the model the adapter was trained on.
    """
    config_file = os.path.join(str(model_name_or_path), ADAPTER_CONFIG_NAME)
    if not os.path.isfile(config_file):
        return None
    with open(config_file, encoding="utf-8") as handle:
        base = json.load(handle).get("base_model_name_or_path")
    if not base:
        raise ModelPathError(
            f"{config_file} has no 'base_model_name_or_path': the model the adapter was trained on is unknown; "
            "write it into that field (a checkpoint folder or a Hub id)"
        )
    if os.path.isabs(base) and not os.path.isdir(base):
        raise ModelPathError(
            f"{model_name_or_path} is a LoRA adapter of {base}, which does not exist (moved or on another "
            f"machine?); put the base model's folder into 'base_model_name_or_path' of {config_file}"
        )
    return base


def merge_command(adapter: str | os.PathLike) -> str:
    """The shell command that merges the LoRA adapter folder ``adapter`` into its base model (written next to
    it), for error messages of the code paths that need a full checkpoint."""
    return f"video-r1 merge-lora --adapter {adapter} --output_dir {str(adapter).rstrip('/')}-merged"


def processor_path(model_name_or_path: str | os.PathLike) -> str:
    """Where the processor of ``model_name_or_path`` lives: the folder itself, or the base model's for an
    adapter folder saved without its processor (video-r1's own adapter folders hold one)."""
    path = str(model_name_or_path)
    base = adapter_base(path)
    if base is not None and not os.path.isfile(os.path.join(path, "tokenizer_config.json")):
        return base
    return path


def model_type_of(model_name_or_path: str | os.PathLike[str]) -> str:
    """The supported ``model_type`` of a checkpoint folder, adapter folder (its base's) or Hub id.

    Fails early, in the user's terms, for a path that cannot be a supported checkpoint: a local folder must
    hold a ``config.json`` whose ``model_type`` is supported (a PEFT adapter folder is accepted: its
    ``adapter_config.json`` names the base model, which is checked instead). A name that is not a local path
    is taken as a Hub id: its config must be loadable (from the cache when downloads are off).
    """
    name = os.fspath(model_name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            config_path = path / "config.json"
            try:
                model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
            except (OSError, ValueError) as err:
                raise ModelPathError(f"{config_path}: not a readable model config ({err})") from err
            return check_model_type(model_type, name)
        base = adapter_base(path)
        if base is not None:
            return model_type_of(base)
        raise ModelPathError(f"{name} is a folder without config.json: not a model checkpoint")
    if path.exists():
        raise ModelPathError(f"{name} is a file; pass the checkpoint folder (the one with config.json)")
    local_looking = name.startswith((".", "/", "~")) or name.count("/") != 1 or os.sep in name.split("/")[0]
    if local_looking:
        raise ModelPathError(f"{name}: no such folder (a model path must be a checkpoint folder or a Hub id)")
    from transformers import PretrainedConfig

    try:
        # the raw dict, not AutoConfig: a model type this transformers (or a vLLM-patched AutoConfig) cannot
        # build must still reach check_model_type and its one clear error
        config_dict, _ = PretrainedConfig.get_config_dict(name)
    except Exception as err:  # Hub errors: offline and not cached, no such repo, no access
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
        hint = " and downloads are off (HF_HUB_OFFLINE)" if offline else ""
        raise ModelPathError(
            f"{name}: no local folder of that name, and the Hub id could not be loaded{hint}: "
            f"{' '.join(str(err).split())[:200]}"
        ) from err
    return check_model_type(config_dict.get("model_type"), name)


def check_model_path(model_name_or_path: str | os.PathLike[str]) -> None:
    """Fail early, in the user's terms, for a model path that cannot be a supported checkpoint
    (see :func:`model_type_of`; Qwen2.5-VL, Qwen3-VL and Qwen3.5 are supported)."""
    model_type_of(model_name_or_path)
