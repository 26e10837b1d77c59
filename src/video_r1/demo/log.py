"""The demo's training log: one short line every few steps instead of one metric dict per step.

The demo logs every step to the trainer state (``logging_steps: 1``, for the curves and ``video-r1 plot``);
Transformers' own callbacks print each of those as a ~1.2 KB dict (108 of them in a demo run). The trainer
state keeps every value; the console gets ``[grpo] step 40/300  loss 0.012  reward 1.31  len 24.5``.
"""

from __future__ import annotations

import sys
from typing import Any

from transformers import PrinterCallback, ProgressCallback, TrainerCallback

#: (logged key, short name) shown when present, in this order.
SHOWN = (
    ("loss", "loss"),
    ("mean_token_accuracy", "token_acc"),
    ("reward", "reward"),
    ("rewards/accuracy_reward/mean", "accuracy"),
    ("completions/mean_length", "len"),
    ("learning_rate", "lr"),
)


def compact_line(stage: str, state: Any, logs: dict[str, Any]) -> str | None:
    """The console line for one ``on_log`` call (``None``: nothing to show)."""
    if "train_runtime" in logs:
        return f"[{stage}] {state.global_step} steps in {logs['train_runtime']:.0f} s"
    parts = [f"{short} {logs[key]:.3g}" for key, short in SHOWN if isinstance(logs.get(key), int | float)]
    return f"[{stage}] step {state.global_step}/{state.max_steps}  " + "  ".join(parts) if parts else None


class CompactLog(TrainerCallback):
    """Print :func:`compact_line` on the first and last step and every ``every`` steps."""

    def __init__(self, stage: str, every: int = 10, write=None) -> None:
        self.stage, self.every = stage, max(1, every)
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        step = state.global_step
        if "train_runtime" not in logs and step not in (1, state.max_steps) and step % self.every:
            return
        line = compact_line(self.stage, state, logs)
        if line:
            self.write(line)


class CompactProgress(ProgressCallback):
    """Transformers' progress bar with :class:`CompactLog` lines written above it."""

    def __init__(self, stage: str, every: int = 10) -> None:
        super().__init__()
        self.log = CompactLog(stage, every, write=self._write)

    def _write(self, line: str) -> None:
        if self.training_bar is not None:
            self.training_bar.write(line)
        else:
            print(line, file=sys.stderr, flush=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.log.on_log(args, state, control, logs=logs, **kwargs)


def use_compact_log(trainer: Any, stage: str, progress: bool, every: int = 10) -> None:
    """Replace ``trainer``'s per-step metric printing by :class:`CompactLog` (with the bar if ``progress``)."""
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(CompactProgress(stage, every) if progress else CompactLog(stage, every))
