"""``video_r1.plotting`` and ``video-r1 plot``: panel choice for RL vs SFT logs, the PNG, checkpoint lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from video_r1.cli.main import main
from video_r1.cli.plot import METRIC_NAMES
from video_r1.plotting import (
    DPI,
    PANEL_HEIGHT_IN,
    PANEL_WIDTH_IN,
    PAPER_PANELS,
    build_figure,
    find_trainer_state,
    grid_shape,
    is_rl_log,
    panels_for,
    plot_log_history,
    plot_run,
    series,
)

# The final entry the Trainer appends when training ends (no per-step metrics).
SUMMARY = {
    "epoch": 1.0,
    "step": 10,
    "total_flos": 0.0,
    "train_loss": 0.0123,
    "train_runtime": 61.2,
    "train_samples_per_second": 1.307,
    "train_steps_per_second": 0.163,
}


def rl_log_history(kl: bool = True, temporal: bool = True) -> list[dict]:
    """10 logging steps as TGRPOTrainer (TRL 1.16 GRPOTrainer + ours) logs them, plus the summary entry."""
    history = []
    for step in range(1, 11):
        acc = 0.3 + 0.05 * step
        entry = {
            "loss": 0.01 * (step % 3) - 0.005,
            "grad_norm": 1.5 / step,
            "learning_rate": 1e-6 * (1 - (step - 1) / 10),
            "num_tokens": 4096.0 * step,
            "completions/mean_length": 80.0 + 3 * step,
            "completions/min_length": 40.0 + step,
            "completions/max_length": 128.0,
            "completions/clipped_ratio": 0.1,
            "completions/mean_terminated_length": 78.0 + 3 * step,
            "completions/min_terminated_length": 40.0 + step,
            "completions/max_terminated_length": 127.0,
            "rewards/accuracy_reward/mean": acc,
            "rewards/accuracy_reward/std": 0.45,
            "rewards/format_reward/mean": 0.9,
            "rewards/format_reward/std": 0.3,
            "reward": acc + 0.9,
            "reward_std": 0.5,
            "frac_reward_zero_std": 0.25,
            "entropy": 0.8,
            "clip_ratio/low_mean": 0.0,
            "clip_ratio/high_mean": 0.0,
            "clip_ratio/region_mean": 0.0,
            "step_time": 6.1,
            "all_wrong": 0.25 - 0.02 * step,
            "all_correct": 0.02 * step,
            "length/bonus_rate": 0.1 + 0.01 * step,
            "epoch": step / 10,
            "step": step,
        }
        if kl:
            entry["kl"] = 0.001 * step
        if temporal:
            entry["rewards/temporal_bonus/mean"] = 0.1
            entry["rewards/temporal_bonus/std"] = 0.2
            # An image-only batch logs no temporal/* metrics (no video groups).
            if step != 4:
                entry["temporal/bonus_rate"] = 0.5 + 0.03 * step
                entry["temporal/ordered_accuracy"] = acc
                entry["temporal/shuffled_accuracy"] = 0.5
                entry["temporal/adv_moved_frac"] = 0.0
                entry["temporal/adv_abs_change"] = 1e-5
        history.append(entry)
    # A metric that was NaN for the whole logging window is logged as None by TRL.
    history[6]["rewards/format_reward/mean"] = None
    history.append(dict(SUMMARY))
    return history


def sft_log_history(evaluate: bool = True) -> list[dict]:
    """SFTTrainer (TRL 1.16) logs: 10 train steps, eval every 5 steps, the summary entry."""
    history = []
    for step in range(1, 11):
        history.append(
            {
                "loss": 2.0 / step,
                "grad_norm": 3.0 / step,
                "learning_rate": 1e-5 * (1 - (step - 1) / 10),
                "entropy": 1.2,
                "num_tokens": 2048.0 * step,
                "mean_token_accuracy": 0.4 + 0.04 * step,
                "epoch": step / 10,
                "step": step,
            }
        )
        if evaluate and step % 5 == 0:
            history.append(
                {
                    "eval_loss": 2.5 / step,
                    "eval_runtime": 1.1,
                    "eval_samples_per_second": 9.0,
                    "eval_steps_per_second": 2.3,
                    "eval_entropy": 1.1,
                    "eval_num_tokens": 2048.0 * step,
                    "eval_mean_token_accuracy": 0.35 + 0.04 * step,
                    "epoch": step / 10,
                    "step": step,
                }
            )
    history.append(dict(SUMMARY))
    return history


def write_state(directory: Path, history: list[dict], global_step: int | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    steps = [e["step"] for e in history]
    state = {"global_step": global_step if global_step is not None else max(steps), "log_history": history}
    path = directory / "trainer_state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


def expected_size(n_panels: int) -> tuple[int, int]:
    rows, cols = grid_shape(n_panels)
    return round(cols * PANEL_WIDTH_IN * DPI), round(rows * PANEL_HEIGHT_IN * DPI)


RL_PANELS = [
    ("Reward", ["reward", "reward_std"]),
    (
        "Rewards per function",
        ["rewards/accuracy_reward/mean", "rewards/format_reward/mean", "rewards/temporal_bonus/mean"],
    ),
    ("Temporal (T-GRPO)", ["temporal/bonus_rate", "temporal/ordered_accuracy", "temporal/shuffled_accuracy"]),
    ("Advantage effect of the bonuses", ["temporal/adv_moved_frac", "temporal/adv_abs_change"]),
    ("Group outcomes / length bonus", ["all_correct", "all_wrong", "length/bonus_rate"]),
    ("Completion length", ["completions/mean_length", "completions/min_length", "completions/max_length"]),
    ("KL", ["kl"]),
    ("Loss", ["loss"]),
    ("Learning rate", ["learning_rate"]),
    ("Grad norm", ["grad_norm"]),
]


# ------------------------------------------------------------------------------------------ panel choice
def test_rl_panels():
    history = rl_log_history()
    assert is_rl_log(history)
    assert panels_for(history) == RL_PANELS


def test_sft_panels_include_eval_loss():
    history = sft_log_history()
    assert not is_rl_log(history)
    assert panels_for(history) == [
        ("Loss", ["loss", "eval_loss"]),
        ("Learning rate", ["learning_rate"]),
        ("Grad norm", ["grad_norm"]),
        ("Token accuracy", ["mean_token_accuracy", "eval_mean_token_accuracy"]),
    ]
    assert panels_for(sft_log_history(evaluate=False))[0] == ("Loss", ["loss"])


def test_missing_metrics_are_skipped():
    # beta=0 (no kl) and temporal off: no KL panel, no temporal panel, no temporal_bonus reward line.
    panels = dict(panels_for(rl_log_history(kl=False, temporal=False)))
    assert "KL" not in panels
    assert "Temporal (T-GRPO)" not in panels
    assert panels["Rewards per function"] == ["rewards/accuracy_reward/mean", "rewards/format_reward/mean"]
    history = rl_log_history()
    # The summary entry has no per-step metrics; step 4 has no temporal/*; step 7's format mean is None.
    assert series(history, "loss")[0] == [float(s) for s in range(1, 11)]
    assert 4.0 not in series(history, "temporal/bonus_rate")[0]
    assert len(series(history, "temporal/bonus_rate")[0]) == 9
    assert 7.0 not in series(history, "rewards/format_reward/mean")[0]
    assert series(history, "train_runtime") == ([10.0], [61.2])


def test_paper_view_fixed_order():
    history = rl_log_history()
    panels = panels_for(history, ["accuracy", "temporal", "reward", "length"])
    assert panels == [
        ("Accuracy reward", ["rewards/accuracy_reward/mean"]),
        ("Temporal bonus rate", ["temporal/bonus_rate"]),
        ("Mean reward", ["reward"]),
        ("Completion length", ["completions/mean_length"]),
    ]
    # Order follows the request; a panel whose metric was not logged is dropped.
    assert [t for t, _ in panels_for(rl_log_history(temporal=False), ["length", "temporal", "accuracy"])] == [
        "Completion length",
        "Accuracy reward",
    ]
    with pytest.raises(ValueError, match="unknown panel"):
        panels_for(history, ["nope"])


def test_cli_metric_names_match_paper_panels():
    assert tuple(METRIC_NAMES) == tuple(PAPER_PANELS)


# ------------------------------------------------------------------------------------------ drawing
@pytest.mark.parametrize("n", [1, 2, 4, 5, 9])
def test_figure_has_one_axes_per_panel(n):
    history = rl_log_history()
    panels = panels_for(history)[:n]
    fig = build_figure(history, panels, title="t")
    assert len(fig.axes) == n
    assert [ax.get_title() for ax in fig.axes] == [t for t, _ in panels]
    # every key of a panel became one line
    assert [len(ax.get_lines()) for ax in fig.axes] == [len(k) for _, k in panels]


def test_plot_log_history_png(tmp_path):
    history = rl_log_history()
    out = plot_log_history(history, tmp_path / "sub" / "curves.png", title="demo")
    assert out == tmp_path / "sub" / "curves.png"
    with Image.open(out) as img:
        img.verify()
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.size == expected_size(len(RL_PANELS))  # 3x3 grid
        assert img.info["Panels"].split(" | ") == [t for t, _ in RL_PANELS]


def test_plot_log_history_paper_view(tmp_path):
    out = plot_log_history(
        rl_log_history(), tmp_path / "paper.png", panels=["accuracy", "temporal", "reward", "length"]
    )
    with Image.open(out) as img:
        assert img.size == expected_size(4)  # 2x2
        assert img.info["Panels"] == "Accuracy reward | Temporal bonus rate | Mean reward | Completion length"


def test_nothing_to_plot_raises(tmp_path):
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_log_history([dict(SUMMARY)], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_run_sft(tmp_path):
    write_state(tmp_path / "sft", sft_log_history())
    out = plot_run(tmp_path / "sft", tmp_path / "sft.png")
    with Image.open(out) as img:
        assert img.size == expected_size(4)
        assert img.info["Panels"] == "Loss | Learning rate | Grad norm | Token accuracy"


# ------------------------------------------------------------------------------------------ lookup
def test_checkpoint_lookup_picks_highest_step(tmp_path):
    run = tmp_path / "run"
    for step in (2, 9, 10):
        write_state(run / f"checkpoint-{step}", rl_log_history(), global_step=step)
    (run / "checkpoint-11").mkdir()  # a save in progress: no trainer_state.json yet
    (run / "checkpoint-final").mkdir()
    assert find_trainer_state(run) == run / "checkpoint-10" / "trainer_state.json"  # numeric, not 9
    # The top-level file wins unless a checkpoint is further along (a resumed run).
    write_state(run, rl_log_history(), global_step=10)
    assert find_trainer_state(run) == run / "trainer_state.json"
    write_state(run, rl_log_history(), global_step=5)
    assert find_trainer_state(run) == run / "checkpoint-10" / "trainer_state.json"
    # A direct path to a json is used as is.
    direct = run / "checkpoint-2" / "trainer_state.json"
    assert find_trainer_state(direct) == direct


def test_lookup_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trainer_state.json"):
        find_trainer_state(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_trainer_state(tmp_path / "missing")


# ------------------------------------------------------------------------------------------ CLI
def test_cli_success(tmp_path, capsys):
    run = tmp_path / "rl"
    write_state(run / "checkpoint-10", rl_log_history())
    assert main(["plot", "--run", str(run), "--out", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "10 panel(s)" in out and "checkpoint-10" in out
    with Image.open(tmp_path / "c.png") as img:
        assert img.format == "PNG"
    # default --out: curves.png in the run directory (not inside the checkpoint)
    assert main(["plot", "--run", str(run), "--metrics", "accuracy,temporal,reward,length"]) == 0
    with Image.open(run / "curves.png") as img:
        assert img.size == expected_size(4)


def test_cli_missing_state_fails_clearly(tmp_path, capsys):
    assert main(["plot", "--run", str(tmp_path), "--out", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert "video-r1 plot: error:" in err and "no trainer_state.json" in err
    assert not (tmp_path / "c.png").exists()


def test_cli_unknown_metric(tmp_path, capsys):
    write_state(tmp_path, rl_log_history())
    assert main(["plot", "--run", str(tmp_path), "--metrics", "accuracy,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_cli_skipped_paper_panel_is_noted(tmp_path, capsys):
    write_state(tmp_path, rl_log_history(temporal=False))
    assert main(["plot", "--run", str(tmp_path), "--metrics", "accuracy,temporal"]) == 0
    assert "skipped: temporal" in capsys.readouterr().err


def test_plot_comparison_overlays_arms_and_seeds(tmp_path):
    from video_r1.plotting import plot_comparison

    grpo = [rl_log_history(temporal=False), rl_log_history(temporal=False)]
    tgrpo = [rl_log_history(), rl_log_history(), rl_log_history()]
    out = plot_comparison(
        {"GRPO": grpo, "T-GRPO": tgrpo},
        tmp_path / "ablation.png",
        panels=["accuracy", "temporal", "length"],
        title="ablation",
    )
    image = Image.open(out)
    # the temporal panel is drawn (T-GRPO logged it) even though the GRPO runs did not log it
    assert image.text["Panels"] == "Accuracy reward | Temporal bonus rate | Completion length"
    assert image.text["Arms"] == "GRPO | T-GRPO"
    assert image.size == (2 * PANEL_WIDTH_IN * DPI, 2 * PANEL_HEIGHT_IN * DPI)
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_comparison({"GRPO": grpo}, tmp_path / "none.png", panels=[("Missing", ["no/such/key"])])
