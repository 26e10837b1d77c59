"""The demo's reports: ``report.json`` / ``report.md`` of one run, the ablation table over seeds, the curves.

``report.json`` keeps one layout for a single run and for ``--ablation``: ``stages`` (per stage ``accuracy``,
``accuracy_shuffled``, format rates, ``n``), ``wall_seconds``, ``notes`` and ``settings``; an ablation adds
``ablation`` (:func:`ablation_table`) and its ``stages`` are the means over the seeds.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from video_r1.demo.evaluate import rl_gain

#: Stages of the report, in pipeline order.
REPORT_STAGES = ("base", "sft", "grpo")
#: Panels of curves.png (names of :data:`video_r1.plotting.PAPER_PANELS`).
RL_PANELS = ["accuracy", "temporal", "reward", "length"]
#: Rows of the ablation table: (label, stage).
ABLATION_ROWS = (("base", "base"), ("SFT", "sft"), ("+GRPO", "grpo_no_temporal"), ("+T-GRPO", "grpo"))


class Clock:
    """Wall and process CPU seconds since creation (CPU time counts every thread of this process)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def seconds(self) -> dict[str, float]:
        return {"wall": time.perf_counter() - self.wall, "cpu": time.process_time() - self.cpu}


def _rl_summary(log_history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def values(key: str) -> list[float]:
        return [float(e[key]) for e in log_history if isinstance(e.get(key), int | float) and "step" in e]

    summary: dict[str, Any] = {}
    for key in (
        "rewards/accuracy_reward/mean",
        "frac_reward_zero_std",
        "temporal/bonus_rate",
        "temporal/ordered_accuracy",
        "temporal/shuffled_accuracy",
        "reward",
        "completions/mean_length",
    ):
        vals = values(key)
        if vals:
            half = max(1, len(vals) // 2)
            summary[key] = {
                "first_half_mean": sum(vals[:half]) / half,
                "last_half_mean": sum(vals[half:]) / max(1, len(vals) - half) if len(vals) > 1 else vals[0],
                "steps": len(vals),
            }
    return summary


# ----------------------------------------------------------------------------------------------------
# Reports


def _notes(stages: Mapping[str, Mapping[str, Any]], rl: Mapping[str, Any], quick: bool) -> list[str]:
    notes = []
    if quick:
        notes.append(
            "--quick: every stage ran for a few steps only (a smoke test); accuracies are not meaningful."
        )
    sft, grpo = stages["sft"], stages["grpo"]
    gain = rl_gain(sft, grpo)
    paired = f", paired standard error {gain['paired_se']:.3f}" if "paired_se" in gain else ""
    change = (
        f"sft {sft['accuracy']:.3f} -> grpo {grpo['accuracy']:.3f} on ordered frames (change "
        f"{gain['delta']:+.3f}; 2 standard errors = {gain['threshold']:.3f} for n={grpo.get('n')}{paired})"
    )
    if gain["beats_sft"]:
        notes.append(f"T-GRPO improved held-out accuracy beyond two standard errors: {change}.")
    elif gain["delta"] < -gain["threshold"]:
        notes.append(f"T-GRPO lowered held-out accuracy beyond two standard errors: {change}.")
    else:
        notes.append(f"T-GRPO did NOT improve held-out accuracy beyond two standard errors: {change}.")
    bonus = rl.get("temporal/bonus_rate")
    acc = rl.get("rewards/accuracy_reward/mean")
    zero = rl.get("frac_reward_zero_std")
    if bonus and acc:
        notes.append(
            f"During RL the accuracy reward of the sampled completions averaged {acc['first_half_mean']:.2f} over "
            f"the first half of the steps and {acc['last_half_mean']:.2f} over the second; the T-GRPO condition "
            f"(ordered group accuracy >= mu x shuffled) held for {bonus['first_half_mean']:.2f} / "
            f"{bonus['last_half_mean']:.2f} of the video groups"
            + (
                f", and {zero['first_half_mean']:.2f} / {zero['last_half_mean']:.2f} of the groups had equal "
                "rewards (no gradient)"
                if zero
                else ""
            )
            + "."
        )
    last = stages["grpo"]
    met = last["accuracy"] >= 0.8 and last["accuracy_shuffled"] <= 0.65
    notes.append(
        f"Frame-order criterion (ordered >= 0.80 and shuffled <= 0.65 after the last stage, chance 0.5): "
        f"{'met' if met else 'NOT met'} ({last['accuracy']:.3f} / {last['accuracy_shuffled']:.3f})."
    )
    return notes


def _fmt_seconds(seconds: Mapping[str, Mapping[str, float]]) -> str:
    return ", ".join(f"{k} {v['wall']:.0f} s ({v['cpu']:.0f} s CPU)" for k, v in seconds.items())


def render_markdown(report: Mapping[str, Any]) -> str:
    """``report.md``: the accuracy table, wall/CPU time and notes of a demo report (one seed), plus the
    ablation table when the report has one."""
    stages = report["stages"]
    wording = next(
        (k for k in stages.get("grpo", {}) if k.startswith("accuracy_") and k.endswith("_wording")), None
    )
    lines = ["# video-r1 demo report", ""]
    ablation = report.get("ablation")
    if ablation:
        lines += render_ablation_markdown(ablation).splitlines() + [""]
        lines += [f"Per-stage means over seeds {ablation['seeds']} (`stages` in report.json):", ""]
    lines += [
        "Held-out accuracy (greedy) on the synthetic frame-order questions (two options, chance 0.5), on the "
        "ordered frames and on the same frames shuffled"
        + (" (last column: ordered frames, the paper's evaluation prompt wording)." if wording else "."),
        "",
        "| stage | accuracy (ordered) | accuracy (shuffled) | format rate | n |"
        + (" eval wording |" if wording else ""),
        "|---|---|---|---|---|" + ("---|" if wording else ""),
    ]
    for stage in REPORT_STAGES:
        s = stages[stage]
        row = (
            f"| {stage} | {s['accuracy']:.3f} | {s['accuracy_shuffled']:.3f} | {s.get('format_rate', 0):.2f} "
            f"| {s.get('n', '')} |"
        )
        if wording:
            value = s.get(wording)
            row += f" {value:.3f} |" if isinstance(value, float) else " |"
        lines.append(row)
    gain = report.get("rl_vs_sft")
    if gain:
        paired = f", paired SE {gain['paired_se']:.3f}" if "paired_se" in gain else ""
        lines += [
            "",
            f"RL vs SFT (ordered): {gain['delta']:+.3f} (criterion: > 2 standard errors = {gain['threshold']:.3f}"
            f"{paired}) -> {'beats SFT' if gain['beats_sft'] else 'does NOT beat SFT'}",
        ]
    cpu = report.get("cpu_seconds")
    lines += [
        "",
        f"Wall time: {report['wall_seconds']:.0f} s" + (f" (process CPU {cpu:.0f} s)" if cpu else ""),
    ]
    settings = report.get("settings") or {}
    if settings:
        which = f"seeds {settings['seeds']}" if "seeds" in settings else f"seed {settings.get('seed')}"
        lines.append(f"Recipe: `{settings.get('config')}` ({which}, quick={settings.get('quick')})")
    if report.get("stage_seconds"):
        lines.append(f"Stage times: {_fmt_seconds(report['stage_seconds'])}")
    stop = report.get("sft_stop")
    if stop:
        last = stop["checks"][-1] if stop["checks"] else None
        if stop["stopped_at"] is not None and last:
            lines.append(
                f"SFT: stopped at step {stop['stopped_at']} (greedy accuracy {last['accuracy']:.3f} on "
                f"{stop['questions']} RL-split questions >= sft_stop.target_accuracy {stop['target_accuracy']})"
            )
        else:
            lines.append(
                f"SFT: ran to its cap of {stop['steps']} steps without reaching sft_stop.target_accuracy "
                f"{stop['target_accuracy']}"
            )
    if report.get("frame_cache"):
        fc = report["frame_cache"]
        lines.append(
            f"Frame cache: {fc['decodes']} media decoded once, {fc['hits']} reads served from memory"
        )
    notes = report.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _spread(values: Sequence[float]) -> dict[str, Any]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "values": list(values)}


def ablation_table(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The paper's ablation in miniature from per-seed :func:`run_seed` results (each with both arms).

    Rows ``base``, ``sft``, ``+GRPO`` (``grpo_no_temporal``), ``+T-GRPO`` (``grpo``); columns ordered and
    shuffled accuracy and their gap, each as mean, sample standard deviation over seeds, min, max and the
    per-seed values. ``rl_vs_sft`` gives each arm's per-seed change against SFT with the criterion of
    :func:`rl_gain`.
    """
    rows = []
    for label, stage in ABLATION_ROWS:
        ordered = [r["stages"][stage]["accuracy"] for r in runs]
        shuffled = [r["stages"][stage]["accuracy_shuffled"] for r in runs]
        rows.append(
            {
                "row": label,
                "stage": stage,
                "ordered": _spread(ordered),
                "shuffled": _spread(shuffled),
                "gap": _spread([o - s for o, s in zip(ordered, shuffled, strict=True)]),
            }
        )
    gains = {}
    for label, stage in ABLATION_ROWS[2:]:
        per_seed = [rl_gain(r["stages"]["sft"], r["stages"][stage]) for r in runs]
        gains[label] = {
            "delta": _spread([g["delta"] for g in per_seed]),
            "beats_sft_on_seeds": sum(g["beats_sft"] for g in per_seed),
            "per_seed": per_seed,
        }
    return {
        "seeds": [r["seed"] for r in runs],
        "rows": rows,
        "rl_vs_sft": gains,
        "sft_steps": [r.get("sft_steps") for r in runs],
    }


def render_ablation_markdown(ablation: Mapping[str, Any]) -> str:
    """The ablation table of :func:`ablation_table` as markdown."""

    def cell(s: Mapping[str, Any]) -> str:
        values = " / ".join(f"{v:.3f}" for v in s["values"])
        return f"{s['mean']:.3f} ± {s['std']:.3f} ({values})"

    seeds = ", ".join(str(s) for s in ablation["seeds"])
    lines = [
        f"## Ablation: GRPO vs T-GRPO from the same SFT checkpoint (seeds {seeds})",
        "",
        "Held-out ordered and shuffled accuracy (200 questions, chance 0.5): mean ± standard deviation over "
        "seeds, per-seed values in brackets.",
        "",
        "| row | ordered | shuffled | gap (ordered - shuffled) |",
        "|---|---|---|---|",
    ]
    for row in ablation["rows"]:
        lines.append(
            f"| {row['row']} | {cell(row['ordered'])} | {cell(row['shuffled'])} | {cell(row['gap'])} |"
        )
    lines.append("")
    for label, gain in ablation["rl_vs_sft"].items():
        deltas = " / ".join(f"{v:+.3f}" for v in gain["delta"]["values"])
        threshold = gain["per_seed"][0]["threshold"] if gain["per_seed"] else 0.0
        lines.append(
            f"- {label} vs SFT (ordered): {gain['delta']['mean']:+.3f} on average ({deltas}); beyond two "
            f"standard errors ({threshold:.3f}) on {gain['beats_sft_on_seeds']} of {len(gain['per_seed'])} seeds."
        )
    steps = ablation.get("sft_steps") or []
    if any(step is not None for step in steps):
        lines.append(f"- SFT steps per seed (sft_stop): {' / '.join(str(step) for step in steps)}.")
    if ablation.get("curves"):
        lines += ["", f"RL curves of both arms: `{ablation['curves']}`"]
    return "\n".join(lines) + "\n"


def plot_seed(run: Mapping[str, Any], out: Path, arms: Sequence[str]) -> None:
    from video_r1.plotting import plot_log_history

    seed = run["seed"]
    for arm in arms:
        name = "curves.png" if arm == "grpo" else f"curves_{arm}.png"
        title = f"video-r1 demo: {'T-GRPO' if arm == 'grpo' else 'GRPO (temporal: false)'} (seed {seed})"
        panels = RL_PANELS if arm == "grpo" else [p for p in RL_PANELS if p != "temporal"]
        plot_log_history(run["logs"][arm], out / name, panels=panels, title=title)
    try:
        plot_log_history(
            run["logs"]["sft"], out / "sft_curves.png", panels=["loss"], title=f"SFT (seed {seed})"
        )
    except ValueError:  # no loss logged (e.g. zero steps)
        pass


def seed_report(
    recipe: Mapping[str, Any], run: Mapping[str, Any], quick: bool, clock: Clock
) -> dict[str, Any]:
    rl = _rl_summary(run["logs"]["grpo"])
    spent = clock.seconds()
    return {
        "stages": run["stages"],
        "wall_seconds": spent["wall"],
        "cpu_seconds": spent["cpu"],
        "rl_vs_sft": rl_gain(run["stages"]["sft"], run["stages"]["grpo"]),
        "notes": _notes(run["stages"], rl, quick),
        "stage_seconds": run["seconds"],
        "rl_summary": rl,
        "frame_cache": run["frame_cache"],
        "sft_steps": run.get("sft_steps"),
        "sft_stop": run.get("sft_stop"),
        "settings": {
            "config": recipe["source"],
            "quick": quick,
            "seed": run["seed"],
            "parameters": run["parameters"],
            "cot_style": run["cot_style"],
            "eval_variant": recipe["eval"].get("variant", "train"),
            "torch_threads": torch_threads(),
            "chance": 0.5,
        },
    }


def ablation_report(
    recipe: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], quick: bool, clock: Clock, out: Path
) -> dict[str, Any]:
    """The top-level report of ``--ablation``: the table, ``stages`` as means over the seeds, both arms'
    RL curves drawn to ``out/ablation_curves.png``."""
    from video_r1.plotting import plot_comparison

    seeds = [r["seed"] for r in runs]
    table = ablation_table(runs)
    curves = plot_comparison(
        {label: [r["logs"][stage] for r in runs] for label, stage in ABLATION_ROWS[2:]},
        out / "ablation_curves.png",
        panels=["accuracy", "reward", "length", "temporal"],
        title=f"video-r1 demo ablation: GRPO vs T-GRPO from the same SFT checkpoint (seeds {seeds})",
    )
    table["curves"] = curves.name
    mean_stages = {
        stage: {
            key: sum(r["stages"][stage][key] for r in runs) / len(runs)
            for key in ("accuracy", "accuracy_shuffled", "format_rate", "format_rate_shuffled")
        }
        | {"n": runs[0]["stages"][stage]["n"]}
        for stage in (*REPORT_STAGES, "grpo_no_temporal")
    }
    spent = clock.seconds()
    return {
        "stages": mean_stages,
        "wall_seconds": spent["wall"],
        "cpu_seconds": spent["cpu"],
        "ablation": table,
        "notes": ablation_notes(table, quick),
        "stage_seconds": {f"seed{r['seed']}_{k}": v for r in runs for k, v in r["seconds"].items()},
        "frame_cache": {
            key: sum(r["frame_cache"][key] for r in runs) for key in ("items", "decodes", "hits")
        },
        "settings": {
            "config": recipe["source"],
            "quick": quick,
            "seeds": seeds,
            "stages_are": f"means over seeds {seeds}",
            "parameters": runs[0]["parameters"],
            "cot_style": runs[0]["cot_style"],
            "eval_variant": recipe["eval"].get("variant", "train"),
            "torch_threads": torch_threads(),
            "chance": 0.5,
        },
    }


def write_report(report: Mapping[str, Any], out: Path) -> None:
    """``report.json`` and ``report.md`` (each written whole: a kill leaves the old file or the new one)."""
    from video_r1.resumable import atomic_write_text

    atomic_write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out / "report.md", render_markdown(report))


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def ablation_notes(table: Mapping[str, Any], quick: bool) -> list[str]:
    notes = []
    if quick:
        notes.append(
            "--quick: every stage ran for a few steps only (a smoke test); accuracies are not meaningful."
        )
    rows = {row["row"]: row for row in table["rows"]}
    grpo, tgrpo = rows["+GRPO"], rows["+T-GRPO"]
    diff = tgrpo["ordered"]["mean"] - grpo["ordered"]["mean"]
    spread = max(grpo["ordered"]["std"], tgrpo["ordered"]["std"])
    verdict = (
        "within the spread over seeds (no difference shown at this scale)"
        if abs(diff) <= spread
        else ("T-GRPO ahead" if diff > 0 else "GRPO ahead")
    )
    notes.append(
        f"T-GRPO minus GRPO, ordered accuracy: {diff:+.3f} on average (seed standard deviations "
        f"{grpo['ordered']['std']:.3f} / {tgrpo['ordered']['std']:.3f}): {verdict}."
    )
    for label, gain in table["rl_vs_sft"].items():
        notes.append(
            f"{label} beat SFT by more than two standard errors on {gain['beats_sft_on_seeds']} of "
            f"{len(gain['per_seed'])} seeds (mean change {gain['delta']['mean']:+.3f})."
        )
    return notes
