"""``video-r1 eval --backend hf`` (tiny Qwen3-VL and Qwen3.5) and ``video-r1 annotate --backend hf`` (tiny
Qwen3-VL).

The family comes from the checkpoint's config: frames and images are sized in multiples of 32 (Qwen3-VL's
patch 16 x merge 2; frames of 28-multiples make its processor fail, so every sample would be an error).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from video_r1.cli.main import main


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("checkpoint", ["tiny_qwen3_vl_checkpoint", "tiny_qwen3_5_checkpoint"])
def test_eval_hf_on_qwen3_vl(checkpoint, request, synthetic_data, tmp_path):
    """Qwen3-VL and Qwen3.5 (the same timestamped video processing) through ``eval --backend hf``."""
    tiny_qwen3_vl_checkpoint = request.getfixturevalue(checkpoint)
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
    # Qwen3.5's generation prompt opens the think block: the stored output starts with it (Qwen3-VL's does not)
    opened = [line["output"].startswith("<think>\n") for line in lines]
    assert opened == [checkpoint == "tiny_qwen3_5_checkpoint"] * len(lines)
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


def test_vllm_backend_requests_follow_the_family():
    """``VLLMBackend`` builds its prompts with the model's family: for Qwen3-VL vLLM may not resize the
    video (videos_kwargs only; its image processor would resize preset-sized images), Qwen2.5-VL unchanged."""
    import torch

    from video_r1.inference.requests import PreparedSample, build_vllm_requests
    from video_r1.models.family import QWEN2_5_VL, QWEN3_VL

    metadata = {
        "total_num_frames": 40,
        "video_fps": 10.0,
        "frames_indices": [0, 5, 10, 15],
        "sample_fps": 2.0,
    }
    media = {
        "type": "video",
        "frames": torch.zeros(4, 3, 64, 64, dtype=torch.uint8),
        "video_metadata": metadata,
    }
    sample = PreparedSample(key="1", text="<|vision_start|><|video_pad|><|vision_end|>Q", media=media)
    (qwen3,) = build_vllm_requests([sample], family=QWEN3_VL)
    assert qwen3["prompt"] == sample.text
    assert qwen3["mm_processor_kwargs"] == {"do_sample_frames": False, "videos_kwargs": {"do_resize": False}}
    frames, md = qwen3["multi_modal_data"]["video"]
    assert frames.shape == (4, 64, 64, 3) and md["fps"] == 10.0 and md["frames_indices"] == [0, 5, 10, 15]
    assert (
        build_vllm_requests([sample], family=QWEN2_5_VL)[0]["mm_processor_kwargs"]
        == build_vllm_requests([sample])[0]["mm_processor_kwargs"]
        == {"do_sample_frames": False, "do_resize": False}
    )
