"""Reward functions of Video-R1, the T-GRPO / length bonuses and the per-group rule as pure functions.

Reward functions follow TRL's signature ``f(completions, **columns) -> list[float]``. The original's default
reward list is ``["accuracy", "format"]``, in that order; the trainer finds the accuracy column by name.
"""

from __future__ import annotations

from collections.abc import Callable

from video_r1.errors import UnknownRewardError
from video_r1.rewards.accuracy import ORIGINAL_DIFFERENCES, accuracy_reward, extract_answer
from video_r1.rewards.format import format_reward
from video_r1.rewards.group import TEMPORAL_MODES, GroupBonuses, GroupRules, group_bonuses, grpo_advantages
from video_r1.rewards.length import length_bonus
from video_r1.rewards.temporal import temporal_bonus

__all__ = [
    "DEFAULT_REWARD_FUNCS",
    "ORIGINAL_DIFFERENCES",
    "REWARD_FUNCS",
    "TEMPORAL_MODES",
    "GroupBonuses",
    "GroupRules",
    "accuracy_reward",
    "extract_answer",
    "format_reward",
    "get_reward_funcs",
    "group_bonuses",
    "grpo_advantages",
    "length_bonus",
    "temporal_bonus",
]

RewardFunc = Callable[..., list[float]]

#: Reward functions by the names used in recipes and on the command line (``--reward_funcs``).
REWARD_FUNCS: dict[str, RewardFunc] = {"accuracy": accuracy_reward, "format": format_reward}

#: The original's default ``reward_funcs``.
DEFAULT_REWARD_FUNCS: tuple[str, ...] = ("accuracy", "format")


def get_reward_funcs(names: list[str]) -> list[RewardFunc]:
    """The reward functions called ``names``, in that order.

    A name is a key of :data:`REWARD_FUNCS` or ``"package.module:function"`` for a function of your own
    (importable from ``PYTHONPATH``) with the TRL signature ``f(completions, **columns) -> list[float]``.
    Unknown names raise :class:`~video_r1.errors.UnknownRewardError` (a ``ValueError``).
    """
    import importlib

    funcs, unknown = [], []
    for name in names:
        if name in REWARD_FUNCS:
            funcs.append(REWARD_FUNCS[name])
        elif ":" in name:
            module_name, _, attr = name.partition(":")
            try:
                funcs.append(getattr(importlib.import_module(module_name), attr))
            except (ImportError, AttributeError) as err:
                raise UnknownRewardError(f"reward function {name!r} could not be imported: {err}") from err
        else:
            unknown.append(name)
    if unknown:
        raise UnknownRewardError(
            f"unknown reward function(s) {unknown}; available: {sorted(REWARD_FUNCS)} or 'module:function'"
        )
    return funcs
