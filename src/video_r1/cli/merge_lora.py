"""``video-r1 merge-lora --adapter ADAPTER --output_dir OUT``: fold a LoRA adapter into its base model and save a full checkpoint.

``video-r1 grpo`` / ``sft`` with ``--use_peft`` write an adapter folder (``adapter_config.json`` naming the
base model, ``adapter_model.safetensors``, the processor). ``video-r1 eval --backend hf`` loads such a folder
as it is (base + adapter); the vLLM backend, ``video-r1 annotate --backend vllm`` and a following training
stage need a full checkpoint, which this command writes: the base model loaded with the project's
:func:`~video_r1.models.qwen2_5_vl.load_model`, the adapter merged into its weights
(``merge_and_unload``), saved with the processor and chat template.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.resumable import check_output_path

DTYPES = ("auto", "bfloat16", "float16", "float32")
PROG = "video-r1 merge-lora"
DESCRIPTION = (
    "Load the base model named by ADAPTER/adapter_config.json, merge the adapter into its weights and save the "
    "result (weights, config, processor, chat template) to OUT: a full Qwen2.5-VL checkpoint for --backend "
    "vllm, video-r1 grpo or any from_pretrained."
)


@dataclass
class MergeLoraArguments:
    """Settings of ``video-r1 merge-lora``."""

    adapter: str | None = field(
        default=None, metadata={"help": "LoRA adapter folder written with --use_peft (required)."}
    )
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder to write the merged checkpoint to (created; required).",
            "aliases": ["--out"],
        },
    )
    dtype: str = field(
        default="auto",
        metadata={
            "help": "dtype the base is loaded, merged and saved in (auto: the base checkpoint's; float32 merges "
            "without rounding the adapter's update to bf16).",
            "choices": list(DTYPES),
        },
    )

    def __post_init__(self) -> None:
        if not self.adapter or not self.output_dir:
            raise ValueError("--adapter and --output_dir are required")
        if os.path.abspath(self.output_dir) == os.path.abspath(self.adapter):
            raise ValueError("--output_dir must differ from --adapter")
        check_output_path(self.output_dir)


def build_parser():
    return _build(PROG, [MergeLoraArguments], DESCRIPTION)


def main(argv: list[str]) -> int:
    import torch
    from transformers import AutoProcessor

    from video_r1.cli._model import check_model
    from video_r1.errors import ModelPathError
    from video_r1.generation import RUN_RECORD_NAME
    from video_r1.models.qwen2_5_vl import adapter_base, load_model, processor_path

    positional = []  # the old spelling `merge-lora ADAPTER OUT`, kept for one release
    while argv and not argv[0].startswith("-") and len(positional) < 2:
        positional.append(argv.pop(0))
    argv = [*(f for pair in zip(("--adapter", "--output_dir"), positional) for f in pair), *argv]
    (args,) = parse_command(PROG, [MergeLoraArguments], argv, description=DESCRIPTION)
    if not os.path.isdir(args.adapter):
        raise ModelPathError(f"--adapter {args.adapter}: no such folder")
    base = adapter_base(args.adapter)
    if base is None:
        raise ModelPathError(f"{args.adapter} has no adapter_config.json: not a LoRA adapter folder")
    check_model(args.adapter, "--adapter")  # and its base model, before any Hub call
    dtype = args.dtype if args.dtype == "auto" else getattr(torch, args.dtype)
    model = load_model(args.adapter, dtype=dtype, merge_adapter=True)
    model.config.use_cache = True  # a checkpoint for generation
    model.save_pretrained(args.output_dir)
    AutoProcessor.from_pretrained(processor_path(args.adapter)).save_pretrained(args.output_dir)
    record = os.path.join(args.adapter, RUN_RECORD_NAME)
    if os.path.isfile(record):  # the preset the adapter was trained with, for `video-r1 eval` of the merge
        shutil.copy2(record, os.path.join(args.output_dir, RUN_RECORD_NAME))
    print(f"{args.adapter} (adapter) + {base} (base) merged into {args.output_dir}")
    return 0
