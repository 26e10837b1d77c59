"""format_reward: the original's fullmatch of <think>.*?</think>\\s*<answer>.*?</answer> (DOTALL)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from video_r1.rewards import format_reward


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>x</think><answer>A</answer>", 1.0),
        ("<think>x</think>\n\n<answer>A</answer>", 1.0),
        ("<think>a\nb</think> <answer>\nA\n</answer>", 1.0),  # DOTALL
        ("<think></think><answer></answer>", 1.0),
        ("<think>a</think>junk</think><answer>A</answer>", 1.0),  # lazy .*? still spans to the last </think>
        (" <think>x</think><answer>A</answer>", 0.0),  # fullmatch: nothing before <think>
        ("<think>x</think><answer>A</answer>\n", 0.0),  # ... and nothing after </answer>
        ("<think>x</think>text<answer>A</answer>", 0.0),
        ("<answer>A</answer>", 0.0),
        ("<think>x</think>", 0.0),
        ("<answer>A</answer><think>x</think>", 0.0),
        ("<THINK>x</THINK><answer>A</answer>", 0.0),
        ("", 0.0),
    ],
)
def test_format_table(text, expected):
    assert format_reward([text]) == [expected]


def test_conversational_and_batch():
    good = "<think>x</think><answer>A</answer>"
    completions = [
        [{"role": "assistant", "content": good}],
        [{"role": "assistant", "content": [{"type": "text", "text": good}]}],
        [{"role": "assistant", "content": "A"}],
        good,
    ]
    assert format_reward(completions, solution=["x"] * 4, problem_type=["OCR"] * 4) == [1.0, 1.0, 0.0, 1.0]


@settings(max_examples=150, deadline=None)
@given(think=st.text(max_size=30), sep=st.text(" \n\t", max_size=3), answer=st.text(max_size=30))
def test_wellformed_completions_always_pass(think, sep, answer):
    # Any contents (even ones holding tags) fit, because the lazy groups can still expand to them.
    text = f"<think>{think}</think>{sep}<answer>{answer}</answer>"
    assert format_reward([text]) == [1.0]
    assert format_reward([text + "x"]) == [0.0]
