"""The per-group reward rule of Video-R1 (and its variants) as pure tensor functions.

Three things happen between TRL's reward matrix and the loss, and all three are here, without a trainer:

* :func:`group_bonuses` - the paper's core. For every group of ``group_size`` completions of one prompt it
  applies the temporal contrast (video groups with shuffled rollouts) and the length bonus, and returns
  them as two reward columns, a term added to the advantages after normalisation, and the statistics
  the trainer logs.
* :func:`grpo_advantages` - TRL 1.16's ``sum_then_normalize`` advantages (``scale_rewards`` group, batch or
  none), transcribed so that the effect of a bonus can be measured; the trainer test checks it equals
  what TRL itself computes.
* :func:`advantage_effect` - how much a bonus changed the advantages (and so the gradient): the fraction
  of groups whose advantages moved by more than ``tol`` and the mean absolute change.

**Why the effect is measured.** For a group whose accuracies are 0/1 and whose other rewards are equal,
the original bonus maps each reward ``acc + c`` to ``(1 + alpha) * acc + c``: an affine map that group
normalisation divides out (docs/original-behaviour.md §13). The ``temporal_mode`` variants put the
contrast where normalisation cannot remove it:

``bonus`` (default, the original)
    ``+alpha`` on the accuracy column of every correct completion when ``p >= mu * p~``.
``bonus_advantage``
    the same granted ``+alpha`` on correct completions, added to the advantages *after* normalisation.
``order_gap``
    ``+alpha * max(p - p~, 0)`` on the advantages of correct completions, after normalisation: no
    threshold; a group answered as well from shuffled frames (a single-frame shortcut, p ~ p~) gets
    nothing, a group whose accuracy needs the order gets a push in proportion to what the order added.

With ``center`` (``temporal_center``) the post-normalisation term of the two variants has its group mean
subtracted: it then only sharpens the contrast between a group's correct and wrong completions (an
all-correct group gets nothing), instead of also raising every correct completion's advantage.

The settings have no defaults here: they come from :class:`~video_r1.trainers.TGRPOConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from video_r1.rewards.length import length_bonus
from video_r1.rewards.temporal import temporal_bonus

if TYPE_CHECKING:
    import torch

__all__ = [
    "TEMPORAL_MODES",
    "GroupBonuses",
    "GroupRules",
    "advantage_effect",
    "group_bonuses",
    "grpo_advantages",
]

#: Where the temporal contrast enters (see the module docstring).
TEMPORAL_MODES = ("bonus", "bonus_advantage", "order_gap")

#: Advantages that move by more than this count as "moved" in :func:`advantage_effect`.
MOVED_TOLERANCE = 1e-3


@dataclass(frozen=True)
class GroupRules:
    """The settings of the per-group rule (fields of :class:`~video_r1.trainers.TGRPOConfig`)."""

    temporal: bool
    temporal_mode: str
    alpha: float
    mu: float
    threshold: float
    len_control: bool
    len_bonus: float
    len_min: int
    len_max: int
    center: bool

    def __post_init__(self):
        if self.temporal_mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal_mode must be one of {TEMPORAL_MODES}, got {self.temporal_mode!r}")

    @classmethod
    def from_config(cls, args: Any) -> GroupRules:
        return cls(
            temporal=args.temporal,
            temporal_mode=args.temporal_mode,
            alpha=args.temporal_alpha,
            mu=args.temporal_mu,
            threshold=args.correct_threshold,
            len_control=args.len_control,
            len_bonus=args.len_bonus,
            len_min=args.len_min,
            len_max=args.len_max,
            center=args.temporal_center,
        )


@dataclass
class GroupBonuses:
    """What :func:`group_bonuses` returns; every tensor has one entry per completion (row)."""

    temporal: torch.Tensor  # reward column, weighted like accuracy (non-zero in mode "bonus" only)
    length: torch.Tensor  # reward column, weight 1
    advantage: torch.Tensor  # added to the advantages after normalisation (modes bonus_advantage, order_gap)
    contrast_groups: torch.Tensor  # per group: True when it was a video group with shuffled rollouts
    granted: list[bool] = field(default_factory=list)  # per contrast group
    ordered_accuracy: list[float] = field(default_factory=list)  # per contrast group: p
    shuffled_accuracy: list[float] = field(default_factory=list)  # per contrast group: p~

    def stats(self) -> dict[str, float]:
        """The logged statistics (empty keys are left out)."""
        out: dict[str, float] = {}
        n = len(self.granted)
        if n:
            out["temporal/bonus_rate"] = sum(self.granted) / n
            out["temporal/ordered_accuracy"] = sum(self.ordered_accuracy) / n
            out["temporal/shuffled_accuracy"] = sum(self.shuffled_accuracy) / n
        return out


def group_bonuses(
    accuracy: torch.Tensor,
    shuffled_accuracy: torch.Tensor | None,
    is_video: torch.Tensor,
    lengths: torch.Tensor,
    group_size: int,
    rules: GroupRules,
) -> GroupBonuses:
    """Apply the temporal contrast and the length bonus group by group.

    Args:
        accuracy: (N,) accuracy rewards of the ordered completions, before any bonus; N = groups x
            ``group_size``, rows of one group contiguous (TRL's layout after gathering).
        shuffled_accuracy: (N,) accuracy of the shuffled completion attached to each row, NaN for rows
            without one (a group has up to ``shuffled_num_generations`` of them); None: no contrast.
        is_video: (N,) bool, the row's prompt is a video (only all-video groups get the contrast).
        lengths: (N,) completion lengths in tokens, EOS included.
        group_size: completions per prompt.
        rules: the settings.
    """
    import torch

    n = accuracy.numel()
    if n % group_size:
        raise ValueError(f"{n} completions do not split into groups of {group_size}")
    for name, value in (("is_video", is_video), ("lengths", lengths)):
        if value.numel() != n:
            raise ValueError(f"{name} has {value.numel()} entries for {n} completions")
    temporal_col = torch.zeros_like(accuracy)
    length_col = torch.zeros_like(accuracy)
    advantage = torch.zeros_like(accuracy)
    contrast = torch.zeros(n // group_size, dtype=torch.bool, device=accuracy.device)
    out = GroupBonuses(temporal_col, length_col, advantage, contrast)
    for g in range(n // group_size):
        sl = slice(g * group_size, (g + 1) * group_size)
        acc = accuracy[sl]
        if rules.len_control:
            length_col[sl] = length_bonus(
                acc,
                lengths[sl],
                low=rules.len_min,
                high=rules.len_max,
                bonus=rules.len_bonus,
                threshold=rules.threshold,
            )
        if not rules.temporal or shuffled_accuracy is None or not bool(is_video[sl].all()):
            continue
        shuffled = shuffled_accuracy[sl]
        shuffled = shuffled[~torch.isnan(shuffled)]
        if shuffled.numel() == 0:
            continue
        contrast[g] = True
        adjusted, granted = temporal_bonus(
            acc, shuffled, alpha=rules.alpha, mu=rules.mu, threshold=rules.threshold
        )
        p, p_shuffled = acc.mean().item(), shuffled.mean().item()
        out.granted.append(granted)
        out.ordered_accuracy.append(p)
        out.shuffled_accuracy.append(p_shuffled)
        correct = acc > rules.threshold
        if rules.temporal_mode == "bonus":
            temporal_col[sl] = adjusted - acc
        elif rules.temporal_mode == "bonus_advantage":
            if granted:
                advantage[sl] = correct.to(acc.dtype) * rules.alpha
        else:  # order_gap
            advantage[sl] = correct.to(acc.dtype) * (rules.alpha * max(p - p_shuffled, 0.0))
        if rules.center:
            advantage[sl] = advantage[sl] - advantage[sl].mean()
    return out


def _nanstd(values: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Unbiased standard deviation ignoring NaNs (NaN where fewer than two values), as TRL's ``nanstd``."""
    import torch

    if dim is None:
        values, dim = values.reshape(-1), 0
    mean = torch.nanmean(values, dim=dim, keepdim=True)
    variance = torch.nanmean((values - mean) ** 2, dim=dim)
    count = (~torch.isnan(values)).sum(dim=dim)
    correction = torch.where(count > 1, count / (count - 1), torch.full_like(variance, float("nan")))
    return torch.sqrt(variance * correction)


def grpo_advantages(
    rewards_per_func: torch.Tensor, weights: torch.Tensor, group_size: int, scale_rewards: str
) -> torch.Tensor:
    """TRL 1.16's advantages for ``multi_objective_aggregation="sum_then_normalize"``.

    ``r = nansum(weights * rewards_per_func)`` (NaN where every function returned None); advantage
    ``r - group mean``, divided by ``std + 1e-4`` where std is the group's (``scale_rewards="group"``, the
    original's) or the whole batch's (``"batch"``), not divided for ``"none"``; NaN becomes 0.
    """
    import torch

    unscorable = torch.isnan(rewards_per_func).all(dim=1)
    rewards = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    rewards[unscorable] = torch.nan
    grouped = rewards.view(-1, group_size)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(group_size)
    advantages = rewards - mean
    if scale_rewards == "group":
        std = (
            _nanstd(grouped, dim=1).repeat_interleave(group_size)
            if group_size > 1
            else torch.zeros_like(rewards)
        )
        advantages = advantages / (std + 1e-4)
    elif scale_rewards == "batch":
        std = _nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
        advantages = advantages / (std + 1e-4)
    elif scale_rewards != "none":
        raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale_rewards!r}")
    return torch.nan_to_num(advantages, nan=0.0)


def advantage_effect(
    with_bonus: torch.Tensor, without_bonus: torch.Tensor, group_size: int, groups: torch.Tensor | None = None
) -> tuple[float, float] | None:
    """How much a bonus moved the advantages: ``(fraction of groups whose advantages moved by more than
    MOVED_TOLERANCE, mean absolute change per row)`` over the groups selected by ``groups`` (a per-group
    bool mask; None = all). None when no group is selected."""
    diff = (with_bonus - without_bonus).abs().view(-1, group_size)
    if groups is not None:
        diff = diff[groups]
    if diff.shape[0] == 0:
        return None
    moved = (diff.max(dim=1).values > MOVED_TOLERANCE).float().mean().item()
    return moved, diff.mean().item()
