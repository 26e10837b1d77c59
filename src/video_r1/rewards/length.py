"""Video-R1's length bonus (``len_control``) as a pure function of one group.

The original (``grpo_trainer.py``, after the temporal bonus) does, on the per-device batch (= one group,
since the per-device batch is 1)::

    correct = indices where accuracy > 0.1            # accuracy BEFORE the temporal bonus
    if len(correct) > 1:                              # more than one correct completion in the group
        for i in correct:
            if 320 <= length[i] <= 512:               # completion_mask.sum(1): tokens incl. the EOS
                total_reward[i] += 0.2

The paper states the bonus (omega = 0.2, l_min = 320, l_max = 512) without the "more than one correct"
condition; the code's condition is kept. The bonus is added to the total reward, not to the accuracy term,
so this function returns the bonus itself and the caller adds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

from video_r1.rewards.temporal import check_1d_float_tensor, is_tensor

if TYPE_CHECKING:
    import torch

__all__ = ["length_bonus"]


@overload
def length_bonus(
    accuracy: torch.Tensor,
    lengths: Sequence[int] | torch.Tensor,
    low: int = ...,
    high: int = ...,
    bonus: float = ...,
    threshold: float = ...,
) -> torch.Tensor: ...


@overload
def length_bonus(
    accuracy: Sequence[float],
    lengths: Sequence[int] | torch.Tensor,
    low: int = ...,
    high: int = ...,
    bonus: float = ...,
    threshold: float = ...,
) -> list[float]: ...


def length_bonus(
    accuracy: Sequence[float] | torch.Tensor,
    lengths: Sequence[int] | torch.Tensor,
    low: int = 320,
    high: int = 512,
    bonus: float = 0.2,
    threshold: float = 0.1,
) -> list[float] | torch.Tensor:
    """Per-completion length bonus (``bonus`` or 0.0) for one group.

    Args:
        accuracy: the group's accuracy rewards before any temporal bonus (list or 1-D float tensor).
        lengths: completion lengths in tokens, EOS included (the original's ``completion_mask.sum(1)``).
        low, high: inclusive token-length window (original 320 and 512).
        bonus: the bonus (original 0.2).
        threshold: a completion is correct when its accuracy is strictly above this (original 0.1).

    Returns:
        A new list, or a tensor with the dtype and device of ``accuracy``, of the same length: ``bonus`` for
        each correct completion whose length is in ``[low, high]`` when more than one completion is correct,
        0.0 everywhere else.
    """
    if len(accuracy) != len(lengths):
        raise ValueError(
            f"length_bonus: accuracy and lengths must have the same length, got {len(accuracy)} and "
            f"{len(lengths)}"
        )
    if is_tensor(accuracy):
        import torch

        check_1d_float_tensor("accuracy", accuracy)
        # Compare in the tensor's dtype like the original: float32(0.1) is not > 0.1 there.
        correct = accuracy > threshold
        lengths_t = torch.as_tensor(lengths, device=accuracy.device)
        selected = correct & (lengths_t >= low) & (lengths_t <= high)
        if int(correct.sum()) <= 1:
            return torch.zeros_like(accuracy)
        return torch.zeros_like(accuracy).masked_fill(selected, bonus)

    correct = [float(a) > threshold for a in accuracy]
    length_values = lengths.tolist() if is_tensor(lengths) else lengths
    if sum(correct) <= 1:
        return [0.0] * len(correct)
    return [
        bonus if is_correct and low <= length <= high else 0.0
        for is_correct, length in zip(correct, length_values, strict=True)
    ]
