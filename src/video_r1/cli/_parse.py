"""Every subcommand parses its settings the same way: documented dataclasses, ``--config file.yaml``, flags.

``parse_command`` builds TRL's ``TrlParser`` (an ``HfArgumentParser``: one flag per dataclass field, its
``help`` from the field's metadata, ``--config`` YAML values as defaults that flags override) and turns every
way a user can get the settings wrong - an unknown flag or YAML key, a bad value, a missing or malformed YAML
file, a dataclass check - into one :class:`UsageError`, which ``video-r1`` prints as one line
``video-r1 <cmd>: error: ...`` with exit code 2 (no traceback, no 100-line usage dump).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from video_r1.errors import UsageError  # noqa: E402  (the command line or --config file is wrong)

#: Old setting names still accepted (as flag aliases and --config keys) with a warning: old -> (new, why).
DEPRECATED_NAMES: dict[str, tuple[str, str]] = {
    "allow_outside_data_root": (
        "allow_parent_traversal",
        "absolute media paths and symlinks are accepted without a flag now; the flag only allows '..' steps "
        "out of the data root",
    ),
}


def _warn_deprecated(prog: str, old: str, as_flag: bool) -> str:
    new, why = DEPRECATED_NAMES[old]
    said = (
        f"--{old} is deprecated, use --{new}" if as_flag else f"--config key {old} is deprecated, use {new}"
    )
    print(f"{prog}: warning: {said} ({why})", file=sys.stderr)
    return new


def _warn_deprecated_flags(prog: str, argv: Sequence[str], fields: set[str]) -> None:
    """Warn for an old flag name of a setting this command has (``fields``); for any other command the old
    name is an unknown flag like any other, and argparse says so."""
    for arg in argv:
        name = arg.split("=", 1)[0]
        old = name[2:].replace("-", "_")
        if name.startswith("--") and old in DEPRECATED_NAMES and DEPRECATED_NAMES[old][0] in fields:
            _warn_deprecated(prog, old, as_flag=True)


def _parser_class():
    from trl import TrlParser

    class CommandParser(TrlParser):
        """``TrlParser`` whose argparse errors raise :class:`UsageError` instead of printing the usage."""

        def error(self, message: str):  # argparse's hook for bad flags and values
            raise UsageError(message)

        def set_defaults_with_config(self, **kwargs):  # --config keys: old names renamed, with a warning
            renamed = {}
            fields = {action.dest for action in self._actions}
            for key, value in kwargs.items():
                if key in DEPRECATED_NAMES and DEPRECATED_NAMES[key][0] in fields:
                    key = _warn_deprecated(self.prog, key, as_flag=False)
                renamed[key] = value
            return super().set_defaults_with_config(**renamed)

    return CommandParser


#: The packaged help and flag index of every command, written by scripts/gen_cli_docs.py (with docs/cli.md).
INDEX_PATH = Path(__file__).with_name("help_index.json")
#: argparse takes ``-5`` and ``-.5`` as values, not ``-1e-4`` (it reads that as a flag).
_ARGPARSE_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")
_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$", re.IGNORECASE)


def load_index() -> dict[str, Any]:
    """``{command: {"help": text, "flags": {flag: nargs}}}`` (no torch, transformers or TRL imported)."""
    import json

    return json.loads(INDEX_PATH.read_text(encoding="utf-8"))


def check_negative_values(argv: Sequence[str]) -> None:
    """``--learning_rate -1e-4``: argparse reads ``-1e-4`` as a flag; say to write ``--learning_rate=-1e-4``."""
    for flag, value in zip(argv, argv[1:]):
        if (
            flag.startswith("--")
            and "=" not in flag
            and _NUMBER.match(value)
            and not _ARGPARSE_NEGATIVE.match(value)
        ):
            raise UsageError(
                f"{flag} {value}: a value starting with '-' is read as a flag; write {flag}={value}"
            )


def check_config_arg(argv: Sequence[str]) -> None:
    """One ``--config`` with an existing file after it."""
    if argv.count("--config") > 1:
        raise UsageError("--config given more than once (one YAML file; flags override its values)")
    if "--config" in argv:
        index = argv.index("--config")
        if index + 1 >= len(argv) or argv[index + 1].startswith("--"):
            raise UsageError("--config needs a YAML file path")
        path = Path(argv[index + 1])
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")


def check_flags(argv: Sequence[str], known: Sequence[str]) -> None:
    """Every ``--flag`` of ``argv`` is a flag of the command or an unambiguous prefix of one (argparse's rule)."""
    unknown = []
    for arg in argv:
        if not arg.startswith("--") or arg == "--":
            continue
        name = arg.split("=", 1)[0]
        if name in known:
            continue
        if len([flag for flag in known if flag.startswith(name)]) != 1:
            unknown.append(name)
    if unknown:
        raise UsageError(f"unknown flag(s): {', '.join(unknown)} (see --help)")


def precheck(command: str, argv: Sequence[str]) -> str | None:
    """What can be told from the packaged index without importing the command's settings classes: the help
    text when ``--help``/``-h`` is asked (returned), an unknown flag, ``--flag -1e-4``, a missing ``--config``
    file (raised as :class:`UsageError`). ``None``: parse and run the command."""
    entry = load_index().get(command)
    if entry is None:  # a command added without regenerating the index: the full parser decides
        return None
    if "--help" in argv or "-h" in argv:
        return entry["help"]
    check_negative_values(argv)
    check_flags(argv, list(entry["flags"]))
    check_config_arg(argv)
    return None


def build_parser(prog: str, dataclass_types: Sequence[type], description: str | None = None):
    """The parser of a subcommand (also used to generate ``docs/cli.md``)."""
    return _parser_class()(list(dataclass_types), prog=prog, description=description)


def merge_repeated(argv: Sequence[str], flags: Sequence[str]) -> list[str]:
    """``--f a --f b`` -> ``--f a b`` for list-valued ``flags`` (argparse would keep only the last one)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in flags:
            values = []
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                values.append(args[i])
                i += 1
            if arg in seen:
                insert_at = seen[arg] + 1
                while insert_at < len(out) and not out[insert_at].startswith("--"):
                    insert_at += 1
                out[insert_at:insert_at] = values
            else:
                seen[arg] = len(out)
                out += [arg, *values]
            continue
        out.append(arg)
        i += 1
    return out


def parse_command(
    prog: str,
    dataclass_types: Sequence[type],
    argv: Sequence[str],
    *,
    description: str | None = None,
    repeatable: Sequence[str] = (),
) -> tuple[Any, ...]:
    """Parse ``argv`` (with an optional ``--config file.yaml``) into one instance per dataclass type."""
    import yaml

    argv = merge_repeated(argv, repeatable)
    check_negative_values(argv)
    check_config_arg(argv)
    parser = build_parser(prog, dataclass_types, description)
    _warn_deprecated_flags(prog, argv, {action.dest for action in parser._actions})
    try:
        return tuple(parser.parse_args_and_config(argv))
    except UsageError:
        raise
    except yaml.YAMLError as err:
        raise UsageError(f"--config: the YAML file does not parse: {' '.join(str(err).split())}") from None
    except (ValueError, TypeError) as err:
        raise UsageError(_explain(str(err))) from None


def _explain(message: str) -> str:
    """HfArgumentParser / TrlParser messages in the user's terms."""
    unknown_yaml = re.match(r"Unknown arguments from config file: \[(.*)\]", message)
    if unknown_yaml:
        keys = re.findall(r"'--([^']+)'", unknown_yaml.group(1))
        return f"unknown setting(s) in the --config file: {', '.join(keys)} (see --help for the valid names)"
    unused = re.match(r"Some specified arguments are not used by the HfArgumentParser: \[(.*)\]", message)
    if unused:
        flags = [f for f in re.findall(r"'([^']+)'", unused.group(1)) if f.startswith("-")]
        return f"unknown flag(s): {', '.join(flags) or unused.group(1)} (see --help)"
    return " ".join(message.split())
