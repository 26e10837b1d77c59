"""``video-r1 plot --run DIR``: draw a run's training curves from its ``trainer_state.json``.

Works on SFT and RL (T-GRPO) output directories, finished or still training (the newest
``checkpoint-*`` is used then), and needs no display (matplotlib's Agg canvas). See
``video_r1.plotting`` for the panels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Names accepted by ``--metrics`` (kept here so ``video-r1 --help`` need not import the plotting module).
METRIC_NAMES = (
    "accuracy",
    "format",
    "temporal",
    "ordered",
    "reward",
    "length",
    "kl",
    "loss",
    "lr",
    "grad_norm",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="plot a run's training curves (trainer_state.json log_history) to a PNG",
        description=(
            "Read the log_history of RUN's trainer_state.json (RUN itself, its newest checkpoint-* folder, or a "
            "path to the json) and draw one panel per metric group with the step on the x axis. RL runs get "
            "reward, rewards per function, temporal (T-GRPO) rates, group outcomes / length bonus, completion "
            "length, KL, loss, learning rate and grad norm; SFT runs get loss, learning rate, grad norm and "
            "token accuracy; eval_<metric> values join their metric's panel. Only logged metrics are drawn."
        ),
    )
    parser.add_argument(
        "--run",
        required=True,
        help="training output_dir, one of its checkpoint-* folders, or a trainer_state.json path",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="PNG to write (default: RUN_DIR/curves.png, the run directory rather than a checkpoint-* folder)",
    )
    parser.add_argument(
        "--metrics",
        default=None,
        help=(
            "comma-separated fixed panels in this order instead of the automatic set, e.g. "
            f"'accuracy,temporal,reward,length' (the paper view); names: {', '.join(METRIC_NAMES)}"
        ),
    )
    parser.add_argument("--title", default=None, help="figure title (default: run name, RL/SFT, last step)")
    parser.set_defaults(func=run)


def _default_out(run_arg: str) -> Path:
    path = Path(run_arg)
    directory = path.parent if path.is_file() else path
    if directory.name.startswith("checkpoint-"):
        directory = directory.parent
    return directory / "curves.png"


def run(args: argparse.Namespace) -> int:
    from video_r1.plotting import PAPER_PANELS, default_title, load_log_history, panels_for, plot_log_history

    panels = None
    if args.metrics is not None:
        panels = [name.strip() for name in args.metrics.split(",") if name.strip()]
        unknown = [name for name in panels if name not in PAPER_PANELS]
        if unknown or not panels:
            print(
                f"video-r1 plot: error: unknown --metrics {unknown or args.metrics!r}; "
                f"choose from {','.join(PAPER_PANELS)}",
                file=sys.stderr,
            )
            return 2
    out = Path(args.out) if args.out else _default_out(args.run)
    try:
        history, state_path = load_log_history(args.run)
        drawn = panels_for(history, panels)
        if panels is not None:
            titles = {title for title, _ in drawn}
            missing = [name for name in panels if PAPER_PANELS[name][0] not in titles]
            if missing:
                print(f"video-r1 plot: note: not logged, skipped: {','.join(missing)}", file=sys.stderr)
        title = args.title if args.title is not None else default_title(history, state_path)
        path = plot_log_history(history, out, panels=panels, title=title)
    except (FileNotFoundError, ValueError) as err:
        print(f"video-r1 plot: error: {err}", file=sys.stderr)
        return 1
    print(f"{len(drawn)} panel(s) from {state_path} -> {path}")
    for title, keys in drawn:
        print(f"  {title}: {', '.join(keys)}")
    return 0
