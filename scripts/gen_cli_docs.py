"""Write docs/cli.md and the packaged help index: the ``--help`` of every ``video-r1`` subcommand, generated so
neither can go stale.

    .venv/bin/python scripts/gen_cli_docs.py            # rewrite docs/cli.md and src/video_r1/cli/help_index.json
    .venv/bin/python scripts/gen_cli_docs.py --check    # exit 1 if either differs (tests/test_docs.py)

``help_index.json`` holds each command's help text and flags: ``video-r1 CMD --help`` prints it, and an
unknown flag is refused against it, without importing torch, transformers or TRL (the settings classes
subclass TRL's); the full parse happens only when the command runs.

Help text is rendered at a fixed width (100 columns) so the file does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"
INDEX = ROOT / "src" / "video_r1" / "cli" / "help_index.json"
WIDTH = "100"


def command_parser(name: str) -> argparse.ArgumentParser:
    from video_r1.cli.main import SUBCOMMANDS

    return importlib.import_module(SUBCOMMANDS[name][0]).build_parser()


def render() -> str:
    """The file's text (argparse wraps at ``$COLUMNS``: :func:`main` sets it to :data:`WIDTH`)."""
    from video_r1.cli.main import SUBCOMMANDS, overview

    parts = [
        "# `video-r1` command reference",
        "",
        "Generated from `--help` by `scripts/gen_cli_docs.py` (a test fails when it is stale). Every command",
        "also reads its settings from `--config file.yaml` (keys = the flag names without `--`); flags given",
        "on the command line override the file. A mistake in either ends as one line",
        "`video-r1 <command>: error: ...` (exit 2); `--debug` adds the traceback.",
        "",
        "```text",
        overview(),
        "```",
        "",
    ]
    for name in SUBCOMMANDS:
        parts += [
            f"## `video-r1 {name}`",
            "",
            "```text",
            command_parser(name).format_help().rstrip(),
            "```",
            "",
        ]
    return "\n".join(parts)


def render_index() -> str:
    """``help_index.json``: per command, its ``--help`` text and every option string with its nargs."""
    from video_r1.cli.main import SUBCOMMANDS

    index = {}
    for name in SUBCOMMANDS:
        parser = command_parser(name)
        flags = {}
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--"):
                    flags[option] = "1" if action.nargs is None else str(action.nargs)
        flags.setdefault("--config", "1")  # TrlParser reads it before argparse
        index[name] = {"help": parser.format_help().rstrip(), "flags": dict(sorted(flags.items()))}
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    os.environ["COLUMNS"] = WIDTH
    outputs = {OUT: render(), INDEX: render_index()}
    if "--check" in argv:
        stale = [
            path
            for path, text in outputs.items()
            if (path.read_text("utf-8") if path.is_file() else "") != text
        ]
        for path in stale:
            print(f"{path} is stale: run .venv/bin/python scripts/gen_cli_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
