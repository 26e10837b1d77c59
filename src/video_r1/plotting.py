"""Training curves from a Hugging Face ``trainer_state.json`` (its ``log_history``), for SFT and RL runs.

``log_history`` is the list of dicts the ``transformers`` Trainer logs, one per logging step, each with a
``step``. Our :class:`~video_r1.trainers.tgrpo_trainer.TGRPOTrainer` logs TRL's ``GRPOTrainer`` metrics
(``reward``, ``reward_std``, ``rewards/<func>/mean``, ``completions/mean_length``, ``kl``, ...) plus its own
(``temporal/bonus_rate``, ``temporal/ordered_accuracy``, ``temporal/shuffled_accuracy``,
``length/bonus_rate``, ``all_wrong``, ``all_correct``); SFT runs log ``loss``, ``learning_rate``,
``grad_norm`` and, with evaluation, ``eval_loss``. Evaluation entries (``eval_<key>``) are drawn in the
panel of their training key.

:func:`panels_for` chooses the panels (only those whose metrics were logged), :func:`plot_log_history`
draws them on a grid and writes a PNG, :func:`plot_run` does both for a run directory. matplotlib is used
through :class:`matplotlib.figure.Figure` and the Agg canvas only (no pyplot, no display needed).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from video_r1.errors import MissingFileError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "PANEL_HEIGHT_IN",
    "PANEL_WIDTH_IN",
    "PAPER_PANELS",
    "build_figure",
    "default_title",
    "find_trainer_state",
    "grid_shape",
    "is_rl_log",
    "load_log_history",
    "panels_for",
    "plot_comparison",
    "plot_log_history",
    "plot_run",
    "series",
]

Panel = tuple[str, list[str]]

#: Size of one panel in inches and the resolution of the PNG: a figure of ``rows x cols`` panels is
#: ``cols * PANEL_WIDTH_IN * DPI`` by ``rows * PANEL_HEIGHT_IN * DPI`` pixels.
PANEL_WIDTH_IN = 5.0
PANEL_HEIGHT_IN = 3.5
DPI = 100

#: Panels of the "paper view" by name (``--metrics accuracy,temporal,reward,length``), each with the
#: metric keys it draws.
PAPER_PANELS: dict[str, Panel] = {
    "accuracy": ("Accuracy reward", ["rewards/accuracy_reward/mean"]),
    "format": ("Format reward", ["rewards/format_reward/mean"]),
    "temporal": ("Temporal bonus rate", ["temporal/bonus_rate"]),
    "ordered": ("Ordered vs shuffled accuracy", ["temporal/ordered_accuracy", "temporal/shuffled_accuracy"]),
    "advantage": ("Advantage effect of the bonuses", ["temporal/adv_moved_frac", "length/adv_moved_frac"]),
    "reward": ("Mean reward", ["reward"]),
    "length": ("Completion length", ["completions/mean_length"]),
    "kl": ("KL", ["kl"]),
    "loss": ("Loss", ["loss"]),
    "lr": ("Learning rate", ["learning_rate"]),
    "grad_norm": ("Grad norm", ["grad_norm"]),
}

_TRAINER_STATE = "trainer_state.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_REWARD_FUNC_MEAN = re.compile(r"^rewards/(.+)/mean$")


# --------------------------------------------------------------------------------------------- loading
def find_trainer_state(run: str | Path) -> Path:
    """The ``trainer_state.json`` of ``run``: a path to the json itself, or a run directory.

    In a directory, ``DIR/trainer_state.json`` (written when training ends) is used unless the newest
    ``checkpoint-<step>`` folder (highest step with a ``trainer_state.json``) holds a later ``global_step``,
    as in a run still training or one resumed and continued. Raises ``FileNotFoundError`` when neither
    exists.
    """
    path = Path(run)
    if path.is_file():
        return path
    if not path.is_dir():
        raise MissingFileError(f"{path} does not exist (expected a run directory or a {_TRAINER_STATE})")
    top = path / _TRAINER_STATE
    checkpoints = sorted(
        (int(m.group(1)), child)
        for child in path.iterdir()
        if child.is_dir() and (m := _CHECKPOINT.match(child.name)) and (child / _TRAINER_STATE).is_file()
    )
    newest = checkpoints[-1][1] / _TRAINER_STATE if checkpoints else None
    if top.is_file() and newest is not None:
        return newest if _global_step(newest) > _global_step(top) else top
    if top.is_file():
        return top
    if newest is not None:
        return newest
    raise MissingFileError(
        f"no {_TRAINER_STATE} in {path} or in a checkpoint-* folder of it "
        "(is this a training output_dir? the Trainer writes it at each save and at the end of training)"
    )


def _global_step(path: Path) -> int:
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("global_step") or 0)
    except (OSError, ValueError):
        return -1


def load_log_history(run: str | Path) -> tuple[list[dict[str, Any]], Path]:
    """``(log_history, path)`` of the ``trainer_state.json`` found by :func:`find_trainer_state`."""
    path = find_trainer_state(run)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise ValueError(f"{path} has no log_history list (is it a trainer_state.json?)")
    return history, path


# --------------------------------------------------------------------------------------------- panels
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def series(log_history: Iterable[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """``(steps, values)`` of ``key``: entries without a ``step`` or a finite numeric ``key`` are skipped."""
    steps, values = [], []
    for entry in log_history:
        if _is_number(entry.get("step")) and _is_number(entry.get(key)):
            steps.append(float(entry["step"]))
            values.append(float(entry[key]))
    return steps, values


def _logged_keys(log_history: Sequence[dict[str, Any]]) -> list[str]:
    """Keys with at least one plottable value, in order of first appearance."""
    keys: dict[str, None] = {}
    for entry in log_history:
        if not _is_number(entry.get("step")):
            continue
        for key, value in entry.items():
            if key != "step" and _is_number(value):
                keys.setdefault(key, None)
    return list(keys)


def is_rl_log(log_history: Sequence[dict[str, Any]]) -> bool:
    """Whether the log comes from a GRPO/T-GRPO run (it logs ``reward`` or ``rewards/<func>/mean``)."""
    return _is_rl_keys(_logged_keys(log_history))


def _is_rl_keys(keys: Iterable[str]) -> bool:
    return any(k == "reward" or _REWARD_FUNC_MEAN.match(k) for k in keys)


def _auto_panels(keys: list[str]) -> list[Panel]:
    reward_funcs = [k for k in keys if _REWARD_FUNC_MEAN.match(k)]
    if _is_rl_keys(keys):
        return [
            ("Reward", ["reward", "reward_std"]),
            ("Rewards per function", reward_funcs),
            (
                "Temporal (T-GRPO)",
                ["temporal/bonus_rate", "temporal/ordered_accuracy", "temporal/shuffled_accuracy"],
            ),
            (
                "Advantage effect of the bonuses",
                [
                    "temporal/adv_moved_frac",
                    "temporal/adv_abs_change",
                    "length/adv_moved_frac",
                    "length/adv_abs_change",
                ],
            ),
            ("Group outcomes / length bonus", ["all_correct", "all_wrong", "length/bonus_rate"]),
            (
                "Completion length",
                ["completions/mean_length", "completions/min_length", "completions/max_length"],
            ),
            ("KL", ["kl"]),
            ("Loss", ["loss"]),
            ("Learning rate", ["learning_rate"]),
            ("Grad norm", ["grad_norm"]),
        ]
    return [
        ("Loss", ["loss"]),
        ("Learning rate", ["learning_rate"]),
        ("Grad norm", ["grad_norm"]),
        ("Token accuracy", ["mean_token_accuracy"]),
    ]


def _resolve(panels: Sequence[str | Panel]) -> list[Panel]:
    resolved = []
    for panel in panels:
        if isinstance(panel, str):
            if panel not in PAPER_PANELS:
                raise ValueError(f"unknown panel {panel!r}; available: {', '.join(PAPER_PANELS)}")
            resolved.append(PAPER_PANELS[panel])
        else:
            title, keys = panel
            resolved.append((title, list(keys)))
    return resolved


def panels_for(
    log_history: Sequence[dict[str, Any]], panels: Sequence[str | Panel] | None = None
) -> list[Panel]:
    """The panels to draw for ``log_history`` as ``(title, metric keys)``, in drawing order.

    Without ``panels`` the set depends on the run: RL runs get reward, rewards per function, temporal,
    group outcomes / length bonus, completion length, KL, loss, learning rate and grad norm; SFT runs get
    loss, learning rate, grad norm and token accuracy. ``panels`` fixes the set and order instead: names
    of :data:`PAPER_PANELS` (``["accuracy", "temporal", "reward", "length"]`` is the paper view) or
    ``(title, keys)`` pairs. Either way a panel keeps only keys that were logged, gains the ``eval_<key>``
    of each of them that was logged, and is dropped when none was.
    """
    keys = _logged_keys(log_history)
    present = set(keys)
    candidates = _auto_panels(keys) if panels is None else _resolve(panels)
    chosen = []
    for title, wanted in candidates:
        drawn = [k for k in wanted if k in present]
        drawn += [f"eval_{k}" for k in wanted if f"eval_{k}" in present]
        if drawn:
            chosen.append((title, drawn))
    return chosen


# --------------------------------------------------------------------------------------------- drawing
def grid_shape(n: int) -> tuple[int, int]:
    """``(rows, cols)`` for ``n`` panels: one column for 1, two up to 4, three beyond."""
    if n <= 0:
        raise ValueError("at least one panel is needed")
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    return math.ceil(n / cols), cols


def _label(key: str) -> str:
    m = _REWARD_FUNC_MEAN.match(key.removeprefix("eval_"))
    label = m.group(1) if m else key.removeprefix("eval_")
    return f"{label} (eval)" if key.startswith("eval_") else label


def build_figure(
    log_history: Sequence[dict[str, Any]], panels: Sequence[Panel], title: str | None = None
) -> Figure:
    """A matplotlib Figure with one axes per entry of ``panels`` (already resolved), x axis ``step``."""
    from matplotlib.figure import Figure

    rows, cols = grid_shape(len(panels))
    fig = Figure(figsize=(cols * PANEL_WIDTH_IN, rows * PANEL_HEIGHT_IN), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    for ax, (panel_title, keys) in zip(axes, panels):
        for key in keys:
            steps, values = series(log_history, key)
            ax.plot(
                steps,
                values,
                label=_label(key),
                marker="o" if len(steps) <= 30 else None,
                markersize=3,
                linewidth=1.4,
                linestyle="--" if key.startswith("eval_") else "-",
            )
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
        if panel_title == "Learning rate":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        if len(keys) > 1:
            ax.legend(fontsize=7)
        else:
            ax.set_ylabel(_label(keys[0]), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_log_history(
    log_history: Sequence[dict[str, Any]],
    out_path: str | Path,
    panels: Sequence[str | Panel] | None = None,
    title: str | None = None,
) -> Path:
    """Draw ``log_history`` (a Trainer ``log_history`` list) to the PNG ``out_path``; returns its path.

    ``panels`` is as in :func:`panels_for` (``None`` for the automatic set, e.g.
    ``["accuracy", "temporal", "reward", "length"]`` for the paper view). Raises ``ValueError`` when no
    chosen metric was logged. The PNG's ``Panels`` text chunk lists the panel titles drawn.
    """
    chosen = panels_for(log_history, panels)
    if not chosen:
        wanted = "the automatic set" if panels is None else ", ".join(t for t, _ in _resolve(panels))
        raise ValueError(f"no metric of {wanted} was logged in this log history (nothing to plot)")
    fig = build_figure(log_history, chosen, title=title)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", metadata={"Panels": " | ".join(t for t, _ in chosen)})
    return out


def _mean_series(histories: Sequence[Sequence[dict[str, Any]]], key: str) -> tuple[list[float], list[float]]:
    """Mean of ``key`` over the runs that logged each step (steps in increasing order)."""
    by_step: dict[float, list[float]] = {}
    for history in histories:
        for step, value in zip(*series(history, key), strict=True):
            by_step.setdefault(step, []).append(value)
    steps = sorted(by_step)
    return steps, [sum(by_step[s]) / len(by_step[s]) for s in steps]


def plot_comparison(
    runs: dict[str, Sequence[Sequence[dict[str, Any]]]],
    out_path: str | Path,
    panels: Sequence[str | Panel],
    title: str | None = None,
) -> Path:
    """Overlay several arms of an experiment (e.g. GRPO vs T-GRPO), each repeated over seeds, on one PNG.

    ``runs`` maps an arm's label to the ``log_history`` of each of its runs. In every panel (names of
    :data:`PAPER_PANELS` or ``(title, keys)``; a panel's first logged key is drawn) each arm gets one colour:
    its individual runs as thin lines, their mean per step as a thick line. Raises ``ValueError`` when no
    panel has data. The PNG's ``Panels`` text chunk lists the panel titles, ``Arms`` the labels.
    """
    from matplotlib.figure import Figure

    every = [h for histories in runs.values() for h in histories]
    present = set().union(*(_logged_keys(h) for h in every)) if every else set()
    chosen = []
    for panel_title, keys in _resolve(panels):
        key = next((k for k in keys if k in present), None)
        if key is not None:
            chosen.append((panel_title, key))
    if not chosen:
        raise ValueError("no metric of the chosen panels was logged by any run (nothing to plot)")
    rows, cols = grid_shape(len(chosen))
    fig = Figure(figsize=(cols * PANEL_WIDTH_IN, rows * PANEL_HEIGHT_IN), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(chosen) :]:
        fig.delaxes(ax)
    colours = [f"C{i}" for i in range(10)]
    for ax, (panel_title, key) in zip(axes, chosen):
        for index, (label, histories) in enumerate(runs.items()):
            colour = colours[index % len(colours)]
            for history in histories:
                ax.plot(*series(history, key), color=colour, linewidth=0.8, alpha=0.35)
            steps, mean = _mean_series(histories, key)
            if steps:
                n = len(histories)
                ax.plot(steps, mean, color=colour, linewidth=2.0, label=f"{label} (mean of {n})")
        ax.set_title(panel_title, fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.set_ylabel(_label(key), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(
        out, format="png", metadata={"Panels": " | ".join(t for t, _ in chosen), "Arms": " | ".join(runs)}
    )
    return out


def plot_run(
    run_dir_or_json: str | Path,
    out_path: str | Path,
    title: str | None = None,
    panels: Sequence[str | Panel] | None = None,
) -> Path:
    """Plot the ``trainer_state.json`` of a run (see :func:`find_trainer_state`) to ``out_path``.

    The default title names the run directory, its kind (RL or SFT) and the last logged step.
    """
    history, state_path = load_log_history(run_dir_or_json)
    if title is None:
        title = default_title(history, state_path)
    return plot_log_history(history, out_path, panels=panels, title=title)


def default_title(log_history: Sequence[dict[str, Any]], state_path: str | Path) -> str:
    """``"<run>[/checkpoint-N] (RL|SFT, step <last logged step>)"``."""
    parent = Path(state_path).parent
    run_name = f"{parent.parent.name}/{parent.name}" if _CHECKPOINT.match(parent.name) else parent.name
    steps = [e["step"] for e in log_history if _is_number(e.get("step"))]
    kind = "RL" if is_rl_log(log_history) else "SFT"
    return f"{run_name} ({kind}, step {int(max(steps)) if steps else 0})"
