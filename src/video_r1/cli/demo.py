"""``video-r1 demo``: the whole pipeline in miniature on CPU (tiny model, synthetic data, SFT, T-GRPO, eval).

See :mod:`video_r1.demo`. Sizes, step counts and learning rates come from the recipe (``--config``, default
``configs/demo_cpu.yaml``); ``--quick`` runs every stage for a few steps (the CI smoke test)::

    video-r1 demo --output_dir runs/demo
    video-r1 demo --output_dir runs/demo_quick --quick
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline in miniature on CPU: tiny model, synthetic data, SFT, T-GRPO, evaluation",
        description=(
            "Build a small offline Qwen2.5-VL, write the synthetic frame-order dataset, evaluate the untrained "
            "model, run the SFT cold start and T-GRPO, evaluating the held-out split after each stage on ordered "
            "and on shuffled frames. Writes report.json, report.md and curves.png (RL curves) to OUTPUT_DIR. "
            "No downloads; about 8 minutes on 2 CPU cores (--quick: under 2 minutes)."
        ),
    )
    parser.add_argument(
        "--output_dir",
        default="runs/demo",
        help="directory for the model, data, checkpoints and report (default: runs/demo)",
    )
    parser.add_argument(
        "--config",
        default=None,
        help="demo recipe YAML (default: the repository's configs/demo_cpu.yaml)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="merge the recipe's 'quick' section: every stage for a few steps (smoke test; accuracies not meaningful)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the model, data and training (default: the recipe's)"
    )
    parser.add_argument("--no_progress", action="store_true", help="do not show progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING)

    from video_r1.demo import run_demo

    run_demo(args.output_dir, args.config, quick=args.quick, seed=args.seed, progress=not args.no_progress)
    return 0
