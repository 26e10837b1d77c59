"""Prompt wording must equal the original's strings character for character."""

from __future__ import annotations

import pytest

from video_r1.prompts import (
    PROBLEM_TYPES,
    build_conversation,
    build_prompt_text,
    format_question,
    sft_target,
)

# Written out literally (not built from the module's constants) so a drifted constant fails here.
TRAIN_BODY = (
    "Please think about this question as if you were a human pondering deeply. Engage in an internal dialogue "
    "using expressions such as 'let me think', 'wait', 'Hmm', 'oh, I see', 'let's break it down', etc, or other "
    "natural language thought expressions It's encouraged to include self-reflection or verification in the "
    "reasoning process. Provide your detailed reasoning between the <think> </think> tags, and then give your "
    "final answer between the <answer> </answer> tags."
)
EVAL_BODY = (
    "Please think about this question as if you were a human pondering deeply. Engage in an internal dialogue "
    "using expressions such as 'let me think', 'wait', 'Hmm', 'oh, I see', 'let's break it down', etc, or other "
    "natural language thought expressions It's encouraged to include self-reflection or verification in the "
    "reasoning process. Provide your detailed reasoning between the <think> and </think> tags, and then give "
    "your final answer between the <answer> and </answer> tags."
)
SUFFIX = {
    "multiple choice": " Please provide only the single option letter (e.g., A, B, C, D, etc.) within the "
    "<answer> </answer> tags.",
    "numerical": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
    "regression": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
    "OCR": " Please transcribe text from the image/video clearly and provide your text answer within the "
    "<answer> </answer> tags.",
    "free-form": " Please provide your text answer within the <answer> </answer> tags.",
}


def _record(problem_type, **extra):
    record = {
        "problem_id": 7,
        "problem": "What happens?",
        "data_type": "video",
        "problem_type": problem_type,
        "options": ["A. left", "B. right"] if problem_type == "multiple choice" else [],
        "solution": "<answer>A</answer>",
    }
    record.update(extra)
    return record


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
@pytest.mark.parametrize("variant,body", [("train", TRAIN_BODY), ("sft", TRAIN_BODY), ("eval", EVAL_BODY)])
def test_exact_prompt_text(problem_type, variant, body):
    question = "What happens?"
    if problem_type == "multiple choice":
        question = "What happens?Options:\nA. left\nB. right\n"
    expected = question + "\n" + body + SUFFIX[problem_type]
    assert build_prompt_text(_record(problem_type), variant) == expected


def test_annotate_uses_eval_wording():
    record = _record("numerical")
    assert build_prompt_text(record, "annotate") == build_prompt_text(record, "eval")
    assert build_prompt_text(record, "annotate") != build_prompt_text(record, "train")


def test_options_concatenation_has_no_separator():
    assert format_question(_record("multiple choice")) == "What happens?Options:\nA. left\nB. right\n"
    # options are ignored for non-multiple-choice questions, as in the original
    assert format_question(_record("numerical", options=["A. 1"])) == "What happens?"


def test_train_and_eval_conversations_have_no_system_and_media_first():
    for variant in ("train", "eval"):
        messages = build_conversation(_record("multiple choice"), variant)
        assert [m["role"] for m in messages] == ["user"]
        assert messages[0]["content"][0] == {"type": "video"}
        assert messages[0]["content"][1]["type"] == "text"


def test_media_is_attached_under_its_type():
    messages = build_conversation(_record("numerical", data_type="image"), "train", media="/data/x.png")
    assert messages[0]["content"][0] == {"type": "image", "image": "/data/x.png"}


def test_sft_conversation_matches_original():
    record = _record("multiple choice", process="<think>It moves left.</think>")
    messages = build_conversation(record, "sft")
    assert messages[0] == {
        "role": "system",
        "content": [{"type": "text", "text": "You are a helpful assistant"}],
    }
    assert messages[1]["content"][1]["text"] == build_prompt_text(record, "train")
    assert messages[2] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "<think>It moves left.</think>\n<answer>A</answer>"}],
    }
    assert sft_target(record) == "<think>It moves left.</think>\n<answer>A</answer>"


def test_errors_name_the_record():
    with pytest.raises(ValueError, match=r"record 7: unknown problem_type 'essay'"):
        build_prompt_text(_record("essay"))
    with pytest.raises(ValueError, match=r"record 7: unknown data_type 'audio'"):
        build_conversation(_record("numerical", data_type="audio"))
    with pytest.raises(ValueError, match=r"record 7: SFT needs a non-empty 'process'"):
        build_conversation(_record("numerical"), "sft")
    with pytest.raises(ValueError, match="unknown prompt variant"):
        build_prompt_text(_record("numerical"), "rl")
