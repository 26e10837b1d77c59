"""``video-r1 make-synthetic``: documented settings, ``--config`` YAML, one-line usage errors, same files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from video_r1.cli.main import main
from video_r1.cli.make_synthetic import MakeSyntheticArguments
from video_r1.data.synthetic import make_synthetic

SMALL = ["--num_train", "6", "--num_test", "3", "--seed", "4", "--no_progress"]


def _digests(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file written under ``root``."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _run(*argv: str) -> int:
    return main(["make-synthetic", *argv])


def test_config_file_gives_the_same_files_as_flags_and_the_library(tmp_path: Path, capsys) -> None:
    flags, config, library = tmp_path / "flags", tmp_path / "config", tmp_path / "library"
    assert _run("--output_dir", str(flags), *SMALL) == 0
    yaml_file = tmp_path / "synthetic.yaml"
    yaml_file.write_text(f"output_dir: {config}\nnum_train: 6\nnum_test: 3\nseed: 4\nno_progress: true\n")
    assert _run("--config", str(yaml_file)) == 0
    make_synthetic(library, num_train=6, num_test=3, seed=4, progress=False)  # the CLI's defaults are its own
    assert len(_digests(flags)) == 6 + 3 + 3  # media + train/cot/test json
    assert _digests(flags) == _digests(config) == _digests(library)
    out = capsys.readouterr().out
    assert f"synthetic dataset written to {flags}" in out and f"{config / 'train.json'}: 6 records" in out


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    yaml_file = tmp_path / "synthetic.yaml"
    yaml_file.write_text("num_train: 2\nnum_test: 0\nvideo_tasks: [direction]\nimage_fraction: 0.0\n")
    assert _run("--config", str(yaml_file), "--output_dir", str(tmp_path / "out"), "--num_train", "4") == 0
    train = json.loads((tmp_path / "out" / "train.json").read_text())
    assert len(train) == 4 and {r["data_source"] for r in train} == {"synthetic/direction"}


def test_cot_overrides_as_json_flag_or_yaml_mapping(tmp_path: Path) -> None:
    common = ["--num_train", "2", "--num_test", "1", "--num_cot", "3", "--no_progress"]
    assert _run("--output_dir", str(tmp_path / "flag"), *common, "--cot_overrides", '{"min_speed": 5.5}') == 0
    yaml_file = tmp_path / "cot.yaml"
    yaml_file.write_text("cot_overrides:\n  min_speed: 5.5\n")
    assert _run("--config", str(yaml_file), "--output_dir", str(tmp_path / "yaml"), *common) == 0
    make_synthetic(tmp_path / "lib", num_train=2, num_test=1, num_cot=3, cot_overrides={"min_speed": 5.5},
                   progress=False)  # fmt: skip
    assert _digests(tmp_path / "flag") == _digests(tmp_path / "yaml") == _digests(tmp_path / "lib")
    assert len(json.loads((tmp_path / "flag" / "cot.json").read_text())) == 3


def test_list_flags_repeat_and_bare_task_flags_select_none(tmp_path: Path) -> None:
    out = tmp_path / "repeat"
    assert _run("--output_dir", str(out), "--num_train", "4", "--num_test", "0", "--image_fraction", "0",
                "--video_tasks", "direction", "--video_tasks", "size_change", "--no_progress") == 0  # fmt: skip
    tasks = {r["data_source"] for r in json.loads((out / "train.json").read_text())}
    assert tasks == {"synthetic/direction", "synthetic/size_change"}
    for argv in (
        ["--video_tasks", "--image_fraction", "1"],
        ["--video_tasks", "none", "--image_fraction", "1"],
    ):
        out = tmp_path / f"images-{len(argv)}"
        assert (
            _run("--output_dir", str(out), "--num_train", "3", "--num_test", "0", *argv, "--no_progress") == 0
        )
        assert {r["data_type"] for r in json.loads((out / "train.json").read_text())} == {"image"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--num_train", "2"], "--output_dir (the directory to write the dataset to) is required"),
        (["--size", "50"], "--size=50: must be a positive multiple of 28"),
        (["--video_tasks", "direction", "spin"], "--video_tasks: unknown task(s) spin; choose from"),
        (["--image_tasks", "count", "dots"], "--image_tasks: unknown task(s) dots"),
        (["--num_frames", "1"], "--num_frames=1: order needs at least 2 frames"),
        (["--max_speed", "2"], "--max_speed=2.0 must be >= --min_speed=4.5"),
        (["--background", "20"], "--background needs two numbers LOW HIGH"),
        (["--colours", "red", "pink"], "--colours=('red', 'pink'): need at least 2 distinct names"),
        (["--num_test", "-1"], "--num_test=-1: must be >= 0"),
        (["--image_fraction", "1.5"], "--image_fraction=1.5: must be in [0, 1]"),
        (["--cot_overrides", '{"min_speed": 5}'], "--cot_overrides needs num_cot"),
        (["--num_cot", "2", "--cot_overrides", "[5]"], "--cot_overrides '[5]' must be a JSON object"),
        (
            ["--num_cot", "2", "--cot_overrides", "{min_speed: 5}"],
            "--cot_overrides '{min_speed: 5}' is not valid",
        ),
        (
            ["--num_cot", "2", "--cot_overrides", '{"size": 50}'],
            "--cot_overrides: size=50: must be a positive",
        ),
        (["--num_train", "many"], "invalid int value: 'many'"),
        (["--bogus", "1"], "unknown flag(s): --bogus"),
    ],
)
def test_bad_values_are_one_line_with_exit_2(argv, message, tmp_path, capsys) -> None:
    out = tmp_path / "never"
    full = argv if argv[:2] == ["--num_train", "2"] else ["--output_dir", str(out), *argv]
    assert _run(*full) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("video-r1 make-synthetic: error: "), err
    assert message in err[0]
    assert not out.exists()  # checked before anything is written


def test_bad_config_key_is_one_line(tmp_path, capsys) -> None:
    yaml_file = tmp_path / "bad.yaml"
    yaml_file.write_text(f"output_dir: {tmp_path / 'out'}\nnum_trian: 4\n")
    assert _run("--config", str(yaml_file)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["video-r1 make-synthetic: error: unknown setting(s) in the --config file: num_trian "
                   "(see --help for the valid names)"]  # fmt: skip


def test_help_lists_every_flag(capsys) -> None:
    assert _run("--help") == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: video-r1 make-synthetic")
    names = list(MakeSyntheticArguments.__dataclass_fields__)
    assert len(names) == 26
    for name in names:
        assert f"--{name} " in out, name
