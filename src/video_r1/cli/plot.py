"""``video-r1 plot --run DIR``: draw a run's training curves from its ``trainer_state.json``.

Works on SFT and RL (T-GRPO) output directories, finished or still training (the newest
``checkpoint-*`` is used then), and needs no display (matplotlib's Agg canvas). See
``video_r1.plotting`` for the panels.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.resumable import check_output_path

#: Names accepted by ``--metrics`` (kept here so ``video-r1 --help`` need not import the plotting module).
METRIC_NAMES = (
    "accuracy",
    "format",
    "temporal",
    "ordered",
    "advantage",
    "reward",
    "length",
    "kl",
    "loss",
    "lr",
    "grad_norm",
)


@dataclass
class PlotArguments:
    """Settings of ``video-r1 plot``."""

    run: str | None = field(
        default=None,
        metadata={
            "help": "Training output_dir, one of its checkpoint-* folders, or a trainer_state.json path."
        },
    )
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "PNG to write (default: RUN_DIR/curves.png, the run directory rather than a checkpoint-* "
            "folder).",
            "aliases": ["--out"],
        },
    )
    metrics: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated fixed panels in this order instead of the automatic set, e.g. "
            f"'accuracy,temporal,reward,length' (the paper view); names: {', '.join(METRIC_NAMES)}."
        },
    )
    title: str | None = field(
        default=None, metadata={"help": "Figure title (default: run name, RL/SFT, last step)."}
    )

    def __post_init__(self) -> None:
        if not self.run:
            raise ValueError("--run (the training output_dir or a trainer_state.json) is required")
        if self.output_dir is not None:
            check_output_path(Path(self.output_dir).parent, "--output_dir's folder")
        self.panels = None
        if self.metrics is not None:
            self.panels = [name.strip() for name in self.metrics.split(",") if name.strip()]
            unknown = [name for name in self.panels if name not in METRIC_NAMES]
            if unknown or not self.panels:
                raise ValueError(
                    f"unknown --metrics {unknown or self.metrics!r}; choose from {','.join(METRIC_NAMES)}"
                )


PROG = "video-r1 plot"
HELP = "plot a run's training curves (trainer_state.json log_history) to a PNG"
DESCRIPTION = (
    "Read the log_history of RUN's trainer_state.json (RUN itself, its newest checkpoint-* folder, or a path to "
    "the json) and draw one panel per metric group with the step on the x axis. RL runs get reward, rewards per "
    "function, temporal (T-GRPO) rates, group outcomes / length bonus, completion length, KL, loss, learning rate "
    "and grad norm; SFT runs get loss, learning rate, grad norm and token accuracy; eval_<metric> values join "
    "their metric's panel. Only logged metrics are drawn."
)


def build_parser():
    return _build(PROG, [PlotArguments], DESCRIPTION)


def _default_out(run_arg: str) -> Path:
    path = Path(run_arg)
    directory = path.parent if path.is_file() else path
    if directory.name.startswith("checkpoint-"):
        directory = directory.parent
    return directory / "curves.png"


def main(argv: list[str]) -> int:
    from video_r1.plotting import PAPER_PANELS, default_title, load_log_history, panels_for, plot_log_history

    (args,) = parse_command(PROG, [PlotArguments], argv, description=DESCRIPTION)
    panels = args.panels
    out = Path(args.output_dir) if args.output_dir else _default_out(args.run)
    try:
        history, state_path = load_log_history(args.run)
        drawn = panels_for(history, panels)
        if panels is not None:
            titles = {title for title, _ in drawn}
            missing = [name for name in panels if PAPER_PANELS[name][0] not in titles]
            if missing:
                print(f"{PROG}: note: not logged, skipped: {','.join(missing)}", file=sys.stderr)
        title = args.title if args.title is not None else default_title(history, state_path)
        path = plot_log_history(history, out, panels=panels, title=title)
    except (FileNotFoundError, ValueError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    print(f"{len(drawn)} panel(s) from {state_path} -> {path}")
    for title, keys in drawn:
        print(f"  {title}: {', '.join(keys)}")
    return 0
