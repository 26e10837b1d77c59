"""The ``video-r1`` console script: registered subcommands, help text and make-tiny end to end."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor

from video_r1.cli.main import SUBCOMMANDS, build_parser, main


def test_console_script_is_installed():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("video-r1") == "video_r1.cli.main:main"


def test_every_registered_subcommand_has_help(capsys):
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert f"video-r1 {name}" in out
        # every option documents itself
        parser = build_parser()
        sub = parser._subparsers._group_actions[0].choices[name]
        for action in sub._actions:
            assert action.help, f"{name}: option {action.option_strings or action.dest} has no help"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "make-tiny" in capsys.readouterr().out


def test_make_tiny_subprocess(tmp_path):
    out = tmp_path / "t"
    result = subprocess.run(
        [sys.executable, "-m", "video_r1.cli.main", "make-tiny", str(out), "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    AutoProcessor.from_pretrained(out)
    model = AutoModelForImageTextToText.from_pretrained(out)
    assert model.config.text_config.hidden_size == 64
