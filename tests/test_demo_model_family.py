"""``video-r1 demo --model_family``: the recipe field that picks the tiny model's family."""

from __future__ import annotations

import pytest


def test_model_family_flag_reaches_the_recipe_and_bad_families_are_one_error(monkeypatch, tmp_path, capsys):
    import video_r1.demo as demo_package
    from video_r1.cli.main import main

    seen = {}
    monkeypatch.setattr(demo_package, "run_demo", lambda output_dir, recipe, **kw: seen.update(recipe=recipe))
    assert main(["demo", "--output_dir", str(tmp_path), "--model_family", "qwen3_vl"]) == 0
    assert seen["recipe"].model_family == "qwen3_vl"
    assert main(["demo", "--output_dir", str(tmp_path)]) == 0
    assert seen["recipe"].model_family == "qwen2_5_vl"  # the paper's model stays the default
    capsys.readouterr()
    assert main(["demo", "--output_dir", str(tmp_path), "--model_family", "qwen3_vl_moe"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("video-r1 demo: error:") and "model_family qwen3_vl_moe" in last


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen3_5"])
def test_the_pipeline_builds_the_family_tiny_model(family, tmp_path):
    """What run_seed's first stage calls: the family's builder with the recipe's TinySize fields."""
    from video_r1.demo.recipe import load_recipe
    from video_r1.models.family import family_for
    from video_r1.testing.tiny_families import build_tiny

    recipe = load_recipe(None)
    path = build_tiny(family, tmp_path / "m", seed=0, **recipe["model"])
    assert family_for(str(path)).model_type == family


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen3_5"])
def test_quick_demo_runs_every_stage_on_the_family(family, tmp_path):
    """``video-r1 demo --quick --model_family F``: every stage (SFT, T-GRPO with its shuffled rollout, the
    held-out evaluations) runs on the family's tiny model, and the checkpoints it writes are of that family."""
    import json

    from video_r1.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--no_progress", "--model_family", family, "--output_dir", str(out)]) == 0
    for stage_dir in ("model_init", "sft", "grpo"):
        assert json.loads((out / stage_dir / "config.json").read_text())["model_type"] == family
    report = json.loads((out / "report.json").read_text())
    assert set(report["stages"]) == {"base", "sft", "grpo"}
    assert all(stage["n"] > 0 and stage["n_errors"] == 0 for stage in report["stages"].values())
    state = json.loads((out / "grpo" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    steps = [entry for entry in state["log_history"] if "temporal/shuffled_accuracy" in entry]
    assert len(steps) == 2  # the shuffled rollout ran at every step
