"""``video-r1 demo``: the --quick pipeline end to end, the recipe loader and the shuffled-frame evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from video_r1.demo import (
    DEFAULT_CONFIG,
    REPORT_STAGES,
    load_recipe,
    permute_sample_frames,
    sample_permutation,
    short_cot,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_quick_demo_end_to_end(tmp_path, stock_mrope):
    from video_r1.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--no_progress", "--output_dir", str(out)]) == 0
    # the demo installed the released Qwen2.5-VL positions itself (it started from transformers' own)
    assert getattr(stock_mrope.get_rope_index, "video_r1_released", False)

    report = json.loads((out / "report.json").read_text())
    assert set(report["stages"]) == set(REPORT_STAGES)
    for stage in REPORT_STAGES:
        values = report["stages"][stage]
        for key in ("accuracy", "accuracy_shuffled"):
            assert isinstance(values[key], float) and 0.0 <= values[key] <= 1.0, (stage, key, values[key])
        assert values["n"] > 0
        assert 0.0 <= values["accuracy_eval_wording"] <= 1.0  # the recipe's eval.compare_variant
    assert isinstance(report["wall_seconds"], float) and math.isfinite(report["wall_seconds"])
    assert report["wall_seconds"] > 0
    assert report["settings"]["quick"] is True
    assert any("--quick" in note for note in report["notes"])

    markdown = (out / "report.md").read_text()
    for stage in REPORT_STAGES:
        assert f"| {stage} |" in markdown
    png = (out / "curves.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    # The stage outputs are real checkpoints.
    for stage_dir in ("model_init", "sft", "grpo"):
        assert (out / stage_dir / "config.json").is_file()


def test_recipe_quick_section_is_merged():
    full = load_recipe(DEFAULT_CONFIG)
    quick = load_recipe(DEFAULT_CONFIG, quick=True)
    assert "quick" not in full and "quick" not in quick
    assert quick["sft"]["max_steps"] < full["sft"]["max_steps"]
    assert quick["grpo"]["max_steps"] < full["grpo"]["max_steps"]
    # Keys the quick section does not set are kept from the full recipe.
    assert quick["sft"]["learning_rate"] == full["sft"]["learning_rate"]
    assert quick["model"] == full["model"]


def test_recipe_rejects_unknown_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 0\nmodle: {}\n")
    with pytest.raises(ValueError, match="modle"):
        load_recipe(path)
    path.write_text("data: {num_trian: 3}\n")
    with pytest.raises(ValueError, match="num_trian"):
        load_recipe(path)


def test_short_cot_compacts_the_direction_think():
    process = (
        "<think>The red square is on the left in the first frame and in the middle in the last frame, "
        "so it moves right.</think>"
    )
    assert short_cot(process) == "<think>First frame: left. Last frame: middle. So it moves right.</think>"
    other = "<think>The blue square appears first.</think>"
    assert short_cot(other) == other


def test_sample_permutation_is_seeded_and_never_identity():
    perms = [sample_permutation(8, seed=0, key=str(k)) for k in range(50)]
    for perm in perms:
        assert sorted(perm.tolist()) == list(range(8))
        assert perm.tolist() != list(range(8))
    assert torch.equal(sample_permutation(8, 0, "7"), perms[7])  # same (seed, key) -> same order
    assert len({tuple(p.tolist()) for p in perms}) > 40  # keys give different orders
    assert not torch.equal(sample_permutation(8, 1, "7"), perms[7]) or not torch.equal(
        sample_permutation(8, 1, "8"), perms[8]
    )


@pytest.fixture(scope="module")
def prepared_video(tiny_checkpoint, synthetic_data):
    from transformers import AutoProcessor

    from video_r1.data.records import load_records
    from video_r1.data.vision import get_preset
    from video_r1.inference import GenerationRequest, PreparedSample, prepare_sample

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    record = next(dict(r) for r in load_records(synthetic_data["test"]) if r["data_type"] == "video")
    sample = prepare_sample(
        GenerationRequest(str(record["problem_id"]), record, variant="train"), processor, get_preset("tiny")
    )
    assert isinstance(sample, PreparedSample)
    return processor, record, sample


def test_permute_sample_frames_permutes_frames_and_keeps_text(prepared_video):
    _, _, sample = prepared_video
    shuffled = permute_sample_frames(sample, seed=0)
    perm = shuffled.info["permutation"]
    frames, original = shuffled.media["frames"], sample.media["frames"]
    assert sorted(perm) == list(range(original.shape[0])) and perm != sorted(perm)
    assert torch.equal(frames, original[torch.tensor(perm)])
    assert not torch.equal(frames, original)  # the synthetic frames all differ, so the order really changed
    assert shuffled.text == sample.text and shuffled.key == sample.key
    assert shuffled.media["video_metadata"] == sample.media["video_metadata"]
    assert sample.media["frames"] is original and "permutation" not in sample.info  # input untouched


def test_shuffled_backend_feeds_permuted_frames(tiny_checkpoint, prepared_video):
    from video_r1.data.vision import get_preset
    from video_r1.demo import ShuffledFramesHFBackend
    from video_r1.inference import GenerationRequest, SamplingConfig

    processor, record, sample = prepared_video
    request = GenerationRequest(sample.key, record, variant="train")
    kwargs = dict(
        preset=get_preset("tiny"),
        sampling=SamplingConfig(temperature=0, max_new_tokens=4),
        device="cpu",
        processor=processor,
    )
    with ShuffledFramesHFBackend(str(tiny_checkpoint), shuffle_seed=3, **kwargs) as backend:
        (shuffled,) = backend._prepare_batch([request])
        (result,) = backend.generate([request])
    with ShuffledFramesHFBackend(str(tiny_checkpoint), shuffle_seed=None, **kwargs) as backend:
        (ordered,) = backend._prepare_batch([request])
    perm = torch.tensor(shuffled.info["permutation"])
    assert torch.equal(shuffled.media["frames"], ordered.media["frames"][perm])
    assert torch.equal(perm, sample_permutation(ordered.media["frames"].shape[0], 3, sample.key))
    assert shuffled.text == ordered.text
    assert result.error is None and isinstance(result.output, str)


def test_demo_script_passes_arguments():
    script = Path(__file__).resolve().parents[1] / "scripts" / "demo.sh"
    text = script.read_text()
    assert "video_r1.cli.main demo --output_dir runs/demo" in text and '"$@"' in text
