"""Optimizer steps, shared by the SFT and RL configs: the global batch and the learning-rate horizon.

Two settings decide what one optimizer step means, and the original fixed both through its launch scripts
rather than its configs:

* **global batch** - the original always ran 4 GPUs x 1 prompt (x 8 completions in RL) with gradient
  accumulation 1 (RL) or 2 (SFT: 8 samples per step). A launcher that takes every visible GPU silently
  changes that on another machine. ``prompts_per_step`` states the number per optimizer step in the recipe,
  and ``gradient_accumulation_steps`` is derived from it and the number of processes at start-up (an error
  if it does not divide).
* **learning-rate horizon** - the original's RL run used a cosine schedule over one epoch of
  Video-R1-260k (65,768 steps at 4 prompts per step) and stopped after ~1.2k steps, so its learning rate
  stayed at 1e-6 (it decays by < 0.1 % by then). ``lr_decay_steps`` sets the schedule's length
  independently of ``max_steps``, which reproduces that exactly; a cosine over ``max_steps`` alone would
  decay to 0 (mean LR 5.0e-7 over 1000 steps).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from video_r1.resumable import check_output_path

logger = logging.getLogger(__name__)


def derive_gradient_accumulation(
    prompts_per_step: int,
    prompts_per_device_batch: float,
    world_size: int,
    *,
    setting: str = "prompts_per_step",
) -> int:
    """Gradient accumulation steps so that one optimizer step sees ``prompts_per_step`` prompts.

    ``prompts_per_device_batch`` is the prompts one process handles per micro-batch (RL:
    ``per_device_train_batch_size / num_generations``; SFT: ``per_device_train_batch_size``).
    """
    if prompts_per_step < 1:
        raise ValueError(f"{setting} must be >= 1, got {prompts_per_step}")
    per_micro_step = prompts_per_device_batch * world_size
    steps = prompts_per_step / per_micro_step
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        raise ValueError(
            f"{setting}={prompts_per_step} cannot be split over {world_size} process(es) x "
            f"{prompts_per_device_batch:g} prompt(s) per micro-batch: it must be a multiple of "
            f"{per_micro_step:g}. Change the number of processes (GPUS_PER_NODE, NNODES), the per-device batch, "
            f"or {setting} (the original: 4 prompts per RL step, 8 samples per SFT step)"
        )
    return int(round(steps))


def launch_world_size() -> int:
    """Processes of this run, as set by torchrun / accelerate / deepspeed (1 when not launched)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class StepsConfigMixin:
    """Global batch and LR horizon fields (see the module docstring)."""

    prompts_per_step: int | None = field(
        default=None,
        metadata={
            "help": "Prompts (SFT: records) per optimizer step over all processes. When set, "
            "gradient_accumulation_steps is derived from it and the number of processes at start-up, so the "
            "global batch does not change with the machine (the original: 4 prompts x 8 completions per RL step, "
            "8 samples per SFT step). None: use gradient_accumulation_steps as given."
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Train into an output_dir that already holds a run: its checkpoint-* folders and final model "
            "files are deleted first. Without it such a folder is refused (resume it with "
            "--resume_from_checkpoint last instead)."
        },
    )
    lr_decay_steps: int | None = field(
        default=None,
        metadata={
            "help": "Length of the learning-rate schedule in optimizer steps, independent of max_steps (None: the "
            "run's own length). The original's RL cosine spanned one epoch of Video-R1-260k (65768 steps at 4 "
            "prompts per step) and stopped after ~1.2k, so its LR stayed at ~1e-6."
        },
    )

    def derive_steps(self, prompts_per_device_batch: float) -> None:
        """Check the run length and set ``gradient_accumulation_steps`` from ``prompts_per_step`` (call before
        the parent's ``__post_init__``)."""
        check_output_path(self.output_dir)
        if self.lr_decay_steps is not None and self.lr_decay_steps < 1:
            raise ValueError(f"lr_decay_steps must be >= 1 or None, got {self.lr_decay_steps}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(f"max_steps must be > 0 (or -1: train num_train_epochs), got {self.max_steps}")
        if self.max_steps == -1 and not self.num_train_epochs > 0:
            raise ValueError(
                f"num_train_epochs must be > 0 when max_steps is unset, got {self.num_train_epochs}: the run would "
                "train nothing"
            )
        if self.learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {self.learning_rate}")
        if self.prompts_per_step is None:
            return
        world = launch_world_size()
        steps = derive_gradient_accumulation(self.prompts_per_step, prompts_per_device_batch, world)
        if steps != self.gradient_accumulation_steps:
            logger.info(
                "prompts_per_step=%d over %d process(es): gradient_accumulation_steps %d -> %d",
                self.prompts_per_step,
                world,
                self.gradient_accumulation_steps,
                steps,
            )
        self.gradient_accumulation_steps = steps


def global_batch_line(args, num_processes: int, num_generations: int | None = None) -> str:
    """One line stating what an optimizer step holds (printed by the trainers at start-up)."""
    per_device, accumulation = args.per_device_train_batch_size, args.gradient_accumulation_steps
    rows = per_device * num_processes * accumulation
    layout = f"{num_processes} process(es) x {per_device} per device x {accumulation} accumulation"
    if num_generations:
        return (
            f"global batch: {rows / num_generations:g} prompt(s) x {num_generations} completions per optimizer "
            f"step ({layout}; the original: 4 prompts x 8)"
        )
    return f"global batch: {rows} sample(s) per optimizer step ({layout}; the original: 8)"


class LRHorizonMixin:
    """Trainer mixin: the LR schedule spans ``args.lr_decay_steps`` when set (also under DeepSpeed)."""

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        horizon = getattr(self.args, "lr_decay_steps", None)
        return super().create_scheduler(horizon or num_training_steps, optimizer)
