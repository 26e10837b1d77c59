"""``video-r1 grpo``: T-GRPO (or plain GRPO with ``--temporal false``) on Video-R1-format data.

Arguments are the fields of :class:`GRPOScriptArguments` and :class:`~video_r1.trainers.TGRPOConfig`
(which extends TRL's ``GRPOConfig``), read from a YAML recipe with ``--config`` and overridden on the
command line, as with TRL's own scripts::

    video-r1 grpo --config configs/grpo_video_7b.yaml --output_dir runs/grpo --max_steps 1000
    accelerate launch --config_file configs/accelerate/zero3.yaml -m video_r1.cli.main grpo --config ...
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

#: ``video-r1 grpo ARGS`` hands ARGS to :func:`main` unparsed (TrlParser does the parsing).
PASSTHROUGH = True


@dataclass
class GRPOScriptArguments:
    """Model and data arguments of ``video-r1 grpo``."""

    model_name_or_path: str = field(
        default=None,
        metadata={"help": "Policy to train: the SFT checkpoint (a local folder or a Hub id already cached)."},
    )
    dataset_name: str = field(
        default=None,
        metadata={"help": "Training records: a Video-R1-260k style JSON array or JSONL file."},
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
    dtype: str | None = field(
        default=None,
        metadata={"help": "Model dtype: 'bfloat16', 'float32' or 'auto' (default: the checkpoint's)."},
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={"help": "Attention kernel: 'flash_attention_2' (GPU, the original's), 'sdpa' or 'eager'."},
    )


def build_parser():
    from trl import TrlParser

    from video_r1.trainers import TGRPOConfig

    return TrlParser((GRPOScriptArguments, TGRPOConfig), prog="video-r1 grpo")


def register(subparsers: argparse._SubParsersAction) -> None:
    # Listed in `video-r1 --help`; `video-r1 grpo --help` prints TrlParser's help with every field.
    subparsers.add_parser(
        "grpo",
        help="T-GRPO / GRPO training (--config recipe.yaml plus --field value overrides; --help lists all)",
        add_help=False,
    )


def main(argv: list[str] | None = None) -> int:
    from video_r1.cli._training import apply_model_init_args, end_distributed_run
    from video_r1.data.records import load_records
    from video_r1.trainers import TGRPOTrainer

    script_args, training_args = build_parser().parse_args_and_config(argv)
    if not script_args.model_name_or_path or not script_args.dataset_name:
        raise SystemExit("video-r1 grpo: --model_name_or_path and --dataset_name are required")
    apply_model_init_args(script_args, training_args)

    dataset = load_records(
        script_args.dataset_name,
        script_args.data_root,
        data_types=script_args.data_types,
        data_sources=script_args.data_sources,
        seed=training_args.seed,
    )
    trainer = TGRPOTrainer(model=script_args.model_name_or_path, args=training_args, train_dataset=dataset)
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(training_args.output_dir)
    end_distributed_run()
    return 0
