"""The shortcut ablation of ``video-r1 demo`` (issue 22): named arms from the recipe, the arms compared with
the first one paired by seed, the held-out accuracy split by the shortcut cue, and the --quick run end to end."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from video_r1.demo.compare import compare_arms, mean_se, render_comparison_markdown
from video_r1.demo.evaluate import cue_split
from video_r1.demo.recipe import RECIPES, DemoRecipe, read_recipe

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHORTCUT_ARMS = {
    "grpo": {"temporal": False},
    "tgrpo": {},
    "tgrpo_batch": {"scale_rewards": "batch"},
    "tgrpo_none": {"scale_rewards": "none"},
    "tgrpo_adv": {"temporal_mode": "bonus_advantage"},
    "tgrpo_gap": {"temporal_mode": "order_gap"},
    "tgrpo_gap_c": {"temporal_mode": "order_gap", "temporal_center": True},
    "tgrpo_gap_c_a1": {"temporal_mode": "order_gap", "temporal_center": True, "temporal_alpha": 1.0},
    "tgrpo_adv_c": {"temporal_mode": "bonus_advantage", "temporal_center": True},
}


def _arms_trainer_accepts(recipe: DemoRecipe) -> list[str]:
    """The recipe's arms whose settings are all TGRPOConfig fields in this checkout (temporal_mode arrives
    with issue 22's trainer variants; until then those arms are left out of the end-to-end run)."""
    from video_r1.trainers import TGRPOConfig

    fields = {f.name for f in dataclasses.fields(TGRPOConfig)}
    return [name for name, over in recipe.arm_overrides().items() if set(over) <= fields]


def test_shortcut_recipe_is_packaged_with_the_issue_arms():
    recipe = read_recipe("shortcut")
    assert RECIPES["shortcut"].name == "demo_shortcut.yaml" and RECIPES["shortcut"].is_file()
    assert recipe.arm_overrides() == SHORTCUT_ARMS
    assert list(recipe.arms)[0] == "grpo"  # the baseline
    assert len(recipe.ablation_seeds) >= 5
    assert recipe.data["shortcut_cue"] in ("colour", "background", "row")
    assert recipe.data["cue_agreement"] > 0.5 and recipe.data["test_cue_agreement"] == 0.5
    assert recipe.grpo["temporal"] is True and recipe.grpo["scale_rewards"] == "group"
    quick = recipe.with_quick()
    assert quick.ablation_seeds == recipe.ablation_seeds and quick.grpo["max_steps"] <= 2
    # the default recipe's arms are the original ablation's, GRPO first
    default = read_recipe("cpu")
    assert default.arm_overrides() == {"grpo_no_temporal": {"temporal": False}, "grpo": {}}
    assert default.arm_labels() == {"grpo_no_temporal": "GRPO", "grpo": "T-GRPO"}


def test_arms_are_checked():
    with pytest.raises(ValueError, match="bad arm name 'sft'"):
        DemoRecipe(arms={"sft": {}})
    with pytest.raises(ValueError, match="arms.x must be a mapping"):
        DemoRecipe(arms={"x": 3})
    with pytest.raises(ValueError, match="at least one RL arm"):
        DemoRecipe(arms={})
    recipe = DemoRecipe(arms={"a": {"temporal": False}, "b": {"temporl": True}})
    with pytest.raises(ValueError, match=r"unknown arm\(s\) \['c'\]"):
        recipe.arm_overrides(["c"])
    assert list(recipe.arm_overrides(["b", "a"])) == ["a", "b"]  # the recipe's order
    recipe.check_trainer_sections()  # sft/grpo only by default
    with pytest.raises(ValueError, match=r"unknown arms.b key\(s\) \['temporl'\]"):
        recipe.check_trainer_sections(None)


def test_cue_split_of_the_held_out_scores():
    records = [{"cue_agrees": True}] * 3 + [{"cue_agrees": False}] * 2 + [{}]
    split = cue_split(records, [1, 1, 0, 0, 1, 1], [1, 1, 1, 0, 0, 0])
    assert split == {
        "accuracy_cue_agrees": pytest.approx(2 / 3),
        "accuracy_cue_disagrees": 0.5,
        "accuracy_shuffled_cue_agrees": 1.0,
        "accuracy_shuffled_cue_disagrees": 0.0,
        "n_cue_agrees": 3,
        "n_cue_disagrees": 2,
    }
    assert cue_split([{}, {"cue_agrees": None}], [1, 0], [0, 0]) == {}


def _stage(
    acc: float, shuffled: float = 0.5, agrees: float | None = None, disagrees: float | None = None
) -> dict:
    stage = {"accuracy": acc, "accuracy_shuffled": shuffled, "format_rate": 1.0, "format_rate_shuffled": 1.0,
             "n": 200, "n_errors": 0, "scores": [1.0] * round(acc * 200) + [0.0] * (200 - round(acc * 200))}  # fmt: skip
    if agrees is not None:
        stage.update(accuracy_cue_agrees=agrees, accuracy_cue_disagrees=disagrees)
    return stage


def _log(acc: float, shuffled: float | None, moved: float | None, steps: int = 4) -> list[dict]:
    log = []
    for step in range(1, steps + 1):
        entry = {"step": step, "rewards/accuracy_reward/mean": acc if step > steps // 2 else 0.0, "reward": acc,
                 "completions/mean_length": 20.0}  # fmt: skip
        if shuffled is not None:
            entry.update({"temporal/bonus_rate": 0.9, "temporal/shuffled_accuracy": shuffled})
        if moved is not None:
            entry.update({"temporal/adv_moved_frac": moved * step / 2.5, "temporal/adv_abs_change": 0.01})
        log.append(entry)
    log.append({"train_runtime": 1.0, "step": steps})  # a summary entry without metrics
    return log


#: seed -> held-out ordered accuracy of grpo / tgrpo / tgrpo_none
RESULTS = {0: (0.50, 0.52, 0.70), 1: (0.55, 0.50, 0.66), 2: (0.60, 0.61, 0.75), 3: (0.52, 0.55, 0.60), 4: (0.50, 0.49, 0.72)}  # fmt: skip


def _fake_run(seed: int) -> dict:
    grpo, tgrpo, gap = RESULTS[seed]
    return {
        "seed": seed,
        "stages": {
            "base": _stage(0.0, 0.0),
            "sft": _stage(0.5, 0.5, 1.0, 0.0),
            "grpo": _stage(grpo, 0.5, 1.0, 0.0),
            "tgrpo": _stage(tgrpo, 0.5, 1.0, 0.0),
            "tgrpo_none": _stage(gap, 0.5, 0.9, 0.5),
        },
        "logs": {
            "sft": [{"step": 1, "loss": 1.0}],
            "grpo": _log(0.9, None, None),
            "tgrpo": _log(0.9, 0.9, 0.0),
            "tgrpo_none": _log(0.8, 0.6, 0.5),
        },
        "seconds": {"sft": {"wall": 1.0, "cpu": 1.0}},
        "frame_cache": {"items": 1, "decodes": 1, "hits": 1},
        "parameters": 1,
        "cot_style": "short",
    }


def test_ablation_compares_every_arm_with_the_first_paired_by_seed(tmp_path, monkeypatch):
    import video_r1.demo.pipeline as pipeline

    calls = []

    def fake_run_seed(recipe, seed, out, *, arms, progress, banner_prefix=""):
        calls.append((seed, dict(arms)))
        out.mkdir(parents=True, exist_ok=True)
        return _fake_run(seed)

    monkeypatch.setattr(pipeline, "run_seed", fake_run_seed)
    recipe = read_recipe("shortcut")
    report = pipeline.run_demo(
        tmp_path, recipe, ablation=True, progress=False, run_arms=["tgrpo_none", "grpo", "tgrpo"]
    )
    # the selected arms in the recipe's order, their TGRPOConfig overrides, 5 seeds
    assert [seed for seed, _ in calls] == [0, 1, 2, 3, 4]
    assert calls[0][1] == {"grpo": {"temporal": False}, "tgrpo": {}, "tgrpo_none": {"scale_rewards": "none"}}

    comparison = report["ablation"]["comparison"]
    assert comparison["baseline"] == "grpo" and comparison["seeds"] == [0, 1, 2, 3, 4]
    arms = comparison["arms"]
    ordered = arms["tgrpo_none"]["metrics"]["heldout_ordered"]
    values = [RESULTS[s][2] for s in range(5)]
    mean = sum(values) / 5
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 4)
    assert ordered["mean"] == pytest.approx(mean) and ordered["se"] == pytest.approx(std / math.sqrt(5))
    assert arms["tgrpo_none"]["metrics"]["heldout_cue_disagrees"]["mean"] == pytest.approx(0.5)
    # RL metrics from the logs: accuracy over the second half of the steps, advantage effect over all steps
    assert arms["grpo"]["metrics"]["train_accuracy"]["mean"] == pytest.approx(0.9)
    assert arms["grpo"]["metrics"]["train_shuffled_accuracy"] is None  # GRPO has no shuffled rollouts
    assert arms["tgrpo"]["metrics"]["train_shuffled_accuracy"]["mean"] == pytest.approx(0.9)
    assert arms["tgrpo_none"]["metrics"]["temporal_adv_moved_frac"]["mean"] == pytest.approx(0.5)
    assert arms["tgrpo_none"]["metrics"]["length_adv_moved_frac"] is None
    # paired differences: tgrpo_none - grpo = 0.20 0.11 0.15 0.08 0.22 -> beats; tgrpo - grpo does not
    gap = arms["tgrpo_none"]["vs_baseline"]
    diffs = [RESULTS[s][2] - RESULTS[s][0] for s in range(5)]
    assert gap["values"] == pytest.approx(diffs) and gap["beats"] is True
    assert gap["se"] == pytest.approx(mean_se(diffs)["se"])
    assert arms["tgrpo"]["vs_baseline"]["beats"] is False and arms["grpo"]["vs_baseline"] is None
    assert comparison["winners"] == ["tgrpo_none"]

    markdown = (tmp_path / "report.md").read_text()
    assert (
        "## Ablation: grpo vs tgrpo vs tgrpo_none from the same SFT checkpoint (seeds 0, 1, 2, 3, 4)"
        in markdown
    )
    assert "| +tgrpo_none |" in markdown and "| tgrpo_none | scale_rewards: none |" in markdown
    assert "**beats**" in markdown and "n/a" in markdown
    assert "Beat grpo in held-out ordered accuracy by more than two standard errors" in markdown
    assert any(note.startswith("Beat grpo") for note in report["notes"])
    assert set(report["stages"]) == {"base", "sft", "grpo", "tgrpo", "tgrpo_none"}
    from PIL import Image

    png = Image.open(tmp_path / "ablation_curves.png")
    assert png.text["Arms"] == "+grpo | +tgrpo | +tgrpo_none"
    assert "Shuffled-rollout accuracy" in png.text["Panels"] and "advantages moved" in png.text["Panels"]
    seed0 = json.loads((tmp_path / "seed0" / "report.json").read_text())
    assert set(seed0["rl_summaries"]) == {"grpo", "tgrpo", "tgrpo_none"}
    for arm in ("grpo", "tgrpo", "tgrpo_none"):
        assert any(f"{arm} " in note for note in seed0["notes"])
        assert (tmp_path / "seed0" / ("curves.png" if arm == "grpo" else f"curves_{arm}.png")).is_file()


def test_no_winner_and_one_seed_verdicts():
    runs = [_fake_run(s) for s in range(5)]
    labels = {"grpo": "grpo", "tgrpo": "tgrpo"}
    text = render_comparison_markdown(compare_arms(runs, labels))
    assert "No arm beat grpo" in text and "largest difference: tgrpo" in text
    one = compare_arms(runs[:1], {"grpo": "grpo", "tgrpo_none": "tgrpo_none"})
    assert one["arms"]["tgrpo_none"]["vs_baseline"]["beats"] is None and one["winners"] == []
    assert "One seed" in render_comparison_markdown(one)


def test_cli_recipe_and_arm_flags(capsys, tmp_path, monkeypatch):
    import video_r1.demo as demo_package
    from video_r1.cli.main import main

    seen = {}
    monkeypatch.setattr(
        demo_package, "run_demo", lambda output_dir, recipe, **kw: seen.update(recipe=recipe, **kw)
    )
    out = ["--output_dir", str(tmp_path)]
    assert main(["demo", "--recipe", "shortcut", "--ablation", "--run_arms", "grpo", "tgrpo", *out]) == 0
    assert seen["source"] == str(RECIPES["shortcut"]) and seen["run_arms"] == ["grpo", "tgrpo"]
    assert seen["recipe"].data["shortcut_cue"] and seen["recipe"].ablation_seeds == [0, 1, 2, 3, 4]
    assert main(["demo", "--recipe", "nope", *out]) == 2
    assert "--recipe 'nope': expected one of cpu, shortcut" in capsys.readouterr().err
    assert main(["demo", "--recipe", "shortcut", "--config", str(RECIPES["cpu"]), *out]) == 2
    assert main(["demo", "--recipe", "shortcut", "--run_arms", "grpo", *out]) == 2
    assert "--run_arms selects arms of --ablation" in capsys.readouterr().err
    assert main(["demo", "--recipe", "shortcut", "--ablation", "--run_arms", "grpo", "gpro", *out]) == 2
    assert "unknown arm(s) ['gpro']" in capsys.readouterr().err.strip().splitlines()[-1]


def test_quick_shortcut_ablation_end_to_end(tmp_path, stock_mrope):
    """--recipe shortcut --ablation --quick --seeds 0: one seed, every arm the trainer accepts, from one SFT checkpoint;
    the report has the comparison and the cue split, the plot every arm."""
    from video_r1.cli.main import main

    arms = _arms_trainer_accepts(read_recipe("shortcut"))
    assert {"grpo", "tgrpo", "tgrpo_batch", "tgrpo_none"} <= set(arms)
    out = tmp_path / "shortcut"
    argv = [
        "demo",
        "--recipe",
        "shortcut",
        "--ablation",
        "--quick",
        "--seeds",
        "0",
        "--no_progress",
        "--output_dir",
        str(out),
    ]
    assert main([*argv, "--run_arms", *arms]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["seeds"] == [0] and report["settings"]["quick"] is True
    comparison = report["ablation"]["comparison"]
    assert list(comparison["arms"]) == arms and comparison["baseline"] == "grpo"
    for arm in arms:
        stage = report["stages"][arm]
        assert 0.0 <= stage["accuracy"] <= 1.0
        assert (out / "seed0" / arm / "config.json").is_file()  # each arm's model
        metrics = comparison["arms"][arm]["metrics"]
        assert metrics["heldout_ordered"]["n"] == 1 and metrics["train_accuracy"] is not None
        # the shuffled rollouts exist exactly in the temporal arms
        assert (metrics["train_shuffled_accuracy"] is None) == (arm == "grpo")
    seed0 = json.loads((out / "seed0" / "report.json").read_text())
    test = json.loads((out / "seed0" / "data" / "test.json").read_text())
    assert sum(r["cue_agrees"] for r in test) == 6  # 12 questions at agreement 0.5
    sft = seed0["stages"]["sft"]
    assert sft["n_cue_agrees"] == 6 and sft["n_cue_disagrees"] == 6
    agree = [s for s, r in zip(sft["scores"], test) if r["cue_agrees"]]
    assert sft["accuracy_cue_agrees"] == pytest.approx(sum(agree) / 6)
    train = json.loads((out / "seed0" / "data" / "train.json").read_text())
    cot = json.loads((out / "seed0" / "data" / "cot_demo.json").read_text())
    # agreement 0.9 on both: round(0.9 x 8) = 7 of each answer's 8 RL questions, round(0.9 x 6) = 5 of 6 CoT
    assert sum(r["cue_agrees"] for r in train) == 14 and sum(r["cue_agrees"] for r in cot) == 10
    assert (out / "ablation_curves.png").read_bytes().startswith(PNG_MAGIC)
    assert "Arms compared with grpo" in (out / "report.md").read_text()


def test_jobs_reaches_the_ablation_and_needs_it(capsys, tmp_path, monkeypatch):
    import video_r1.demo as demo_package
    from video_r1.cli.main import main

    seen = {}
    monkeypatch.setattr(
        demo_package, "run_demo", lambda output_dir, recipe, **kw: seen.update(recipe=recipe, **kw)
    )
    out = ["--output_dir", str(tmp_path)]
    assert main(["demo", "--recipe", "shortcut", "--ablation", "--jobs", "3", *out]) == 0
    assert seen["jobs"] == 3
    assert main(["demo", "--recipe", "shortcut", "--jobs", "2", *out]) == 2
    assert "--jobs runs the seeds of --ablation in parallel" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_ablation_with_parallel_seeds(tmp_path, stock_mrope):
    """--jobs 2: two seeds in two spawned processes; the report holds both, each seed's folder its own run."""
    from video_r1.cli.main import main

    out = tmp_path / "parallel"
    argv = ["demo", "--recipe", "shortcut", "--ablation", "--quick", "--seeds", "0", "1", "--jobs", "2"]
    assert main([*argv, "--no_progress", "--run_arms", "grpo", "tgrpo_gap", "--output_dir", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["seeds"] == [0, 1]
    for seed in (0, 1):
        seed_report = json.loads((out / f"seed{seed}" / "report.json").read_text())
        assert seed_report["settings"]["seed"] == seed
        assert (out / f"seed{seed}" / "tgrpo_gap" / "config.json").is_file()
    assert report["ablation"]["comparison"]["arms"]["tgrpo_gap"]["metrics"]["heldout_ordered"]["n"] == 2
