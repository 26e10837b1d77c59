"""A reward with spread inside every group, so that advantages and gradients are non-zero at random init.

Used by the distributed tests through ``--reward_funcs accuracy format rewards_for_tests:varied_reward``
(this folder is put on PYTHONPATH).
"""

from video_r1.rewards.accuracy import completion_text


def varied_reward(completions, **kwargs):
    return [len(completion_text(c)) / 10.0 for c in completions]
