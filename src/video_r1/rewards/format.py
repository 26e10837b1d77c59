"""Format reward of Video-R1: the whole completion must be ``<think>...</think>`` then ``<answer>...</answer>``.

Same regex and anchoring as the original (``grpo.py`` ``format_reward``): ``re.fullmatch`` of
``<think>.*?</think>\\s*<answer>.*?</answer>`` with DOTALL, so nothing may precede ``<think>`` or follow
``</answer>`` (not even whitespace or a newline) and only whitespace may separate the two blocks. The
original applies it to text decoded with special tokens skipped, which is what TRL passes to reward
functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from video_r1.rewards.accuracy import completion_text

__all__ = ["FORMAT_PATTERN", "format_reward"]

FORMAT_PATTERN = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """TRL reward function: 1.0 for each completion in the think-then-answer format, else 0.0.

    ``completions`` are strings or TRL conversational completions; other dataset columns are ignored.
    """
    return [1.0 if FORMAT_PATTERN.fullmatch(completion_text(c)) else 0.0 for c in completions]
