"""``video-r1 demo``: the --quick pipeline end to end, the recipe loader and the shuffled-frame evaluation."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

import video_r1.demo as demo
from video_r1.demo import (
    DEFAULT_CONFIG,
    REPORT_STAGES,
    load_recipe,
    permute_sample_frames,
    sample_permutation,
    short_cot,
)
from video_r1.errors import UserError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def decode_log(tmp_path, monkeypatch):
    """Every real decode (video_r1.data.vision.load_video / load_image) appends its file to a log file, so
    decodes in DataLoader worker processes are counted too. Returns a function reading the counts."""
    from collections import Counter

    from video_r1.data import vision

    log = tmp_path / "decodes.log"
    real_video, real_image = vision.load_video, vision.load_image

    def record(path) -> None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{path}\n")

    def load_video(path, *args, **kwargs):
        record(path)
        return real_video(path, *args, **kwargs)

    def load_image(path, *args, **kwargs):
        record(path)
        return real_image(path, *args, **kwargs)

    monkeypatch.setattr(vision, "load_video", load_video)
    monkeypatch.setattr(vision, "load_image", load_image)
    return lambda: (
        Counter(os.path.realpath(p) for p in log.read_text().splitlines()) if log.exists() else Counter()
    )


def test_quick_demo_end_to_end(tmp_path, stock_mrope, decode_log):
    from video_r1.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--no_progress", "--output_dir", str(out)]) == 0
    # the demo installed the released Qwen2.5-VL positions itself (it started from transformers' own)
    assert getattr(stock_mrope.get_rope_index, "video_r1_released", False)

    # Every video was decoded exactly once in the whole run, although SFT went through its CoT set more
    # than once, RL read its prompts and the held-out split was evaluated six times (3 stages x ordered and
    # shuffled, plus the eval wording).
    decodes = decode_log()
    data = out / "data"
    cot = json.loads((data / "cot_demo.json").read_text())
    test = json.loads((data / "test.json").read_text())
    for record in cot + test:
        assert decodes[os.path.realpath(data / record["path"])] == 1, record["path"]
    assert set(decodes.values()) == {1}
    report = json.loads((out / "report.json").read_text())
    assert report["frame_cache"]["decodes"] == len(decodes)
    assert report["frame_cache"]["hits"] > len(test) * 5

    report = json.loads((out / "report.json").read_text())
    # sft_stop (quick: target 0.0, a check every 2 steps, cap 3): the first check stopped SFT at step 2
    assert report["sft_stop"]["stopped_at"] == 2 and report["sft_steps"] == 2
    assert [c["step"] for c in report["sft_stop"]["checks"]] == [2]
    assert report["sft_stop"]["questions"] == 4
    assert "SFT: stopped at step 2" in (out / "report.md").read_text()
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
    # ... with what `video-r1 plot` reads and the preset `video-r1 eval` defaults to.
    for stage_dir, steps in (("sft", 2), ("grpo", 2)):
        state = json.loads((out / stage_dir / "trainer_state.json").read_text())
        assert state["global_step"] == steps and len(state["log_history"]) == steps + 1
        assert json.loads((out / stage_dir / "video_r1_run.json").read_text())["vision_preset"] == "tiny"
        png = tmp_path / f"{stage_dir}.png"
        assert main(["plot", "--run", str(out / stage_dir), "--out", str(png)]) == 0
        assert png.read_bytes().startswith(PNG_MAGIC)


def test_recipe_quick_section_is_merged():
    full = load_recipe(DEFAULT_CONFIG)
    quick = load_recipe(DEFAULT_CONFIG, quick=True)
    assert "quick_overrides" not in full and "quick_overrides" not in quick
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
    path.write_text("quick_overrides: {sft: {max_stpes: 3}}\n")
    with pytest.raises(ValueError, match="max_stpes"):  # checked when the trainers' fields are known
        demo.run_demo(tmp_path / "out", path, quick=True)
    assert not (tmp_path / "out").exists()  # refused before any work


def test_cli_refuses_unknown_trainer_keys_in_a_config_in_one_line(tmp_path, capsys):
    """An unknown ``sft`` / ``grpo`` key in ``demo --config`` (or in its quick_overrides with --quick) is one
    usage error naming the key, the trainer config and the file, before any work (it was a raw ValueError)."""
    from video_r1.cli.main import main

    base = (Path(demo.__file__).parent.parent / "configs" / "demo_cpu.yaml").read_text()
    cases = [
        (
            "sft:\n  max_steps: 300\n",
            "sft:\n  max_steps: 300\n  max_stesp: 1\n",
            [],
            "max_stesp",
            "VideoSFTConfig",
        ),
        (
            "grpo:\n  max_steps: 100\n",
            "grpo:\n  max_steps: 100\n  temporal_alhpa: 1\n",
            [],
            "temporal_alhpa",
            "TGRPOConfig",
        ),
        ("    max_steps: 3\n", "    max_stpes: 3\n", ["--quick"], "max_stpes", "VideoSFTConfig"),
    ]
    for index, (old, new, flags, key, config) in enumerate(cases):
        assert old in base
        path = tmp_path / f"r{index}.yaml"
        path.write_text(base.replace(old, new, 1))
        out = tmp_path / f"out{index}"
        code = main(["demo", "--config", str(path), *flags, "--output_dir", str(out)])
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert code == 2 and last.startswith("video-r1 demo: error:"), last
        assert key in last and config in last and str(path) in last, last
        assert not out.exists()


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
    from video_r1.inference import BackendOptions, GenerationRequest, SamplingConfig

    processor, record, sample = prepared_video
    request = GenerationRequest(sample.key, record, variant="train")
    options = BackendOptions(
        preset=get_preset("tiny"), sampling=SamplingConfig(temperature=0, max_new_tokens=4)
    )
    kwargs = dict(device="cpu", processor=processor)
    with ShuffledFramesHFBackend(str(tiny_checkpoint), options, shuffle_seed=3, **kwargs) as backend:
        (shuffled,) = backend._prepare_batch([request])
        (result,) = backend.generate([request])
    with ShuffledFramesHFBackend(str(tiny_checkpoint), options, shuffle_seed=None, **kwargs) as backend:
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


def _fake_stage(accuracy: float, shuffled: float, n: int = 200) -> dict:
    correct = round(accuracy * n)
    return {
        "accuracy": correct / n,
        "accuracy_shuffled": shuffled,
        "format_rate": 1.0,
        "format_rate_shuffled": 1.0,
        "n": n,
        "n_errors": 0,
        "example_output": "<think>x</think><answer>A</answer>",
        "scores": [1.0] * correct + [0.0] * (n - correct),
    }


def _fake_rl_log(acc0: float, steps: int = 5, temporal: bool = True) -> list[dict]:
    log = []
    for step in range(1, steps + 1):
        entry = {
            "step": step,
            "rewards/accuracy_reward/mean": acc0 + 0.02 * step,
            "reward": 2 * acc0 + 0.02 * step,
            "completions/mean_length": 20.0,
            "frac_reward_zero_std": 0.1,
        }
        if temporal:
            entry["temporal/bonus_rate"] = 0.9
        log.append(entry)
    return log


def test_ablation_runs_both_arms_per_seed_and_writes_the_table(tmp_path, monkeypatch):
    import video_r1.demo.pipeline as pipeline

    calls = []
    results = {  # seed -> (sft, GRPO, T-GRPO) ordered accuracy
        0: (0.60, 0.80, 0.85),
        1: (0.65, 0.70, 0.90),
        2: (0.70, 0.80, 0.80),
    }

    def fake_run_seed(recipe, seed, out, *, arms, progress, banner_prefix=""):
        calls.append((seed, tuple(arms), out))
        out.mkdir(parents=True, exist_ok=True)
        sft, grpo, tgrpo = results[seed]
        return {
            "seed": seed,
            "stages": {
                "base": _fake_stage(0.0, 0.0),
                "sft": _fake_stage(sft, 0.5),
                "grpo_no_temporal": _fake_stage(grpo, 0.55),
                "grpo": _fake_stage(tgrpo, 0.45),
            },
            "logs": {
                "sft": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}],
                "grpo_no_temporal": _fake_rl_log(0.6, temporal=False),
                "grpo": _fake_rl_log(0.6),
            },
            "seconds": {"sft": {"wall": 1.0, "cpu": 2.0}},
            "frame_cache": {"items": 10, "decodes": 10, "hits": 90},
            "parameters": 123,
            "cot_style": "short",
        }

    monkeypatch.setattr(pipeline, "run_seed", fake_run_seed)
    report = pipeline.run_demo(tmp_path, ablation=True, progress=False)

    assert [(seed, arms) for seed, arms, _ in calls] == [(s, pipeline.RL_ARMS) for s in (0, 1, 2)]
    assert [out.name for _, _, out in calls] == ["seed0", "seed1", "seed2"]
    table = report["ablation"]
    rows = {row["row"]: row for row in table["rows"]}
    assert list(rows) == ["base", "SFT", "+GRPO", "+T-GRPO"]
    assert rows["+T-GRPO"]["ordered"]["values"] == [0.85, 0.90, 0.80]
    assert rows["+T-GRPO"]["ordered"]["mean"] == pytest.approx(0.85)
    assert rows["+T-GRPO"]["ordered"]["std"] == pytest.approx(0.05)  # sample standard deviation over seeds
    assert rows["+GRPO"]["gap"]["values"] == pytest.approx([0.25, 0.15, 0.25])
    # criterion: more than 2 x 0.0354 above SFT on the same seed
    assert table["rl_vs_sft"]["+T-GRPO"]["beats_sft_on_seeds"] == 3
    assert table["rl_vs_sft"]["+GRPO"]["beats_sft_on_seeds"] == 2  # +0.20, +0.05, +0.10
    # the layout of a single run is kept: stages (here the means over seeds) and wall_seconds
    assert report["stages"]["grpo"]["accuracy"] == pytest.approx(0.85)
    assert report["stages"]["sft"]["accuracy_shuffled"] == pytest.approx(0.5)
    assert report["wall_seconds"] > 0 and report["settings"]["seeds"] == [0, 1, 2]

    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["ablation"]["rows"][3]["row"] == "+T-GRPO"
    markdown = (tmp_path / "report.md").read_text()
    assert "| +T-GRPO | 0.850 ± 0.050 (0.850 / 0.900 / 0.800) |" in markdown
    png = (tmp_path / "ablation_curves.png").read_bytes()
    assert png.startswith(PNG_MAGIC)
    from PIL import Image

    assert Image.open(tmp_path / "ablation_curves.png").text["Arms"] == "+GRPO | +T-GRPO"
    for seed in (0, 1, 2):  # each seed keeps its own report with both arms and its curves
        seed_report = json.loads((tmp_path / f"seed{seed}" / "report.json").read_text())
        assert set(seed_report["stages"]) == {"base", "sft", "grpo", "grpo_no_temporal"}
        assert (tmp_path / f"seed{seed}" / "curves.png").is_file()
        assert (tmp_path / f"seed{seed}" / "curves_grpo_no_temporal.png").is_file()


def test_rl_gain_uses_two_standard_errors_of_the_eval():
    from video_r1.demo import paired_difference, rl_gain, standard_error

    assert standard_error(200) == pytest.approx(0.0354, abs=1e-4)
    sft, rl = _fake_stage(0.70, 0.5), _fake_stage(0.77, 0.5)
    gain = rl_gain(sft, rl)
    assert gain["delta"] == pytest.approx(0.07) and not gain["beats_sft"]  # 0.070 < 0.0707
    assert rl_gain(sft, _fake_stage(0.775, 0.5))["beats_sft"]
    # paired: 20 questions gained, 6 lost out of 200
    before = [1.0] * 100 + [0.0] * 20 + [1.0] * 6 + [0.0] * 74
    after = [1.0] * 100 + [1.0] * 20 + [0.0] * 6 + [0.0] * 74
    paired = paired_difference(before, after)
    assert paired["delta"] == pytest.approx(14 / 200)
    assert paired["paired_se"] == pytest.approx(math.sqrt(26 - 14**2 / 200) / 200)
    assert (paired["gained"], paired["lost"]) == (20, 6)


def test_cli_flags_and_recipe(capsys, tmp_path):
    from video_r1.cli.main import main

    assert main(["demo", "--seeds", "0", "1", "--output_dir", str(tmp_path)]) == 2
    assert "--ablation_seeds (--seeds) is for --ablation" in capsys.readouterr().err
    assert main(["demo", "--ablation", "--seed", "3", "--output_dir", str(tmp_path)]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\nmodle: {}\n")
    assert main(["demo", "--config", str(bad), "--output_dir", str(tmp_path / "o")]) == 2
    assert "modle" in capsys.readouterr().err.strip().splitlines()[-1]
    bad.write_text("data: {num_trian: 3}\n")
    assert main(["demo", "--config", str(bad), "--output_dir", str(tmp_path / "o")]) == 2
    assert "num_trian" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["demo", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--output_dir", "--config", "--quick", "--seed", "--ablation", "--ablation_seeds", "--seeds",
        "--no_progress", "--overwrite_output_dir", "--threads", "--sft", "--grpo", "--quick_overrides",
    ):  # fmt: skip
        assert flag in text, flag


def test_cli_parses_the_packaged_recipe_with_overrides(monkeypatch, tmp_path):
    import video_r1.demo as demo_package
    from video_r1.cli.main import main

    seen = {}

    def fake_run_demo(output_dir, recipe, **kwargs):  # only the parsing is under test here
        seen.update(output_dir=output_dir, recipe=recipe, **kwargs)

    monkeypatch.setattr(demo_package, "run_demo", fake_run_demo)
    assert main(["demo", "--output_dir", str(tmp_path), "--seed", "5", "--quick"]) == 0
    recipe = seen["recipe"]
    assert recipe.seed == 5 and seen["quick"] is True and seen["source"] == str(DEFAULT_CONFIG)
    assert recipe.sft == demo_package.read_recipe().sft  # the packaged recipe's sections
    assert main(["demo", "--ablation", "--seeds", "4", "7", "--output_dir", str(tmp_path)]) == 0
    assert seen["recipe"].ablation_seeds == [4, 7] and seen["ablation"] is True


def test_packaged_recipe_is_package_data():
    root = Path(__file__).resolve().parents[1]
    assert DEFAULT_CONFIG == root / "src" / "video_r1" / "configs" / "demo_cpu.yaml"
    assert (root / "configs" / "demo_cpu.yaml").resolve() == DEFAULT_CONFIG.resolve()
    assert '"configs/*.yaml"' in (root / "pyproject.toml").read_text()


def test_existing_demo_run_is_refused_then_replaced(tmp_path):
    from video_r1.demo.pipeline import prepare_output_dir

    out = tmp_path / "demo"
    (out / "sft").mkdir(parents=True)
    (out / "report.json").write_text("{}")
    (out / "seed1").mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"already holds a demo run \(report.json, seed1, sft\)"):
        prepare_output_dir(out, overwrite=False)
    assert (out / "sft").is_dir()
    prepare_output_dir(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # only the demo's own outputs went


def test_sft_stop_checks_every_n_steps_and_stops_at_the_target(tiny_checkpoint, synthetic_data):
    from transformers import AutoProcessor, TrainerControl, TrainerState

    from video_r1.data.frame_cache import FrameCache
    from video_r1.data.records import load_records
    from video_r1.demo.sft_stop import SFTTargetStop
    from video_r1.models.qwen2_5_vl import load_model

    records = [dict(r) for r in load_records(synthetic_data["test"])][:3]
    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    model = load_model(str(tiny_checkpoint), dtype=torch.float32)
    model.train()
    stopper = SFTTargetStop(
        records, processor, target_accuracy=1.0, every=2, max_new_tokens=4, frame_cache=FrameCache()
    )
    state = TrainerState()
    state.max_steps = 8

    def step(n: int) -> TrainerControl:
        state.global_step = n
        return stopper.on_step_end(None, state, TrainerControl(), model=model)

    assert not any(step(n).should_training_stop for n in range(1, 6))  # a random model never reaches 1.0
    assert [c["step"] for c in stopper.checks] == [2, 4] and stopper.stopped_at is None
    assert model.training  # the check put the model back into training mode
    stopper.target_accuracy = 0.0
    assert step(6).should_training_stop and stopper.stopped_at == 6
    assert not step(8).should_training_stop  # no check at the last step (training ends there anyway)
    assert stopper.summary(8)["steps"] == 6
    with pytest.raises(ValueError, match="every"):
        SFTTargetStop(records, processor, target_accuracy=0.5, every=0)
