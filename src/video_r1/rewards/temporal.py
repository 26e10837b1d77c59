"""T-GRPO's temporal contrast as a pure function of one group's accuracies.

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
* mu = 0.8 is what the code uses (also the paper's v1); the later paper text writes p >= p~, i.e. mu = 1.0,
  and the author called 0.8 a debugging value with "comparable" results (#43, #74, #90, #96). The default
  here is the code's 0.8.
* The bonus goes to the accuracy term only (image samples get none; the caller decides that).

With torch tensors the comparison and the addition happen in the tensor's dtype, as in the original
(float32 rewards); plain lists are computed in Python floats.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import torch

__all__ = ["temporal_bonus"]


def is_tensor(value: Any) -> bool:
    """True for a torch tensor, without importing torch when nothing has (keeps ``rewards`` import light)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(value, torch_module.Tensor)


def check_1d_float_tensor(name: str, value: torch.Tensor) -> None:
    """Raise a clear error unless ``value`` is a 1-D floating-point tensor."""
    if value.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one group), got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")


@overload
def temporal_bonus(
    accuracy: torch.Tensor,
    shuffled_accuracy: Sequence[float] | torch.Tensor,
    alpha: float = ...,
    mu: float = ...,
    threshold: float = ...,
) -> tuple[torch.Tensor, bool]: ...


@overload
def temporal_bonus(
    accuracy: Sequence[float],
    shuffled_accuracy: Sequence[float] | torch.Tensor,
    alpha: float = ...,
    mu: float = ...,
    threshold: float = ...,
) -> tuple[list[float], bool]: ...


def temporal_bonus(
    accuracy: Sequence[float] | torch.Tensor,
    shuffled_accuracy: Sequence[float] | torch.Tensor,
    alpha: float = 0.3,
    mu: float = 0.8,
    threshold: float = 0.1,
) -> tuple[list[float] | torch.Tensor, bool]:
    """Add the T-GRPO bonus to one group's accuracies.

    Args:
        accuracy: accuracy rewards of the group's completions on ordered frames (list or 1-D float tensor).
        shuffled_accuracy: accuracy rewards of the completions on shuffled frames (any length >= 1).
        alpha: bonus added to each correct completion (original 0.3).
        mu: the ordered mean must reach ``mu`` times the shuffled mean (original code 0.8).
        threshold: a completion counts as correct when its accuracy is strictly above this (original 0.1).

    Returns:
        ``(adjusted, granted)``: a new list or tensor (same length, dtype and device as ``accuracy``) where
        every accuracy above ``threshold`` got ``+alpha`` if ``granted``, and whether the condition
        ``mean(accuracy) >= mu * mean(shuffled_accuracy)`` held. The inputs are never modified.
    """
    if len(accuracy) == 0 or len(shuffled_accuracy) == 0:
        raise ValueError(
            "temporal_bonus needs at least one ordered and one shuffled accuracy, got "
            f"{len(accuracy)} ordered and {len(shuffled_accuracy)} shuffled"
        )
    if is_tensor(accuracy):
        import torch

        check_1d_float_tensor("accuracy", accuracy)
        shuffled = torch.as_tensor(shuffled_accuracy, dtype=accuracy.dtype, device=accuracy.device)
        check_1d_float_tensor("shuffled_accuracy", shuffled)
        granted = bool(accuracy.mean() >= mu * shuffled.mean())
        adjusted = accuracy.clone()
        if granted:
            adjusted[accuracy > threshold] += alpha
        return adjusted, granted

    values = [float(a) for a in accuracy]
    shuffled_values = shuffled_accuracy.tolist() if is_tensor(shuffled_accuracy) else shuffled_accuracy
    granted = statistics.fmean(values) >= mu * statistics.fmean(float(s) for s in shuffled_values)
    if granted:
        values = [a + alpha if a > threshold else a for a in values]
    return values, granted
