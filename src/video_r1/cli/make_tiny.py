"""``video-r1 make-tiny OUT``: write the tiny offline Qwen2.5-VL checkpoint used by tests and the demo."""

from __future__ import annotations

import argparse

from video_r1.testing.tiny import TinySize


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-tiny",
        help="build a tiny random-weight Qwen2.5-VL checkpoint offline",
        description=(
            "Build a complete tiny Qwen2.5-VL checkpoint (config, random weights, byte-level BPE tokenizer "
            "with Qwen's special tokens and <think>/<answer> tags, the real chat template, image and video "
            "processor configs) that loads with AutoProcessor / AutoModelForImageTextToText.from_pretrained. "
            "No network access is needed; the same seed and sizes give identical files."
        ),
    )
    parser.add_argument("output_dir", metavar="OUT", help="directory to write the checkpoint to (created)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the random weights (default: 0)")
    defaults = TinySize()
    for name in TinySize.__dataclass_fields__:
        parser.add_argument(
            f"--{name}",
            type=int,
            default=getattr(defaults, name),
            help=f"model size override (default: {getattr(defaults, name)})",
        )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from video_r1.testing.tiny import build_tiny_checkpoint

    sizes = {name: getattr(args, name) for name in TinySize.__dataclass_fields__}
    path = build_tiny_checkpoint(args.output_dir, seed=args.seed, **sizes)
    print(f"tiny Qwen2.5-VL checkpoint written to {path}")
    return 0
