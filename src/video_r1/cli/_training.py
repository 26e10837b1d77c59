"""What the training subcommands (``video-r1 grpo``, ``video-r1 sft``) share: arguments and the main flow.

Both parse three dataclasses with TRL's ``TrlParser`` (a YAML recipe given with ``--config``, overridden on
the command line), in the order of TRL's own scripts: :class:`DataArguments`, the trainer's config
(``TGRPOConfig`` / ``VideoSFTConfig``) and :class:`ModelArguments` (TRL's ``ModelConfig``, which brings the
LoRA / PEFT flags). :func:`run_training` is the one main flow: records -> trainer -> train (or resume) ->
save the model (or the LoRA adapter) and the processor into ``output_dir``.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from trl import ModelConfig

#: dtypes accepted by ``--dtype`` (TRL's ModelConfig choices).
DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass
class DataArguments:
    """Training records: which file, where its media live, which records to keep."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Training records (required): a Video-R1 style JSON array or JSONL file (grpo: "
            "Video-R1-260k; sft: Video-R1-COT-165k, where every record needs a non-empty 'process')."
        },
    )
    data_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder that record paths ('./Source/...') resolve against (default: the JSON's folder)."
        },
    )
    data_types: list[str] | None = field(
        default=None,
        metadata={"help": "Keep only these data types, e.g. 'video' (the paper's w/o-image ablation)."},
    )
    data_sources: list[str] | None = field(
        default=None, metadata={"help": "Keep only these data sources (exact names or '/'-prefixes)."}
    )
    allow_parent_traversal: bool = field(
        default=False,
        metadata={
            "help": "Accept relative media paths whose '..' steps climb out of the data root ('../../x.mp4'); "
            "by default a record stops the run with an error naming it. Absolute paths and symlinked media folders are "
            "always accepted. Old name: --allow_outside_data_root (deprecated).",
            "aliases": ["--allow_outside_data_root", "--allow-outside-data-root"],
        },
    )


@dataclass
class ModelArguments(ModelConfig):
    """TRL's ``ModelConfig`` with video-r1's defaults and checks.

    Differences: ``dtype`` defaults to unset (TRL's trainers then load float32, as before this class existed,
    and a ``model_init_kwargs`` dtype in a recipe is kept); without ``lora_target_modules`` LoRA targets the
    text model's attention and MLP projections; one plain module name stays a name (TRL's ModelConfig turns a
    one-element list into a string, which PEFT reads as a regular expression over full module names);
    quantized loading (``load_in_4bit`` / ``load_in_8bit``) and non-causal-LM task types are refused.
    """

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Model to train (required): a full Qwen2.5-VL checkpoint, a local folder or a cached Hub id "
            "(sft: Qwen/Qwen2.5-VL-7B-Instruct; grpo: the SFT output). A LoRA adapter folder is refused: merge "
            "it first with `video-r1 merge-lora --adapter ADAPTER --output_dir OUT`."
        },
    )
    dtype: str | None = field(
        default=None,
        metadata={
            "help": "Model dtype: 'bfloat16' (the GPU recipes), 'float16', 'float32' or 'auto' (the "
            "checkpoint's). Unset: float32 (TRL's default).",
            "choices": list(DTYPES),
        },
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention kernel: 'flash_attention_2' (GPU, the original's), 'sdpa' or 'eager' "
            "(default: transformers')."
        },
    )
    use_peft: bool = field(
        default=False,
        metadata={
            "help": "Train a LoRA adapter (lora_* fields) instead of every weight; the base model stays frozen "
            "and output_dir (and each checkpoint) holds the adapter and the processor, which `video-r1 eval "
            "--backend hf` loads as they are."
        },
    )
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={
            "help": "With --use_peft: the modules that get a LoRA adapter. Default: the attention (q, k, v, o) "
            "and MLP (gate, up, down) projections of every text decoder layer, the vision tower frozen. A list "
            "of names matches the end of module names in the whole model (q_proj v_proj: text attention only; "
            "gate_proj also hits the vision tower's MLPs); one string with regex characters is a regular "
            "expression over full names; 'all-linear' is every linear layer but the LM head, vision included."
        },
    )

    lora_task_type: str = field(
        default="CAUSAL_LM",
        metadata={"help": "PEFT task type; must stay 'CAUSAL_LM' (Qwen2.5-VL generates text)."},
    )
    load_in_8bit: bool = field(
        default=False, metadata={"help": "8-bit base model (QLoRA): not supported by video-r1 (refused)."}
    )
    load_in_4bit: bool = field(
        default=False, metadata={"help": "4-bit base model (QLoRA): not supported by video-r1 (refused)."}
    )

    def __post_init__(self):
        super().__post_init__()
        # TRL makes ["q_proj"] the string "q_proj", which PEFT would full-match against whole module names
        # (and find nothing); a plain name stays a one-element list. "all-linear" and expressions stay strings.
        target = self.lora_target_modules
        if isinstance(target, str) and re.fullmatch(r"\w+", target):
            self.lora_target_modules = [target]
        if self.load_in_4bit or self.load_in_8bit:
            raise ValueError(
                "load_in_4bit / load_in_8bit (QLoRA) are not supported by video-r1: use --use_peft on a bf16 "
                "or float32 model"
            )
        if self.lora_task_type != "CAUSAL_LM":
            raise ValueError(
                f"lora_task_type must be 'CAUSAL_LM' for Qwen2.5-VL, got {self.lora_task_type!r}"
            )


def build_parser(command: str, config_class: type):
    """The parser of ``video-r1 <command>``: (DataArguments, config_class, ModelArguments)."""
    from video_r1.cli._parse import build_parser as build

    return build(f"video-r1 {command}", [DataArguments, config_class, ModelArguments])


def apply_model_init_args(model_args: ModelArguments, training_args: Any) -> None:
    """Fold ``dtype`` / ``attn_implementation`` / ``model_revision`` into ``training_args.model_init_kwargs``
    (how TRL's trainers load a model given by name)."""
    init_kwargs = dict(training_args.model_init_kwargs or {})
    if model_args.dtype:
        init_kwargs["dtype"] = model_args.dtype
    if model_args.attn_implementation:
        init_kwargs["attn_implementation"] = model_args.attn_implementation
    if model_args.model_revision and model_args.model_revision != "main":
        init_kwargs["revision"] = model_args.model_revision
    training_args.model_init_kwargs = init_kwargs or None


def model_path_for_training(model_args: ModelArguments) -> str:
    """The model to hand to the trainer. Under LoRA a local folder becomes absolute: the saved adapter
    records it as its base model, which ``video-r1 eval`` loads from any working directory."""
    path = model_args.model_name_or_path
    if model_args.use_peft and os.path.isdir(path):
        return os.path.abspath(path)
    return path


def load_training_records(data_args: DataArguments, *, seed: int, require_process: bool = False):
    """The records ``video-r1 grpo`` (``require_process=False``) and ``video-r1 sft`` train on."""
    from video_r1.data.records import load_records

    return load_records(
        data_args.dataset_name,
        data_args.data_root,
        data_types=data_args.data_types,
        data_sources=data_args.data_sources,
        require_process=require_process,
        seed=seed,
        allow_parent_traversal=data_args.allow_parent_traversal,
    )


def run_training(
    command: str,
    argv: list[str] | None,
    config_class: type,
    trainer_class: type,
    *,
    require_process: bool = False,
    use_cache_on_save: bool = False,
) -> int:
    """Parse ``argv``, train (or resume), save; the body of ``video-r1 grpo`` and ``video-r1 sft``.

    The output folder holds the model (``model.safetensors`` + config) or, with ``--use_peft``, the LoRA
    adapter (``adapter_config.json`` naming the base model + ``adapter_model.safetensors``), and in both
    cases the processor and its chat template.
    """
    from trl import get_peft_config

    from video_r1.cli._model import check_model
    from video_r1.cli._parse import parse_command
    from video_r1.errors import UsageError
    from video_r1.trainers.lora import check_not_adapter

    data_args, training_args, model_args = parse_command(
        f"video-r1 {command}", [DataArguments, config_class, ModelArguments], argv or []
    )
    if not model_args.model_name_or_path or not data_args.dataset_name:
        raise UsageError("--model_name_or_path and --dataset_name are required")
    check_not_adapter(model_args.model_name_or_path, f"video-r1 {command}")
    check_model(model_args.model_name_or_path)
    apply_model_init_args(model_args, training_args)

    dataset = load_training_records(data_args, seed=training_args.seed, require_process=require_process)
    trainer = trainer_class(
        model=model_path_for_training(model_args),
        args=training_args,
        train_dataset=dataset,
        peft_config=get_peft_config(model_args),
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    if use_cache_on_save:
        # Training runs with use_cache off (gradient checkpointing); the saved model is for generation, as the
        # original's `trainer.model.config.use_cache = True` before saving.
        trainer.model.config.use_cache = True
    trainer.save_model(training_args.output_dir)
    trainer.save_state()  # trainer_state.json beside the model: `video-r1 plot --run OUTPUT_DIR` reads it
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(training_args.output_dir)
    end_distributed_run()
    return 0


def end_distributed_run() -> None:
    """End a multi-process run with ``os._exit(0)`` once every rank has finished writing; no-op otherwise.

    On CPU (gloo, torchrun and DeepSpeed alike) a finished run's non-main rank was seen aborting in
    interpreter teardown ("terminate called without an active exception", SIGABRT) about one run in four,
    turning a completed training into a failed job. The root cause (a native thread destroyed while
    joinable) is not identified; everything is saved and synchronised before the exit.
    """
    import torch.distributed as dist

    # Only a launched multi-process job (never an in-process call that happens to find a 1-process group).
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
