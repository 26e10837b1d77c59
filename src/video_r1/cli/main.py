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
    """Run ``video-r1 <command> ...``; return the exit code. A reader that closes the pipe early
    (``video-r1 eval --help | head``) ends the command quietly with 141, as for other Unix tools (SIGPIPE)."""
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python's recipe: point stdout at /dev/null so that the interpreter's final flush does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
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
    try:
        from video_r1.cli._parse import precheck

        help_text = precheck(name, rest)  # from the packaged index: no torch, transformers or TRL yet
        if help_text is not None:
            print(help_text)
            return 0
        if name in ("eval", "annotate", "grpo", "sft"):
            check_model_flag(rest)
        if name not in ("plot", "merge-lora"):  # plot's --out is a PNG; merge-lora checks its adapter first
            check_output_dir(rest)
        module = importlib.import_module(SUBCOMMANDS[name][0])
        return int(module.main(rest) or 0)
    except UsageError as err:
        return _one_line(name, err, 2, debug)
    except UserError as err:
        return _one_line(name, err, 1, debug)
    except MemoryError as err:
        message = (
            f"out of memory ({' '.join(str(err).split()) or 'MemoryError'}): an input or a setting asks for more "
            "than this machine has (a huge image or frame size, too many frames or pixels per frame, a large "
            "batch); lower it"
        )
        return _one_line(name, message, 1, debug)
    except Exception as err:
        message = _write_failure(err)
        if message is None:
            raise
        return _one_line(name, message, 1, debug)


#: errno of a write that failed for want of room, and what to tell the user.
WRITE_ERRORS = {
    errno.ENOSPC: "no space left on the device",
    errno.EFBIG: "file too large: the file-size limit (ulimit -f) or the file system's maximum was reached",
    errno.EDQUOT: "disk quota exceeded",
}


def _write_failure(err: BaseException) -> str | None:
    """The one-line message for a write that failed for want of room (an ``OSError``, or the same error
    reported by safetensors' Rust writer as ``... (os error 28)``), else ``None`` (a bug: keep the traceback)."""
    import re

    code, where = None, ""
    if isinstance(err, OSError):
        code = err.errno
        where = f" writing {err.filename}" if err.filename else ""
    elif type(err).__name__ == "SafetensorError":
        found = re.search(r"os error (\d+)", str(err))
        code = int(found.group(1)) if found else None
        where = " writing a .safetensors file"
    if code not in WRITE_ERRORS:
        return None
    return (
        f"{WRITE_ERRORS[code]}{where}; free some space (or raise the limit) and run the same command again "
        "(it resumes)"
    )


def _flag_value(argv: list[str], names: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(argv):
        key, eq, value = arg.partition("=")
        if key in names:
            if eq:
                return value
            return argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("--") else None
    return None


def _config_value(argv: list[str], key: str):
    """``key`` of the ``--config`` YAML file, or ``None`` (no file, not a mapping, does not parse)."""
    from pathlib import Path

    config = _flag_value(argv, ("--config",))
    if not config:
        return None
    try:
        import yaml

        loaded = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    except Exception:  # the parser reports a bad YAML file in its own words
        return None
    return loaded.get(key) if isinstance(loaded, dict) else None


def check_model_flag(argv: list[str]) -> None:
    """The model path's torch-free checks (:func:`video_r1.cli._model.quick_check`), before the parse."""
    from video_r1.cli._model import quick_check

    value = _flag_value(argv, ("--model_name_or_path", "--model_path"))
    if value is None:
        value = _config_value(argv, "model_name_or_path")
    if value and isinstance(value, str):
        quick_check(value)


def check_output_dir(argv: list[str]) -> None:
    """Refuse an ``--output_dir`` (or ``--config``'s ``output_dir``) that cannot be created, before any work:
    the folders are made and removed again (e.g. ``/proc/x``: one line, not a traceback at the first save).
    Safe when several ranks run it at once: a folder another process made meanwhile counts as creatable."""
    from pathlib import Path

    from video_r1.errors import UserError
    from video_r1.resumable import check_output_path

    value = _flag_value(argv, ("--output_dir", "--out"))
    if value is None:
        value = _config_value(argv, "output_dir")
    if not value or not isinstance(value, str):
        return
    check_output_path(value)  # a file where a folder must be: a usage error (exit 2)
    target = Path(value).expanduser()
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        # every rank of a torchrun/accelerate job runs this check at once (on every node of a shared file
        # system): making and removing the folders would race, so they are made and kept (the run makes them
        # anyway at its first save)
        try:
            os.makedirs(target, exist_ok=True)
        except OSError as err:
            raise UserError(
                f"--output_dir {value}: cannot create the folder {err.filename or ''} ({err.strerror})"
            ) from None
        return
    missing = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    created = []
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                # another process made it meanwhile (every rank of a torchrun job runs this check): it is not
                # ours to remove, and it shows the folder can be created
                if folder.is_dir():
                    continue
                raise
            created.append(folder)
    except OSError as err:
        raise UserError(
            f"--output_dir {value}: cannot create the folder {err.filename or ''} ({err.strerror})"
        ) from None
    finally:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass


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
