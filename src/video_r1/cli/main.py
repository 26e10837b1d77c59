"""``video-r1`` console script.

Each subcommand lives in its own module under ``video_r1.cli`` and exposes ``main(argv) -> int``; its
settings are documented dataclasses parsed from ``--config file.yaml`` plus ``--field value`` flags
(:mod:`video_r1.cli._parse`). Modules are imported only when their command runs, so ``video-r1 --help``
stays fast. A mistake in the command line or the config file ends as one line
``video-r1 <cmd>: error: ...`` on stderr with exit code 2.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
import traceback

from video_r1 import __version__

#: Subcommands: name -> (module under video_r1.cli, one-line help).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "make-tiny": ("video_r1.cli.make_tiny", "build a tiny random-weight Qwen2.5-VL checkpoint offline"),
    "make-synthetic": (
        "video_r1.cli.make_synthetic",
        "write the synthetic frame-order dataset (videos + images)",
    ),
    "sft": ("video_r1.cli.sft", "SFT cold start on CoT data"),
    "grpo": ("video_r1.cli.grpo", "T-GRPO / GRPO training"),
    "eval": ("video_r1.cli.eval", "evaluate a checkpoint on the six video benchmarks of the paper"),
    "annotate": ("video_r1.cli.annotate", "generate chain-of-thought for a Video-R1-format file"),
    "merge-lora": ("video_r1.cli.merge_lora", "merge a LoRA adapter into its base model (a full checkpoint)"),
    "plot": ("video_r1.cli.plot", "plot a run's training curves to a PNG"),
    "demo": ("video_r1.cli.demo", "the whole pipeline in miniature on CPU (tiny model, synthetic data)"),
}


def overview() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [
        "usage: video-r1 COMMAND [--config FILE.yaml] [--field value ...]",
        "",
        "Video-R1 reproduction: T-GRPO video reasoning for Qwen2.5-VL on the Hugging Face stack.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()),
        "",
        "video-r1 COMMAND --help lists every setting of a command. --version prints the version. --debug (any",
        "position) prints the traceback of an error as well.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from video_r1.cli._parse import UsageError
    from video_r1.errors import UserError

    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("VIDEO_R1_DEBUG") == "1"
    argv = [arg for arg in argv if arg != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(overview())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"video-r1 {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(
            f"video-r1: error: unknown command {name!r}; commands: {', '.join(SUBCOMMANDS)}", file=sys.stderr
        )
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    try:
        return int(module.main(rest) or 0)
    except UsageError as err:
        return _one_line(name, err, 2, debug)
    except UserError as err:
        return _one_line(name, err, 1, debug)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        where = f" writing {err.filename}" if err.filename else ""
        message = (
            f"no space left on the device{where}; free some space and run the same command again (it resumes)"
        )
        return _one_line(name, message, 1, debug)


def _close_progress_bars() -> None:
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()


def _one_line(name: str, err: BaseException | str, code: int, debug: bool) -> int:
    """Print ``video-r1 <name>: error: <message>`` (the traceback too with ``--debug``); return ``code``."""
    _close_progress_bars()  # so the error starts on its own line
    if debug and isinstance(err, BaseException):
        traceback.print_exception(err)
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"video-r1 {name}: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
