"""The eval runner with a scripted backend: records, scoring lines, resume, settings, reports, registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from video_r1.evaluation.benchmarks import BENCHMARK_NAMES, BENCHMARKS, PUBLISHED, Benchmark, benchmark_file
from video_r1.evaluation.runner import EvalConfig, SettingsMismatchError, run_eval
from video_r1.evaluation.samples import load_benchmark_samples
from video_r1.evaluation.scoring import aggregate
from video_r1.inference import GenerationResult


def record(pid, problem_type="multiple choice", answer="A", **extra):
    rec = {
        "problem_id": pid,
        "problem": f"question {pid}?",
        "data_type": "video",
        "problem_type": problem_type,
        "options": ["A. yes", "B. no"] if problem_type == "multiple choice" else [],
        "solution": f"<answer>{answer}</answer>",
        "path": f"./videos/{pid}.mp4",
        "data_source": "unit",
    }
    rec.update(extra)
    return rec


class ScriptedBackend:
    """Answers each record with a scripted output; counts which keys were generated."""

    def __init__(self, outputs):
        self.outputs = outputs  # key -> output str, or Exception for a per-sample error
        self.requested: list[str] = []
        self.preset = None

    def iter_generate(self, requests, progress=True):
        for request in requests:
            self.requested.append(request.key)
            assert request.variant == "eval"
            assert "media_path" in request.record
            out = self.outputs.get(request.key, "<answer>A</answer>")
            if isinstance(out, Exception):
                yield GenerationResult(request.key, None, error=f"{type(out).__name__}: {out}")
            else:
                yield GenerationResult(request.key, out, num_tokens=3, sample_fps=2.0)


def write(path: Path, records, jsonl=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if jsonl:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def config_for(tmp_path, benchmarks, **overrides):
    fields = dict(
        model_name_or_path="fake-model",
        benchmarks=list(benchmarks),
        output_dir=str(tmp_path / "out"),
        benchmark_file=[f"{name}={path}" for name, path in benchmarks.items()],
        max_frames=[16],
        backend="hf",
        progress=False,
    )
    fields.update(overrides)
    return EvalConfig(**fields)


def read_lines(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------------


def test_registry_order_names_and_published_rows():
    assert BENCHMARK_NAMES == ("vsibench", "videommmu", "mmvu", "mvbench", "tempcompass", "videomme")
    assert [BENCHMARKS[n].display for n in BENCHMARK_NAMES] == [
        "VSI-Bench",
        "VideoMMMU",
        "MMVU",
        "MVBench",
        "TempCompass",
        "VideoMME",
    ]
    assert BENCHMARKS["vsibench"].headline == "acc_mra"
    assert all(BENCHMARKS[n].headline == "acc" for n in BENCHMARK_NAMES[1:])
    by_frames = {row.frames: [row.scores[n] for n in BENCHMARK_NAMES] for row in PUBLISHED if row.frames}
    assert by_frames == {
        16: [34.6, 49.8, 64.2, 62.7, 72.6, 57.4],
        32: [35.8, 52.3, 63.8, 63.9, 73.2, 59.3],
        64: [37.1, 52.4, 63.8, 64.8, 73.2, 61.4],
    }
    assert all(row.source for row in PUBLISHED)


def test_benchmark_file_prefers_json_then_jsonl(tmp_path):
    bench = BENCHMARKS["mvbench"]
    assert benchmark_file(bench, tmp_path) == tmp_path / "eval_mvbench.json"  # missing: the .json name
    write(tmp_path / "eval_mvbench.jsonl", [record(1)], jsonl=True)
    assert benchmark_file(bench, tmp_path) == tmp_path / "eval_mvbench.jsonl"


def test_load_samples_jsonl_bad_records_and_duplicate_ids(tmp_path):
    bad = record(2)
    del bad["problem_type"]
    records = [record(1), bad, record(1), {"problem": "no id"}, record(3)]
    path = write(tmp_path / "bench.jsonl", records, jsonl=True)
    _, samples = load_benchmark_samples(Benchmark("b", "b", file=str(path)), eval_dir=None)
    assert [s.key for s in samples] == ["1", "2", "1#2", "line4", "3"]
    assert samples[0].error is None and samples[0].record["media_path"] == str(tmp_path / "videos" / "1.mp4")
    assert (
        "problem_id=2" in samples[1].error
        and "problem_type" in samples[1].error
        and str(path) in samples[1].error
    )
    assert samples[3].error is not None and "problem_id" in samples[3].error
    _, limited = load_benchmark_samples(Benchmark("b", "b", file=str(path)), eval_dir=None, limit=2)
    assert [s.key for s in limited] == ["1", "2"]


def test_run_scores_lines_and_reports(tmp_path):
    no_type = record(5)
    del no_type["problem_type"]
    vsi = write(
        tmp_path / "vsi.json",
        [
            record(1, question_type="count"),
            record(2, question_type="count"),
            record(3, "regression", answer="10", question_type="size"),
            record(4, "numerical", answer="3", question_type="count"),
            no_type,
        ],
    )
    mv = write(tmp_path / "mv.json", [record(1), record(2, answer="C")])
    outputs = {
        "1": "<think>hmm</think><answer>A</answer>",
        "2": "B",  # untagged: whole output
        "3": "<answer>11</answer>",  # MRA 0.9
        "4": RuntimeError("video decode failed"),
    }
    backend = ScriptedBackend(outputs)
    config = config_for(
        tmp_path, {"vsibench": vsi, "mvbench": mv}, compare="original", max_error_fraction=0.5
    )
    results = run_eval(config, backend_factory=lambda frames: backend)

    lines = read_lines(Path(config.output_dir) / "vsibench_16f.jsonl")
    by_key = {line["key"]: line for line in lines}
    assert set(by_key) == {"1", "2", "3", "4", "5"}
    assert by_key["1"]["prediction"] == "A" and by_key["1"]["correct"] is True
    assert by_key["1"]["process"] == "<think>hmm</think>" and by_key["1"]["sample_fps"] == 2.0
    assert by_key["1"]["question_type"] == "count" and by_key["1"]["solution"] == "<answer>A</answer>"
    assert (
        by_key["2"]["prediction"] == "B" and by_key["2"]["reward"] == 0.0 and by_key["2"]["process"] is None
    )
    assert by_key["3"]["reward"] == pytest.approx(0.9) and by_key["3"]["correct"] is False
    assert by_key["4"]["error"] == "RuntimeError: video decode failed" and by_key["4"]["reward"] == 0.0
    assert by_key["5"]["output"] is None and "problem_type" in by_key["5"]["error"]
    assert sorted(backend.requested) == ["1", "1", "2", "2", "3", "4"]  # record 5 never reaches the model

    vsi_entry = results["benchmarks"]["vsibench"]["frames"]["16"]
    assert vsi_entry["n"] == 5 and vsi_entry["n_errors"] == 2
    assert vsi_entry["mean_acc"] == pytest.approx(1 / 4)  # 1, 0, error, error
    assert vsi_entry["mean_mra"] == pytest.approx(0.9)
    assert vsi_entry["score"] == pytest.approx((0.25 + 0.9) / 2)
    assert vsi_entry["n_scored"] == 3 and vsi_entry["status"] == "ok"  # 2 of 5 errors, under the limit below
    assert vsi_entry["official"]["score"] is None  # record 5 has no question_type
    assert "no question_type/original_question_type" in vsi_entry["official"]["notes"][0]
    mv_entry = results["benchmarks"]["mvbench"]["frames"]["16"]
    assert mv_entry["score"] == pytest.approx(0.5) and mv_entry["mean_mra"] is None
    assert mv_entry["official"]["score"] is None  # no task field

    saved = json.loads((Path(config.output_dir) / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["settings"]["temperature"] == 0.1 and saved["settings"]["top_p"] == 0.001
    assert saved["settings"]["max_new_tokens"] == 1024 and saved["settings"]["preset"] == "eval"
    md = (Path(config.output_dir) / "results.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0] == "| Model | Frames | VSI-Bench | MVBench |"
    assert table[1] == f"| fake-model | 16 | {100 * (0.25 + 0.9) / 2:.1f} | 50.0 |"
    assert table[2] == "| Video-R1-7B (published) | 16 | 34.6 | 62.7 |"


def test_resume_skips_done_samples_and_aggregates_the_whole_file(tmp_path):
    bench = write(tmp_path / "b.json", [record(i, answer="A" if i % 2 else "B") for i in range(1, 7)])
    first = ScriptedBackend({})
    config = config_for(tmp_path, {"b": bench}, limit=3)
    run_eval(config, backend_factory=lambda frames: first)
    assert first.requested == ["1", "2", "3"]

    second = ScriptedBackend({})
    config = config_for(tmp_path, {"b": bench})
    results = run_eval(config, backend_factory=lambda frames: second)
    assert second.requested == ["4", "5", "6"]
    lines = read_lines(Path(config.output_dir) / "b_16f.jsonl")
    assert [line["key"] for line in lines] == ["1", "2", "3", "4", "5", "6"]
    entry = results["benchmarks"]["b"]["frames"]["16"]
    assert entry["n"] == 6 and entry["mean_acc"] == pytest.approx(0.5)
    assert {k: entry[k] for k in ("n", "mean_acc", "mean_mra", "score")} == {
        k: aggregate(lines)[k] for k in ("n", "mean_acc", "mean_mra", "score")
    }

    third = ScriptedBackend({})  # nothing left: the backend is never asked
    run_eval(config, backend_factory=lambda frames: third)
    assert third.requested == []


def test_retry_errors_regenerates_only_error_lines(tmp_path):
    bench = write(tmp_path / "b.json", [record(1), record(2)])
    run_eval(
        config_for(tmp_path, {"b": bench}),
        backend_factory=lambda frames: ScriptedBackend({"2": OSError("disk")}),
    )
    again = ScriptedBackend({})
    results = run_eval(config_for(tmp_path, {"b": bench}, retry_errors=True), backend_factory=lambda f: again)
    assert again.requested == ["2"]
    assert results["benchmarks"]["b"]["frames"]["16"]["n_errors"] == 0


def test_resume_with_other_model_or_decoding_is_refused(tmp_path):
    bench = write(tmp_path / "b.json", [record(1), record(2)])
    run_eval(config_for(tmp_path, {"b": bench}, limit=1), backend_factory=lambda f: ScriptedBackend({}))
    with pytest.raises(SettingsMismatchError, match="temperature"):
        run_eval(
            config_for(tmp_path, {"b": bench}, temperature=0.7), backend_factory=lambda f: ScriptedBackend({})
        )
    with pytest.raises(SettingsMismatchError, match="model"):
        run_eval(
            config_for(tmp_path, {"b": bench}, model_name_or_path="other"),
            backend_factory=lambda f: ScriptedBackend({}),
        )


def test_missing_benchmark_file_fails_before_any_model(tmp_path):
    config = EvalConfig(
        model_name_or_path="m", benchmarks=["mvbench"], output_dir=str(tmp_path / "o"), eval_dir=str(tmp_path)
    )

    def factory(frames):
        raise AssertionError("no model may be loaded")

    with pytest.raises(FileNotFoundError, match="eval_mvbench.json"):
        run_eval(config, backend_factory=factory)


def test_model_loaded_once_and_preset_follows_the_frame_count(tmp_path, monkeypatch):
    import video_r1.inference as inference

    bench = write(tmp_path / "b.json", [record(1), record(2)])
    calls = []

    class PresetRecorder(ScriptedBackend):
        def iter_generate(self, requests, progress=True):
            self.seen_frames = getattr(self, "seen_frames", []) + [self.preset.max_frames]
            yield from super().iter_generate(requests, progress)

        def close(self):
            calls.append("close")

    def fake_load_backend(name, model, options, **kwargs):
        calls.append(
            (name, model, options.preset.max_frames, options.sampling.temperature, options.batch_size)
        )
        backend = PresetRecorder({})
        backend.preset = options.preset
        fake_load_backend.backend = backend
        return backend

    monkeypatch.setattr(inference, "load_backend", fake_load_backend)
    config = config_for(tmp_path, {"b": bench}, max_frames=[16, 32])
    results = run_eval(config)
    assert calls == [("hf", "fake-model", 16, 0.1, 4), "close"]
    assert fake_load_backend.backend.seen_frames == [16, 32]
    assert fake_load_backend.backend.preset.video_max_pixels == 256 * 28 * 28
    assert set(results["benchmarks"]["b"]["frames"]) == {"16", "32"}
    assert (Path(config.output_dir) / "b_32f.jsonl").is_file()
