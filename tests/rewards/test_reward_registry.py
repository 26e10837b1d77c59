"""The reward registry used by the trainer and the CLI."""

from __future__ import annotations

import pytest

import video_r1.rewards as rewards


def test_registry_order_and_lookup():
    assert list(rewards.REWARD_FUNCS) == ["accuracy", "format"]
    assert rewards.DEFAULT_REWARD_FUNCS == ("accuracy", "format")
    assert rewards.get_reward_funcs(["accuracy", "format"]) == [
        rewards.accuracy_reward,
        rewards.format_reward,
    ]
    assert rewards.get_reward_funcs(["format"]) == [rewards.format_reward]
    assert rewards.get_reward_funcs([]) == []


def test_unknown_name_raises_with_available_names():
    with pytest.raises(
        ValueError, match=r"unknown reward function\(s\) \['length'\]; available: \['accuracy', 'format'\]"
    ):
        rewards.get_reward_funcs(["accuracy", "length"])


def test_public_api():
    for name in ("accuracy_reward", "format_reward", "extract_answer", "temporal_bonus", "length_bonus"):
        assert callable(getattr(rewards, name))
    assert rewards.REWARD_FUNCS["accuracy"].__name__ == "accuracy_reward"


def test_module_function_names_are_imported():
    import math

    from video_r1.rewards import get_reward_funcs

    assert get_reward_funcs(["accuracy", "math:fabs"])[1] is math.fabs
    with pytest.raises(ValueError, match="could not be imported"):
        get_reward_funcs(["math:no_such_function"])
