"""The arms of an ablation compared over seeds: per-arm metrics (mean ± standard error) and each arm against
the baseline arm, paired by seed.

Every arm of a seed starts from that seed's SFT checkpoint and is evaluated on that seed's held-out split,
so the arms' differences are paired by seed: an arm *beats* the baseline when the mean over seeds of its
per-seed difference in held-out ordered accuracy exceeds two standard errors of that mean
(``std(differences) / sqrt(seeds)``). With one seed there is no standard error and no verdict.

Metrics (:data:`METRICS`): held-out accuracy on ordered and shuffled frames, split by the shortcut cue when
the data has one (:func:`~video_r1.demo.evaluate.cue_split`); from the trainer's log history the sampled
completions' accuracy reward and the shuffled rollouts' accuracy (``temporal/shuffled_accuracy``, the
in-training shortcut rate: a cue-following model keeps it at the training cue agreement, an order-reading
one drops it to chance) as means over the second half of the steps; and the advantage-effect metrics
(``temporal/adv_moved_frac`` etc.) as means over all steps. A metric an arm never logged is ``None``
("n/a").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: (key, label, source, name): ``source`` "stage" reads ``run["stages"][arm][name]``, "last_half" the mean
#: of log key ``name`` over the second half of the logged steps, "all_steps" its mean over every step.
METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("heldout_ordered", "held-out ordered", "stage", "accuracy"),
    ("heldout_shuffled", "held-out shuffled", "stage", "accuracy_shuffled"),
    ("heldout_cue_agrees", "held-out ordered, cue agrees", "stage", "accuracy_cue_agrees"),
    ("heldout_cue_disagrees", "held-out ordered, cue disagrees", "stage", "accuracy_cue_disagrees"),
    ("train_accuracy", "RL accuracy reward (2nd half)", "last_half", "rewards/accuracy_reward/mean"),
    (
        "train_shuffled_accuracy",
        "RL shuffled-rollout accuracy (2nd half)",
        "last_half",
        "temporal/shuffled_accuracy",
    ),
    ("temporal_adv_moved_frac", "temporal: advantage moved (frac)", "all_steps", "temporal/adv_moved_frac"),
    ("temporal_adv_abs_change", "temporal: advantage abs change", "all_steps", "temporal/adv_abs_change"),
    ("length_adv_moved_frac", "length: advantage moved (frac)", "all_steps", "length/adv_moved_frac"),
    ("length_adv_abs_change", "length: advantage abs change", "all_steps", "length/adv_abs_change"),
)


def mean_se(values: Sequence[float]) -> dict[str, Any] | None:
    """Mean, sample standard deviation and standard error of the mean (``None`` with fewer than 2 values)
    of ``values``; ``None`` for no values."""
    values = [float(v) for v in values]
    n = len(values)
    if not n:
        return None
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {
        "mean": mean,
        "std": std,
        "se": std / math.sqrt(n) if std is not None else None,
        "n": n,
        "values": values,
    }


def _log_values(log_history: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [
        float(e[key])
        for e in log_history
        if "step" in e and isinstance(e.get(key), int | float) and not isinstance(e.get(key), bool)
    ]


def seed_metric(run: Mapping[str, Any], arm: str, source: str, name: str) -> float | None:
    """One seed's value of a metric of :data:`METRICS` for ``arm`` (``None``: not measured)."""
    if source == "stage":
        value = run["stages"].get(arm, {}).get(name)
        return float(value) if isinstance(value, int | float) else None
    values = _log_values(run["logs"].get(arm) or [], name)
    if not values:
        return None
    if source == "last_half":
        values = values[len(values) // 2 :]
    return sum(values) / len(values)


def arm_metrics(runs: Sequence[Mapping[str, Any]], arm: str) -> dict[str, dict[str, Any] | None]:
    """Each metric of :data:`METRICS` over the seeds of ``runs`` (``None`` when no seed measured it)."""
    out = {}
    for key, _, source, name in METRICS:
        values = [seed_metric(run, arm, source, name) for run in runs]
        out[key] = mean_se([v for v in values if v is not None])
    return out


def paired_vs(
    runs: Sequence[Mapping[str, Any]], arm: str, baseline: str, name: str = "accuracy"
) -> dict[str, Any]:
    """``arm`` minus ``baseline`` in the stage value ``name`` (held-out ordered accuracy), paired by seed:
    per-seed differences, their mean and standard error, and ``beats`` (mean > 2 standard errors; ``None``
    with one seed)."""
    diffs = [float(r["stages"][arm][name]) - float(r["stages"][baseline][name]) for r in runs]
    stats = mean_se(diffs) or {"mean": 0.0, "se": None, "n": 0, "values": []}
    se = stats["se"]
    beats = None if se is None else stats["mean"] > 2 * se
    worse = None if se is None else stats["mean"] < -2 * se
    return {"diff": stats["mean"], "se": se, "values": diffs, "n": len(diffs), "beats": beats, "worse": worse}


def compare_arms(
    runs: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The comparison of every arm of ``labels`` (name -> label, in order; the first is the baseline)."""
    names = list(labels)
    baseline = names[0]
    arms = {}
    for name in names:
        arms[name] = {
            "label": labels[name],
            "overrides": dict((overrides or {}).get(name) or {}),
            "metrics": arm_metrics(runs, name),
            "vs_baseline": None if name == baseline else paired_vs(runs, name, baseline),
        }
    winners = [n for n in names[1:] if arms[n]["vs_baseline"]["beats"]]
    return {
        "baseline": baseline,
        "seeds": [r["seed"] for r in runs],
        "arms": arms,
        "winners": winners,
        "metrics": [{"key": k, "label": label, "source": src, "name": n} for k, label, src, n in METRICS],
    }


def _cell(stats: Mapping[str, Any] | None, digits: int = 3) -> str:
    if stats is None:
        return "n/a"
    if stats.get("se") is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f} ± {stats['se']:.{digits}f}"


def verdict(comparison: Mapping[str, Any]) -> str:
    """One sentence: which arms beat the baseline by more than two standard errors (paired by seed)."""
    arms, baseline = comparison["arms"], comparison["baseline"]
    base = arms[baseline]["label"]
    others = [n for n in arms if n != baseline]
    if not others:
        return f"Only one arm ({base}); nothing to compare."
    if len(comparison["seeds"]) < 2:
        return f"One seed: no standard error over seeds, so no arm can be shown to beat {base}."

    def diff(n: str) -> str:
        v = arms[n]["vs_baseline"]
        return f"{arms[n]['label']} {v['diff']:+.3f} ± {v['se']:.3f}"

    if comparison["winners"]:
        return (
            f"Beat {base} in held-out ordered accuracy by more than two standard errors of the paired "
            f"difference (seeds {comparison['seeds']}): "
            + "; ".join(diff(n) for n in comparison["winners"])
            + "."
        )
    best = max(others, key=lambda n: arms[n]["vs_baseline"]["diff"])
    return (
        f"No arm beat {base} in held-out ordered accuracy by more than two standard errors of the paired "
        f"difference (seeds {comparison['seeds']}); the largest difference: {diff(best)}."
    )


def _setting(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_comparison_markdown(comparison: Mapping[str, Any]) -> str:
    """The comparison as markdown: held-out metrics and the paired difference with the baseline in one
    table, the RL-log metrics in a second; one row per arm, mean ± standard error over seeds."""
    arms = comparison["arms"]
    base = arms[comparison["baseline"]]["label"]
    held = [m for m in comparison["metrics"] if m["source"] == "stage"]
    logged = [m for m in comparison["metrics"] if m["source"] != "stage"]
    lines = [
        f"## Arms compared with {base} (mean ± standard error over seeds {comparison['seeds']})",
        "",
        "Held-out = the test split (for the shortcut task: the cue broken), greedy; last column: the arm's "
        f"held-out ordered accuracy minus {base}'s, paired by seed (**beats**: above two standard errors).",
        "",
        "| arm | settings | " + " | ".join(m["label"] for m in held) + f" | ordered vs {base} (paired) |",
        "|---|---|" + "---|" * len(held) + "---|",
    ]
    for arm in arms.values():
        settings = (
            ", ".join(f"{k}: {_setting(v)}" for k, v in arm["overrides"].items()) or "(the grpo section)"
        )
        vs = arm["vs_baseline"]
        if vs is None:
            versus = "baseline"
        elif vs["se"] is None:
            versus = f"{vs['diff']:+.3f}"
        else:
            mark = " **beats**" if vs["beats"] else (" worse" if vs["worse"] else "")
            versus = f"{vs['diff']:+.3f} ± {vs['se']:.3f}{mark}"
        cells = [_cell(arm["metrics"][m["key"]]) for m in held]
        lines.append(f"| {arm['label']} | {settings} | " + " | ".join(cells) + f" | {versus} |")
    lines += [
        "",
        "During RL (the trainer's logs; accuracies: mean over the second half of the steps, the shuffled "
        "rollouts' accuracy being the in-training shortcut rate; advantage effects: mean over all steps; n/a = "
        "not logged by that arm):",
        "",
        "| arm | " + " | ".join(m["label"] for m in logged) + " |",
        "|---|" + "---|" * len(logged),
    ]
    for arm in arms.values():
        lines.append(
            f"| {arm['label']} | " + " | ".join(_cell(arm["metrics"][m["key"]]) for m in logged) + " |"
        )
    lines += ["", verdict(comparison)]
    return "\n".join(lines) + "\n"
