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

from video_r1.demo.compare import compare_arms, render_comparison_markdown, verdict
from video_r1.demo.evaluate import rl_gain

#: Stages of the report, in pipeline order.
REPORT_STAGES = ("base", "sft", "grpo")
#: Panels of curves.png (names of :data:`video_r1.plotting.PAPER_PANELS`).
RL_PANELS = ["accuracy", "temporal", "reward", "length"]
#: Panels of ablation_curves.png: each is drawn when some arm logged it (the advantage-effect metrics appear
#: once the trainer logs them).
ABLATION_PANELS = [
    "accuracy",
    ("Shuffled-rollout accuracy", ["temporal/shuffled_accuracy"]),
    "temporal",
    ("Temporal bonus: advantages moved (frac)", ["temporal/adv_moved_frac"]),
    "reward",
    "length",
]
#: Rows of the default recipe's ablation table: (label, stage); a recipe's ``arms`` give their own rows.
ABLATION_ROWS = (("base", "base"), ("SFT", "sft"), ("+GRPO", "grpo_no_temporal"), ("+T-GRPO", "grpo"))
#: Arm labels of a single run (the recipe's ``grpo`` section) and of the default ablation.
SINGLE_LABELS = {"grpo": "T-GRPO"}
DEFAULT_LABELS = {"grpo_no_temporal": "GRPO", "grpo": "T-GRPO"}


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


def _notes(
    stages: Mapping[str, Mapping[str, Any]],
    rls: Mapping[str, Mapping[str, Any]],
    quick: bool,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Notes of one seed: each arm against SFT, the last arm's RL summary and frame-order criterion."""
    labels = dict(labels or SINGLE_LABELS)
    notes = []
    if quick:
        notes.append(
            "--quick: every stage ran for a few steps only (a smoke test); accuracies are not meaningful."
        )
    sft = stages["sft"]
    for arm, label in labels.items():
        rl_stage = stages[arm]
        gain = rl_gain(sft, rl_stage)
        paired = f", paired standard error {gain['paired_se']:.3f}" if "paired_se" in gain else ""
        change = (
            f"sft {sft['accuracy']:.3f} -> {arm} {rl_stage['accuracy']:.3f} on ordered frames (change "
            f"{gain['delta']:+.3f}; 2 standard errors = {gain['threshold']:.3f} for n={rl_stage.get('n')}{paired})"
        )
        if gain["beats_sft"]:
            notes.append(f"{label} improved held-out accuracy beyond two standard errors: {change}.")
        elif gain["delta"] < -gain["threshold"]:
            notes.append(f"{label} lowered held-out accuracy beyond two standard errors: {change}.")
        else:
            notes.append(f"{label} did NOT improve held-out accuracy beyond two standard errors: {change}.")
    main = list(labels)[-1]
    rl = rls.get(main) or {}
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
    last = stages[main]
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
    order = ["base", "sft", *[stage for stage in stages if stage not in ("base", "sft")]]
    wording = next(
        (
            k
            for stage in order[2:]
            for k in stages[stage]
            if k.startswith("accuracy_") and k.endswith("_wording")
        ),
        None,
    )
    lines = ["# video-r1 demo report", ""]
    ablation = report.get("ablation")
    if ablation:
        lines += render_ablation_markdown(ablation).splitlines() + [""]
        if ablation.get("comparison"):
            lines += render_comparison_markdown(ablation["comparison"]).splitlines() + [""]
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
    for stage in order:
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


def _rows(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    return [("base", "base"), ("SFT", "sft"), *[(f"+{label}", arm) for arm, label in labels.items()]]


def ablation_table(
    runs: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The paper's ablation in miniature from per-seed :func:`run_seed` results (each with every arm).

    ``labels``: arm -> label, in order (default: ``grpo_no_temporal`` GRPO, ``grpo`` T-GRPO). Rows ``base``,
    ``SFT`` and ``+<label>`` per arm; columns ordered and shuffled accuracy and their gap, each as mean,
    sample standard deviation over seeds, min, max and the per-seed values. ``rl_vs_sft`` gives each arm's
    per-seed change against SFT with the criterion of :func:`rl_gain`.
    """
    rows_spec = _rows(labels or DEFAULT_LABELS)
    rows = []
    for label, stage in rows_spec:
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
    for label, stage in rows_spec[2:]:
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
    arms = " vs ".join(row["row"].removeprefix("+") for row in ablation["rows"][2:])
    n = ablation.get("n_test")
    lines = [
        f"## Ablation: {arms} from the same SFT checkpoint (seeds {seeds})",
        "",
        f"Held-out ordered and shuffled accuracy ({n if n else 200} questions, chance 0.5): mean ± standard "
        "deviation over seeds, per-seed values in brackets.",
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
        lines += ["", f"RL curves of every arm: `{ablation['curves']}`"]
    return "\n".join(lines) + "\n"


def plot_seed(run: Mapping[str, Any], out: Path, labels: Mapping[str, str]) -> None:
    """``curves.png`` (arm ``grpo``) or ``curves_<arm>.png`` per arm, ``sft_curves.png``."""
    from video_r1.plotting import plot_log_history

    seed = run["seed"]
    for arm, label in labels.items():
        name = "curves.png" if arm == "grpo" else f"curves_{arm}.png"
        logged = any("temporal/bonus_rate" in entry for entry in run["logs"][arm])
        panels = RL_PANELS if logged else [p for p in RL_PANELS if p != "temporal"]
        title = f"video-r1 demo: {label} (seed {seed})"
        plot_log_history(run["logs"][arm], out / name, panels=panels, title=title)
    try:
        plot_log_history(
            run["logs"]["sft"], out / "sft_curves.png", panels=["loss"], title=f"SFT (seed {seed})"
        )
    except ValueError:  # no loss logged (e.g. zero steps)
        pass


def seed_report(
    recipe: Mapping[str, Any],
    run: Mapping[str, Any],
    quick: bool,
    clock: Clock,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report of one seed; ``labels`` (arm -> label; default the single run's ``grpo``: T-GRPO) names
    its arms, the last of which is the one ``rl_vs_sft`` and ``rl_summary`` describe."""
    labels = dict(labels or SINGLE_LABELS)
    main = list(labels)[-1]
    rls = {arm: _rl_summary(run["logs"][arm]) for arm in labels}
    spent = clock.seconds()
    return {
        "stages": run["stages"],
        "wall_seconds": spent["wall"],
        "cpu_seconds": spent["cpu"],
        "rl_vs_sft": rl_gain(run["stages"]["sft"], run["stages"][main]),
        "notes": _notes(run["stages"], rls, quick, labels),
        "stage_seconds": run["seconds"],
        "rl_summary": rls[main],
        **({"rl_summaries": rls} if len(labels) > 1 else {}),
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
    recipe: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    quick: bool,
    clock: Clock,
    out: Path,
    labels: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The top-level report of ``--ablation``: the table, the arms' comparison with the first arm
    (:func:`~video_r1.demo.compare.compare_arms`), ``stages`` as means over the seeds, every arm's RL curves
    drawn to ``out/ablation_curves.png``. ``labels``: arm -> label (default: the default recipe's arms)."""
    from video_r1.plotting import plot_comparison

    labels = dict(labels or DEFAULT_LABELS)
    seeds = [r["seed"] for r in runs]
    table = ablation_table(runs, labels)
    table["n_test"] = runs[0]["stages"]["sft"].get("n")
    table["comparison"] = compare_arms(runs, labels, overrides)
    names = " vs ".join(labels.values())
    curves = plot_comparison(
        {f"+{label}": [r["logs"][arm] for r in runs] for arm, label in labels.items()},
        out / "ablation_curves.png",
        panels=ABLATION_PANELS,
        title=f"video-r1 demo ablation: {names} from the same SFT checkpoint (seeds {seeds})",
    )
    table["curves"] = curves.name
    keys = ("accuracy", "accuracy_shuffled", "format_rate", "format_rate_shuffled")
    mean_stages = {
        stage: {key: sum(r["stages"][stage][key] for r in runs) / len(runs) for key in keys}
        | {"n": runs[0]["stages"][stage]["n"]}
        for stage in ("base", "sft", *labels)
    }
    spent = clock.seconds()
    return {
        "stages": mean_stages,
        "wall_seconds": spent["wall"],
        "cpu_seconds": spent["cpu"],
        "ablation": table,
        "notes": ablation_notes(table, quick),
        "arms": {
            arm: {"label": label, "overrides": dict((overrides or {}).get(arm) or {})}
            for arm, label in labels.items()
        },
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
    comparison = table.get("comparison")
    if comparison:
        notes.append(verdict(comparison))
    for label, gain in table["rl_vs_sft"].items():
        notes.append(
            f"{label} beat SFT by more than two standard errors on {gain['beats_sft_on_seeds']} of "
            f"{len(gain['per_seed'])} seeds (mean change {gain['delta']['mean']:+.3f})."
        )
    return notes
