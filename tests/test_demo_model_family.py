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
