"""The ``video-r1`` console script: subcommands, help text, one-line usage errors, make-tiny end to end."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from transformers import AutoModelForImageTextToText, AutoProcessor

from video_r1.cli.main import SUBCOMMANDS, main


def _parser(name: str) -> argparse.ArgumentParser:
    return importlib.import_module(SUBCOMMANDS[name][0]).build_parser()


def test_console_script_is_installed():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("video-r1") == "video_r1.cli.main:main"


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_subcommand_documents_every_option(name, capsys):
    assert main([name, "--help"]) == 0  # the packaged help (help_index.json), no parser built
    assert f"video-r1 {name}" in capsys.readouterr().out
    for action in _parser(name)._actions:
        assert action.help, f"{name}: option {action.option_strings or action.dest} has no help"


def test_no_command_prints_the_overview_and_fails(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)
    assert main(["--help"]) == 0


def test_unknown_command_is_one_line(capsys):
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"video-r1: error: unknown command 'evaluate'; commands: {', '.join(SUBCOMMANDS)}"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--output_dir", "x", "--bogus", "1"], "unknown flag(s): --bogus"),
        (["--output_dir", "x", "--hidden_size", "abc"], "invalid int value: 'abc'"),
        (["--hidden_size", "64"], "--output_dir is required"),
        (["--output_dir", "x", "--num_attention_heads", "5"], "must divide hidden_size"),
        (["--config", "missing.yaml"], "--config missing.yaml: no such file"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["make-tiny", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("video-r1 make-tiny: error: "), err
    assert message in err[0]


def test_config_file_errors_are_one_line(tmp_path, capsys):
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("output_dir: x\nhiden_size: 64\n")
    assert main(["make-tiny", "--config", str(bad_key)]) == 2
    assert "unknown setting(s) in the --config file: hiden_size" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("output_dir: [x\n")
    assert main(["make-tiny", "--config", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the YAML file does not parse" in err[0]


def test_config_file_and_flags(tmp_path):
    config = tmp_path / "tiny.yaml"
    out = tmp_path / "from_yaml"
    config.write_text(f"output_dir: {out}\nhidden_size: 48\nseed: 2\n")
    assert main(["make-tiny", "--config", str(config), "--num_hidden_layers", "1"]) == 0
    model = AutoModelForImageTextToText.from_pretrained(out)
    assert model.config.text_config.hidden_size == 48 and model.config.text_config.num_hidden_layers == 1


def test_make_tiny_subprocess_with_the_old_positional_output(tmp_path):
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


def test_a_wrong_model_path_fails_fast_without_the_hub(tiny_checkpoint, synthetic_data, tmp_path):
    """`runs/nope` (runs/ exists) is a missing folder, not a Hub id; a real Hub id with the Hub unreachable
    (HF_HUB_OFFLINE unset, the endpoint refusing connections) is read from the cache only: one line, exit 1,
    in seconds (it was 158 s of Hub retries and two tracebacks)."""
    (tmp_path / "runs").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    bench = f"synth={synthetic_data['test']}"
    for model, says in (
        ("runs/nope", "runs/nope: no such folder"),
        ("someone/not-a-model", "someone/not-a-model"),
    ):
        for command in (
            ["eval", "--model_name_or_path", model, "--backend", "hf", "--benchmark_file", bench],
            [
                "annotate",
                "--model_name_or_path",
                model,
                "--backend",
                "hf",
                "--input",
                "x.json",
                "--output_dir",
                "o",
            ],
        ):
            proc = subprocess.run(
                [sys.executable, "-m", "video_r1.cli.main", *command],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 1, proc.stderr[-2000:]
            assert lines[-1].startswith(f"video-r1 {command[0]}: error: ") and says in lines[-1], lines[-1]
            assert "Traceback" not in proc.stderr


HEAVY = ("torch", "transformers", "trl")
_IMPORTS = (
    "import sys, runpy; sys.argv = ['video-r1', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('video_r1.cli.main', run_name='__main__')\n"
    "finally:\n    print('HEAVY=' + ','.join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
)


def _run_light(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _IMPORTS.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help_imports_no_torch(command):
    """`video-r1 CMD --help` prints the packaged help (the same text as the full parser's) without importing
    torch, transformers or TRL."""
    proc = _run_light(*([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY="
    if command:
        assert proc.stdout.startswith(f"usage: video-r1 {command}")


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["eval", "--model_name_or_path", "x", "--max_frams", "8"], 2, "unknown flag(s): --max_frams"),
        (["grpo", "--learning_rate", "-1e-4"], 2, "write --learning_rate=-1e-4"),
        (["sft", "--config", "no_such.yaml"], 2, "--config no_such.yaml: no such file"),
        (["demo", "--quik"], 2, "unknown flag(s): --quik"),
        (
            ["eval", "--model_name_or_path", "/no/such/ckpt", "--backend", "hf"],
            1,
            "/no/such/ckpt: no such folder",
        ),
        (["annotate", "--model_path", "/etc/hostname", "--input", "x.json"], 1, "is a file"),
        (
            ["grpo", "--model_name_or_path", "someone/not-cached", "--output_dir", "o"],
            1,
            "Hugging Face cache",
        ),
    ],
)
def test_argument_errors_import_no_torch(argv, code, says):
    """Usage errors and a model path that cannot be a checkpoint (a missing folder, a file, a Hub id that is
    not cached while downloads are off) end before torch, transformers or TRL are imported."""
    proc = _run_light(*argv)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr[-2000:]
    assert lines[-1] == "HEAVY=", lines
    assert lines[-2].startswith(f"video-r1 {argv[0]}: error: ") and says in lines[-2], lines[-2]


def test_packaged_help_index_is_current(monkeypatch):
    """src/video_r1/cli/help_index.json is what scripts/gen_cli_docs.py writes from the real parsers."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("gen_cli_docs", root / "scripts" / "gen_cli_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    monkeypatch.setenv("COLUMNS", gen.WIDTH)
    current = (root / "src" / "video_r1" / "cli" / "help_index.json").read_text(encoding="utf-8")
    assert gen.render_index() == current, (
        "help_index.json is stale: run .venv/bin/python scripts/gen_cli_docs.py"
    )


def test_help_into_a_closed_pipe_ends_quietly():
    """``video-r1 eval --help | head -1``: the reader closes the pipe early; no BrokenPipeError traceback,
    exit 141 (as SIGPIPE would give)."""
    code = "import sys; from video_r1.cli.main import main; sys.exit(main(['eval', '--help']))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    proc.stdout.close()  # the reader is gone before the child (which imports first) prints the help
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
