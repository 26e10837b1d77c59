"""``video-r1 eval --backend hf`` and ``video-r1 annotate --backend hf`` on the tiny Qwen3-VL checkpoint.

The family comes from the checkpoint's config: frames and images are sized in multiples of 32 (Qwen3-VL's
patch 16 x merge 2; frames of 28-multiples make its processor fail, so every sample would be an error).
"""

from __future__ import annotations

import json
from pathlib import Path

from video_r1.cli.main import main


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_eval_hf_on_qwen3_vl(tiny_qwen3_vl_checkpoint, synthetic_data, tmp_path):
    records = json.loads(Path(synthetic_data["test"]).read_text(encoding="utf-8"))[:4]
    assert {r["data_type"] for r in records} == {"video", "image"}
    bench = tmp_path / "synth.json"
    bench.write_text(json.dumps(records), encoding="utf-8")
    out = tmp_path / "out"
    # fmt: off
    code = main([
        "eval", "--model_name_or_path", str(tiny_qwen3_vl_checkpoint), "--backend", "hf", "--dtype", "float32",
        "--device", "cpu", "--max_frames", "8", "--max_new_tokens", "4", "--output_dir", str(out),
        "--data_root", str(synthetic_data["root"]), "--benchmark_file", f"synth={bench}", "--no_progress",
    ])
    # fmt: on
    assert code == 0
    lines = _lines(out / "synth_8f.jsonl")
    assert [line["key"] for line in lines] == [str(r["problem_id"]) for r in records]
    assert all(line["error"] is None and isinstance(line["output"], str) for line in lines)
    assert all(1 <= line["num_tokens"] <= 4 for line in lines)
    settings = json.loads((out / "synth_8f.settings.json").read_text(encoding="utf-8"))
    assert settings["preset"]["size_factor"] == 32


def test_annotate_hf_on_qwen3_vl(tiny_qwen3_vl_checkpoint, synthetic_data, tmp_path):
    train = json.loads(Path(synthetic_data["train"]).read_text(encoding="utf-8"))
    records = [r for r in train if r["data_type"] == "video"][:2] + [
        r for r in train if r["data_type"] == "image"
    ][:2]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(records), encoding="utf-8")
    out = tmp_path / "annotated"
    # fmt: off
    code = main([
        "annotate", "--model_name_or_path", str(tiny_qwen3_vl_checkpoint), "--dataset_name", str(source),
        "--data_root", str(synthetic_data["root"]), "--output_dir", str(out), "--backend", "hf",
        "--device", "cpu", "--dtype", "float32", "--preset", "tiny", "--batch_size", "2",
        "--max_new_tokens", "4", "--no_progress",
    ])
    # fmt: on
    assert code == 0
    raw = _lines(out / "raw.jsonl")
    assert [line["key"] for line in raw] == [str(r["problem_id"]) for r in records]
    assert all(line["error"] is None and isinstance(line["output"], str) for line in raw)
    assert all(line["num_tokens"] >= 1 for line in raw)
