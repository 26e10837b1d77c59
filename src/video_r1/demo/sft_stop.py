"""Stop the demo's SFT cold start once the model has part of the skill (the recipe's ``sft_stop``).

At the demo's scale a random-init model learns frame order in a sudden jump whose step varies by seed (about
80 to 200 SFT steps). A fixed SFT length either stops some seeds before the jump (RL then starts from a model
at chance and may never find the signal) or after it on others (every sampled answer is already right, the
group advantages are zero and RL has nothing to learn). The paper's SFT is a cold start: format plus part of
the skill. So the demo checks greedy accuracy on a few RL-split questions every ``every`` steps and stops SFT
at the first check at or above ``target_accuracy``; ``sft.max_steps`` stays the cap. The checks never train
on those questions, and the held-out test split is not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from transformers import TrainerCallback

from video_r1.data.frame_cache import FrameCache
from video_r1.demo.evaluate import evaluate_model


class SFTTargetStop(TrainerCallback):
    """Stop training at the first check (every ``every`` steps, from ``min_steps`` on) whose greedy accuracy
    on ``records`` reaches ``target_accuracy``. ``checks`` keeps ``{"step", "accuracy"}`` per check and
    ``stopped_at`` the step that stopped training (``None``: ran to ``max_steps``)."""

    def __init__(
        self,
        records: Sequence[Mapping[str, Any]],
        processor,
        *,
        target_accuracy: float,
        every: int,
        min_steps: int = 0,
        max_new_tokens: int = 32,
        variant: str = "train",
        frame_cache: FrameCache | None = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"sft_stop.every must be >= 1, got {every}")
        if not 0.0 <= target_accuracy <= 1.0:
            raise ValueError(f"sft_stop.target_accuracy must be in [0, 1], got {target_accuracy}")
        if not records:
            raise ValueError("sft_stop needs at least one question to check")
        self.records = [dict(r) for r in records]
        self.processor = processor
        self.target_accuracy = target_accuracy
        self.every = every
        self.min_steps = min_steps
        self.max_new_tokens = max_new_tokens
        self.variant = variant
        self.frame_cache = frame_cache
        self.checks: list[dict[str, float]] = []
        self.stopped_at: int | None = None

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if step < self.min_steps or step % self.every or step >= state.max_steps:
            return control
        result = evaluate_model(
            model,
            self.processor,
            self.records,
            variant=self.variant,
            max_new_tokens=self.max_new_tokens,
            batch_size=len(self.records),
            shuffled=False,
            progress=False,
            frame_cache=self.frame_cache,
        )
        self.checks.append({"step": step, "accuracy": result["accuracy"]})
        if result["accuracy"] >= self.target_accuracy:
            self.stopped_at = step
            control.should_training_stop = True
            print(
                f"SFT stopped at step {step}: accuracy {result['accuracy']:.3f} on {len(self.records)} RL-split "
                f"questions reached sft_stop.target_accuracy {self.target_accuracy}",
                flush=True,
            )
        return control

    def summary(self, max_steps: int) -> dict[str, Any]:
        return {
            "target_accuracy": self.target_accuracy,
            "questions": len(self.records),
            "stopped_at": self.stopped_at,
            "steps": self.stopped_at if self.stopped_at is not None else max_steps,
            "checks": self.checks,
        }
