"""``video-r1`` console script.

Each subcommand lives in its own module under ``video_r1.cli`` and exposes ``register(subparsers)``, which
adds an ``argparse`` parser and sets ``func`` to a callable taking the parsed namespace and returning an
exit code. Modules with ``PASSTHROUGH = True`` (the trainers) get their raw arguments through
``main(argv)`` and parse them with TRL's ``TrlParser`` (``--config recipe.yaml`` plus overrides). Modules are imported lazily by name so that ``video-r1 --help`` stays fast and a subcommand's
heavy imports (torch, transformers) happen only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from video_r1 import __version__

#: Registered subcommands: name -> module under video_r1.cli. Only subcommands that work are listed.
SUBCOMMANDS: dict[str, str] = {
    "make-tiny": "video_r1.cli.make_tiny",
    "make-synthetic": "video_r1.cli.make_synthetic",
    "grpo": "video_r1.cli.grpo",
    "eval": "video_r1.cli.eval",
    "annotate": "video_r1.cli.annotate",
    "sft": "video_r1.cli.sft",
    "merge-lora": "video_r1.cli.merge_lora",
    "plot": "video_r1.cli.plot",
    "demo": "video_r1.cli.demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="video-r1",
        description="Video-R1 reproduction: T-GRPO video reasoning for Qwen2.5-VL on the Hugging Face stack.",
    )
    parser.add_argument("--version", action="version", version=f"video-r1 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        # Training subcommands parse their own arguments with TRL's TrlParser (YAML + dataclass fields).
        if getattr(module, "PASSTHROUGH", False):
            return int(module.main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
