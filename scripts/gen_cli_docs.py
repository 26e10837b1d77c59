"""Write docs/cli.md: the ``--help`` of every ``video-r1`` subcommand, generated so it cannot go stale.

    .venv/bin/python scripts/gen_cli_docs.py            # rewrite docs/cli.md
    .venv/bin/python scripts/gen_cli_docs.py --check    # exit 1 if docs/cli.md differs (tests/test_docs.py)

Help text is rendered at a fixed width (100 columns) so the file does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"
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


def main(argv: list[str]) -> int:
    os.environ["COLUMNS"] = WIDTH
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            print(f"{OUT} is stale: run .venv/bin/python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
