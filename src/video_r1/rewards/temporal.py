"""T-GRPO's temporal contrast as a pure function of one group's accuracies (tensors).

The original (``grpo_trainer.py`` ``compute_loss``, and its copy in the vLLM trainer) generates G = 8
completions from the ordered video frames and G/2 = 4 from a frame-shuffled copy, scores both with the
same reward functions and then, using the accuracy column only::

    p, p_shuffled = mean(accuracy), mean(shuffled_accuracy)
    if p >= 0.8 * p_shuffled:                 # note ">=": ties pass
        accuracy[accuracy > 0.1] += 0.3       # "correct" = accuracy above 0.1, partial scores included

Facts about that arithmetic that this function keeps:

* The means are over the per-device batch, which equals one group only because the original requires a
  per-device batch of 1 (author, issue #96). Here the caller passes one group, so batch > 1 works.
* ``>=`` means p = p~ = 0 "grants" the bonus while the ``> threshold`` mask selects nobody, and an
  all-correct group gets a uniform +alpha (which leaves std-normalised advantages unchanged).
* The bonus goes to the accuracy term only (image samples get none; the caller decides that).

The settings (alpha 0.3, mu 0.8, threshold 0.1 in the original) have their defaults in one place,
:class:`~video_r1.trainers.TGRPOConfig`; here they are required. The comparison and the addition happen
in the tensor's dtype, as in the original (float32 rewards).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from video_r1.rewards._checks import check_1d_float_tensor

if TYPE_CHECKING:
    import torch

__all__ = ["temporal_bonus"]


def temporal_bonus(
    accuracy: torch.Tensor,
    shuffled_accuracy: torch.Tensor,
    *,
    alpha: float,
    mu: float,
    threshold: float,
) -> tuple[torch.Tensor, bool]:
    """Add the T-GRPO bonus to one group's accuracies.

    Args:
        accuracy: accuracy rewards of the group's completions on ordered frames (1-D float tensor).
        shuffled_accuracy: accuracy rewards of the completions on shuffled frames (1-D, any length >= 1).
        alpha: bonus added to each correct completion (original 0.3).
        mu: the ordered mean must reach ``mu`` times the shuffled mean (original code 0.8).
        threshold: a completion counts as correct when its accuracy is strictly above this (original 0.1).

    Returns:
        ``(adjusted, granted)``: a new tensor (same length, dtype and device as ``accuracy``) where every
        accuracy above ``threshold`` got ``+alpha`` if ``granted``, and whether the condition
        ``mean(accuracy) >= mu * mean(shuffled_accuracy)`` held. The inputs are never modified.
    """
    import torch

    if len(accuracy) == 0 or len(shuffled_accuracy) == 0:
        raise ValueError(
            "temporal_bonus needs at least one ordered and one shuffled accuracy, got "
            f"{len(accuracy)} ordered and {len(shuffled_accuracy)} shuffled"
        )
    check_1d_float_tensor("accuracy", accuracy)
    shuffled = torch.as_tensor(shuffled_accuracy, dtype=accuracy.dtype, device=accuracy.device)
    check_1d_float_tensor("shuffled_accuracy", shuffled)
    granted = bool(accuracy.mean() >= mu * shuffled.mean())
    adjusted = accuracy.clone()
    if granted:
        adjusted[accuracy > threshold] += alpha
    return adjusted, granted
