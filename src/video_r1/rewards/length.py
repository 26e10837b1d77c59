"""Video-R1's length bonus (``len_control``) as a pure function of one group (tensors).

The original (``grpo_trainer.py``, after the temporal bonus) does, on the per-device batch (= one group,
since the per-device batch is 1)::

    correct = indices where accuracy > 0.1            # accuracy BEFORE the temporal bonus
    if len(correct) > 1:                              # more than one correct completion in the group
        for i in correct:
            if 320 <= length[i] <= 512:               # completion_mask.sum(1): tokens incl. the EOS
                total_reward[i] += 0.2

The paper states the bonus (omega = 0.2, l_min = 320, l_max = 512) without the "more than one correct"
condition; the code's condition is kept. The bonus is added to the total reward, not to the accuracy term,
so this function returns the bonus itself and the caller adds it. The settings' defaults live in
:class:`~video_r1.trainers.TGRPOConfig`; here they are required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from video_r1.rewards._checks import check_1d_float_tensor

if TYPE_CHECKING:
    import torch

__all__ = ["length_bonus"]


def length_bonus(
    accuracy: torch.Tensor,
    lengths: torch.Tensor,
    *,
    low: int,
    high: int,
    bonus: float,
    threshold: float,
) -> torch.Tensor:
    """Per-completion length bonus (``bonus`` or 0.0) for one group.

    Args:
        accuracy: the group's accuracy rewards before any temporal bonus (1-D float tensor).
        lengths: completion lengths in tokens, EOS included (the original's ``completion_mask.sum(1)``).
        low, high: inclusive token-length window (original 320 and 512).
        bonus: the bonus (original 0.2).
        threshold: a completion is correct when its accuracy is strictly above this (original 0.1).

    Returns:
        A new tensor with the dtype and device of ``accuracy``, of the same length: ``bonus`` for each
        correct completion whose length is in ``[low, high]`` when more than one completion is correct,
        0.0 everywhere else.
    """
    import torch

    if len(accuracy) != len(lengths):
        raise ValueError(
            f"length_bonus: accuracy and lengths must have the same length, got {len(accuracy)} and "
            f"{len(lengths)}"
        )
    check_1d_float_tensor("accuracy", accuracy)
    # Compare in the tensor's dtype like the original: float32(0.1) is not > 0.1 there.
    correct = accuracy > threshold
    lengths_t = torch.as_tensor(lengths, device=accuracy.device)
    if int(correct.sum()) <= 1:
        return torch.zeros_like(accuracy)
    selected = correct & (lengths_t >= low) & (lengths_t <= high)
    return torch.zeros_like(accuracy).masked_fill(selected, bonus)
