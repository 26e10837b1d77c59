"""``video-r1 merge-lora ADAPTER OUT``: fold a LoRA adapter into its base model and save a full checkpoint.

``video-r1 grpo`` / ``sft`` with ``--use_peft`` write an adapter folder (``adapter_config.json`` naming the
base model, ``adapter_model.safetensors``, the processor). ``video-r1 eval --backend hf`` loads such a folder
as it is (base + adapter); the vLLM backend, ``video-r1 annotate --backend vllm`` and a following training
stage need a full checkpoint, which this command writes: the base model loaded with the project's
:func:`~video_r1.models.qwen2_5_vl.load_model`, the adapter merged into its weights
(``merge_and_unload``), saved with the processor and chat template.
"""

from __future__ import annotations

import argparse
import os

DTYPES = ("auto", "bfloat16", "float16", "float32")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge-lora",
        help="merge a LoRA adapter folder into its base model (a full checkpoint for vLLM or further training)",
        description=(
            "Load the base model named by ADAPTER/adapter_config.json, merge the adapter into its weights and "
            "save the result (weights, config, processor, chat template) to OUT: a full Qwen2.5-VL checkpoint "
            "for --backend vllm, video-r1 grpo or any from_pretrained."
        ),
    )
    parser.add_argument("adapter", metavar="ADAPTER", help="LoRA adapter folder written with --use_peft")
    parser.add_argument(
        "output_dir", metavar="OUT", help="folder to write the merged checkpoint to (created)"
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="dtype the base is loaded, merged and saved in (default: auto, the base checkpoint's; float32 "
        "merges without rounding the adapter's update to bf16)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from transformers import AutoProcessor

    from video_r1.models.qwen2_5_vl import adapter_base, load_model, processor_path

    try:
        base = adapter_base(args.adapter)
    except ValueError as err:
        raise SystemExit(f"video-r1 merge-lora: {err}") from None
    if base is None:
        raise SystemExit(
            f"video-r1 merge-lora: {args.adapter} has no adapter_config.json: not a LoRA adapter folder"
        )
    if os.path.abspath(args.output_dir) == os.path.abspath(args.adapter):
        raise SystemExit("video-r1 merge-lora: OUT must differ from ADAPTER")
    dtype = args.dtype if args.dtype == "auto" else getattr(torch, args.dtype)
    model = load_model(args.adapter, dtype=dtype, merge_adapter=True)
    model.config.use_cache = True  # a checkpoint for generation
    model.save_pretrained(args.output_dir)
    AutoProcessor.from_pretrained(processor_path(args.adapter)).save_pretrained(args.output_dir)
    print(f"{args.adapter} (adapter) + {base} (base) merged into {args.output_dir}")
    return 0
