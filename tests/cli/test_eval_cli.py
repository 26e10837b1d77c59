"""``video-r1 eval`` end to end on CPU: tiny checkpoint + HF backend on synthetic benchmarks.

Covers the results files, per-sample media errors, a SIGKILL + resume run, ``--check`` and the launcher.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from video_r1.cli.main import main
from video_r1.evaluation.scoring import aggregate

REPO_ROOT = Path(__file__).resolve().parents[2]
AGG_KEYS = ("n", "n_errors", "mean_acc", "mean_mra", "score")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def synth_records(synthetic_data) -> list[dict]:
    records = json.loads(Path(synthetic_data["test"]).read_text(encoding="utf-8"))
    for rec in records:
        rec["question_type"] = rec["data_source"].removeprefix("synthetic/")
    return records


def write_json(path: Path, records) -> Path:
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def eval_args(checkpoint, out_dir, data_root, *files, extra=()):
    args = [
        "eval",
        "--model_name_or_path",
        str(checkpoint),
        "--backend",
        "hf",
        "--dtype",
        "float32",
        "--device",
        "cpu",
        "--max_frames",
        "16",
        "--max_new_tokens",
        "8",
        "--output_dir",
        str(out_dir),
        "--data_root",
        str(data_root),
        "--no_progress",
    ]
    for name, path in files:
        args += ["--benchmark_file", f"{name}={path}"]
    return args + list(extra)


def test_eval_end_to_end_with_a_broken_sample(tiny_checkpoint, synthetic_data, tmp_path, capsys):
    root = Path(synthetic_data["root"])
    records = synth_records(synthetic_data)
    synth = write_json(tmp_path / "eval_synth.json", records)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(4096))
    good = dict(records[0], problem_id=100)
    missing = dict(records[0], problem_id=101, path=str(tmp_path / "nowhere.mp4"))
    broken_video = dict(records[0], problem_id=102, path=str(corrupt))
    broken = write_json(tmp_path / "eval_broken.json", [good, missing, broken_video])
    out = tmp_path / "out"

    args = eval_args(
        tiny_checkpoint,
        out,
        root,
        ("synth", synth),
        ("broken", broken),
        extra=["--compare", "original"],  # the broken files lie outside the data root, by absolute path
    )
    code = main(args)
    # 2 of 3 "broken" samples are errors: more than the default --max_error_fraction 0.05.
    assert code == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith("video-r1 eval: FAILED: 1 benchmark run(s) have no score: broken 16f: 2 of 3")

    lines = read_lines(out / "synth_16f.jsonl")
    assert [line["key"] for line in lines] == [str(rec["problem_id"]) for rec in records]
    for line, rec in zip(lines, records, strict=True):
        assert line["error"] is None and isinstance(line["output"], str)
        assert line["problem_type"] == rec["problem_type"] and line["solution"] == rec["solution"]
        assert isinstance(line["prediction"], str) and 0.0 <= line["reward"] <= 1.0
        assert line["correct"] == (line["reward"] == 1.0)
        assert 1 <= line["num_tokens"] <= 8
        if rec["data_type"] == "video":
            assert line["sample_fps"] == pytest.approx(2.0)  # 8 frames at 2 fps, all kept
        else:
            assert line["sample_fps"] is None

    broken_lines = {line["key"]: line for line in read_lines(out / "broken_16f.jsonl")}
    assert broken_lines["100"]["error"] is None and isinstance(broken_lines["100"]["output"], str)
    for key, path in (("101", tmp_path / "nowhere.mp4"), ("102", corrupt)):
        line = broken_lines[key]
        assert line["output"] is None and line["reward"] == 0.0 and line["correct"] is False
        assert (
            "MediaError" in line["error"]
            and f"problem_id={key}" in line["error"]
            and str(path) in line["error"]
        )
    assert "(missing)" in broken_lines["101"]["error"]

    results = json.loads((out / "results.json").read_text())
    assert list(results["benchmarks"]) == ["synth", "broken"]
    synth_entry = results["benchmarks"]["synth"]["frames"]["16"]
    assert {k: synth_entry[k] for k in AGG_KEYS} == {k: aggregate(lines)[k] for k in AGG_KEYS}
    assert synth_entry["n"] == len(records) and synth_entry["n_mra"] == sum(
        rec["problem_type"] == "regression" for rec in records
    )
    assert set(synth_entry["per_task"]) == {rec["question_type"] for rec in records}
    broken_entry = results["benchmarks"]["broken"]["frames"]["16"]
    assert broken_entry["n"] == 3 and broken_entry["n_errors"] == 2 and broken_entry["n_scored"] == 1
    assert broken_entry["status"] == "failed" and broken_entry["score"] is None
    assert broken_entry["mean_acc"] is None and "MediaError" in broken_entry["first_errors"][0]
    assert results["failures"] == [broken_entry["failure"]]
    assert results["settings"]["backend"] == "hf" and results["settings"]["max_new_tokens"] == 8

    md = (out / "results.md").read_text()
    assert "| Model | Frames | synth | broken |" in md
    assert f"| ckpt | 16 | {100 * synth_entry['score']:.1f} | failed |" in md
    assert "No published numbers for these benchmarks" in md
    assert "## Failures" in md

    # A looser limit accepts the same results file (nothing is generated again): errors count as 0.
    assert main([*args, "--max_error_fraction", "0.7"]) == 0
    assert read_lines(out / "broken_16f.jsonl") == list(broken_lines.values())
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["broken"]["frames"]["16"]
    assert entry["status"] == "ok" and entry["score"] == pytest.approx(broken_lines["100"]["reward"] / 3)


@pytest.mark.slow
def test_kill_and_resume_scores_every_sample_once(tiny_checkpoint, synthetic_data, tmp_path):
    base = synth_records(synthetic_data)
    records = [dict(base[i % len(base)], problem_id=i) for i in range(24)]
    bench = write_json(tmp_path / "eval_synth.json", records)
    out = tmp_path / "out"
    results_path = out / "synth_16f.jsonl"
    args = eval_args(
        tiny_checkpoint,
        out,
        synthetic_data["root"],
        ("synth", bench),
        extra=["--batch_size", "1", "--max_new_tokens", "24"],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "video_r1.cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results_path.exists() and results_path.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"eval ended before it could be killed: {proc.stderr.read()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    before = results_path.read_bytes()
    complete_before = before[: before.rfind(b"\n") + 1].decode("utf-8").splitlines()
    assert 2 <= len(complete_before) < len(records), len(complete_before)

    assert main(args) == 0
    lines = read_lines(results_path)
    keys = [line["key"] for line in lines]
    assert sorted(keys, key=int) == [str(i) for i in range(24)]  # every sample exactly once
    assert len(set(keys)) == len(keys)
    assert [json.dumps(json.loads(line)) for line in complete_before] == [
        json.dumps(line) for line in lines[: len(complete_before)]
    ]  # lines written before the kill are kept as they were, not regenerated
    entry = json.loads((out / "results.json").read_text())["benchmarks"]["synth"]["frames"]["16"]
    assert {k: entry[k] for k in AGG_KEYS} == {k: aggregate(lines)[k] for k in AGG_KEYS}
    assert entry["n"] == 24


def test_check_lists_missing_and_unreadable_media(synthetic_data, tmp_path, capsys):
    root = Path(synthetic_data["root"])
    records = synth_records(synthetic_data)
    eval_dir = tmp_path / "Evaluation"
    (eval_dir / "MVBench").mkdir(parents=True)
    video = next(rec for rec in records if rec["data_type"] == "video")
    (eval_dir / "MVBench" / "ok.mp4").write_bytes((root / video["path"]).read_bytes())
    (eval_dir / "MVBench" / "garbage.mp4").write_bytes(os.urandom(2048))
    (eval_dir / "MVBench" / "empty.mp4").write_bytes(b"")
    mv = [
        dict(video, problem_id=1, path="./MVBench/ok.mp4"),
        dict(video, problem_id=2, path="./MVBench/ok.mp4"),
        dict(video, problem_id=3, path="./MVBench/missing.mp4"),
        dict(video, problem_id=4, path="./MVBench/missing.mp4"),
        dict(video, problem_id=5, path="./MVBench/empty.mp4"),
        dict(video, problem_id=6, path="./MVBench/garbage.mp4"),
    ]
    write_json(eval_dir / "eval_mvbench.json", mv)
    out = tmp_path / "out"

    common = ["eval", "--check", "--eval_dir", str(eval_dir), "--output_dir", str(out), "--no_progress"]
    assert main([*common, "--benchmarks", "mvbench"]) == 1
    summary = capsys.readouterr().out
    assert "MVBench" in summary and "1 missing" in summary and "1 empty" in summary
    report = (out / "missing_media.txt").read_text().splitlines()
    problems = [line.split("\t") for line in report if not line.startswith("#")]
    by_path = {fields[2]: fields for fields in problems}
    missing_path = str(eval_dir / "MVBench" / "missing.mp4")
    assert by_path[missing_path][:2] == ["mvbench", "missing"] and by_path[missing_path][3] == "2"
    assert by_path[str(eval_dir / "MVBench" / "empty.mp4")][1] == "empty"
    assert str(eval_dir / "MVBench" / "ok.mp4") not in by_path
    assert str(eval_dir / "MVBench" / "garbage.mp4") not in by_path  # only a decode finds it

    assert main([*common, "--benchmarks", "mvbench", "--check_decode"]) == 1
    problems = [line.split("\t") for line in (out / "missing_media.txt").read_text().splitlines()[1:]]
    assert str(eval_dir / "MVBench" / "garbage.mp4") in {fields[2] for fields in problems}

    # A benchmark whose file is absent is reported too; a clean benchmark exits 0.
    assert main([*common, "--benchmarks", "mvbench,videomme"]) == 1
    assert "videomme" in (out / "missing_media.txt").read_text()
    write_json(eval_dir / "eval_mvbench.json", mv[:2])
    assert main([*common, "--benchmarks", "mvbench"]) == 0


def test_check_accepts_shared_storage_and_refuses_parent_steps(synthetic_data, tmp_path, capsys):
    """Absolute paths and a symlinked media folder need no flag; '..' out of the data root does."""
    root = Path(synthetic_data["root"])
    video = next(rec for rec in synth_records(synthetic_data) if rec["data_type"] == "video")
    eval_dir = tmp_path / "Evaluation"
    eval_dir.mkdir()
    (eval_dir / "MVBench").symlink_to(root)  # the benchmark videos live on shared storage
    (tmp_path / "outside.mp4").write_bytes((root / video["path"]).read_bytes())
    records = [
        dict(video, problem_id=1, path=str(root / video["path"])),
        dict(video, problem_id=2, path=f"./MVBench/{video['path']}"),
    ]
    write_json(eval_dir / "eval_mvbench.json", records)
    out = tmp_path / "out"
    common = ["eval", "--check", "--eval_dir", str(eval_dir), "--output_dir", str(out), "--no_progress"]
    common += ["--benchmarks", "mvbench"]
    assert main(common) == 0, capsys.readouterr()

    write_json(eval_dir / "eval_mvbench.json", [*records, dict(video, problem_id=3, path="./../outside.mp4")])
    assert main(common) == 1
    report = (out / "missing_media.txt").read_text()
    assert "problem_id=3: field 'path': media path './../outside.mp4' climbs out of the data root" in report
    assert f"{eval_dir / 'eval_mvbench.json'}:" in report and "--allow_parent_traversal true" in report
    assert main([*common, "--allow_parent_traversal", "true"]) == 0
    capsys.readouterr()
    assert main([*common, "--allow_outside_data_root", "true"]) == 0  # the old name, with a warning
    assert (
        "video-r1 eval: warning: --allow_outside_data_root is deprecated, use --allow_parent_traversal ("
        in (capsys.readouterr().err)
    )
    # a dangling media folder link is missing media, and the report names the link
    (eval_dir / "MVBench").unlink()
    (eval_dir / "MVBench").symlink_to(tmp_path / "unmounted")
    assert main(common[:-2] + ["--benchmarks", "mvbench", "--allow_parent_traversal", "true"]) == 1
    report = (out / "missing_media.txt").read_text()
    assert f"{eval_dir / 'MVBench'} is a dangling symlink to {tmp_path / 'unmounted'}" in report


def test_launcher_help_and_unknown_benchmark(capsys):
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "eval_bench.sh"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    for name in ("EVAL_DIR", "OUTPUT_ROOT", "BENCHMARKS", "MAX_FRAMES", "BACKEND"):
        assert name in result.stdout
    assert "DECORD_EOF_RETRY_MAX=" in (REPO_ROOT / "scripts" / "eval_bench.sh").read_text()
    assert main(["eval", "--check", "--benchmarks", "nosuchbench"]) == 2
    assert "video-r1 eval: error: unknown benchmark(s) nosuchbench" in capsys.readouterr().err


def _recorded_checkpoint(tiny_checkpoint, folder: Path, **record) -> Path:
    """The tiny checkpoint's files (linked) plus a video_r1_run.json as a training run writes it."""
    folder.mkdir()
    for item in Path(tiny_checkpoint).iterdir():
        (folder / item.name).symlink_to(item)
    (folder / "video_r1_run.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_eval_defaults_to_the_preset_the_checkpoint_recorded(
    tiny_checkpoint, synthetic_data, tmp_path, capsys
):
    ckpt = _recorded_checkpoint(tiny_checkpoint, tmp_path / "ckpt", vision_preset="tiny", max_frames=8)
    out = tmp_path / "out"
    args = eval_args(ckpt, out, synthetic_data["root"], ("synth", synthetic_data["test"]))
    args.remove("--max_frames")
    args.remove("16")
    assert main([*args, "--limit", "2"]) == 0
    assert (
        "vision preset: tiny, max_frames 8 (what the checkpoint was trained with" in capsys.readouterr().out
    )
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert settings["preset"] == "tiny" and settings["frames"] == [8]
    tiny = settings["preset_settings"]["8"]
    assert tiny["name"] == "tiny" and tiny["video_max_pixels"] == 16 * 28 * 28
    assert [row["sample_fps"] for row in read_lines(out / "synth_8f.jsonl") if row["sample_fps"]]


def test_eval_preset_flag_and_the_paper_protocol_for_train_runs(tiny_checkpoint, tmp_path):
    from video_r1.cli.eval import parse

    tiny = _recorded_checkpoint(tiny_checkpoint, tmp_path / "tiny", vision_preset="tiny", max_frames=None)
    config = parse(["--model_name_or_path", str(tiny), "--backend", "hf"])
    assert (config.vision_preset, config.max_frames) == ("tiny", [16])  # the preset's own cap
    config = parse(["--model_name_or_path", str(tiny), "--backend", "hf", "--vision_preset", "eval"])
    assert (config.vision_preset, config.max_frames, config.vision_note) == ("eval", [32], "")
    train = _recorded_checkpoint(tiny_checkpoint, tmp_path / "train", vision_preset="train", max_frames=16)
    config = parse(["--model_name_or_path", str(train), "--backend", "hf"])
    assert (config.vision_preset, config.max_frames) == ("eval", [32])  # trained on train: eval as the paper
    assert "the paper's evaluation preset" in config.vision_note
    config = parse(["--model_name_or_path", str(tiny_checkpoint), "--backend", "hf"])  # no record
    assert (config.vision_preset, config.max_frames, config.vision_note) == ("eval", [32], "")
