"""Prompt wording of the original Video-R1, word for word, and conversation builders.

Three places in the original build prompts, with two wordings of the reasoning instruction:

* RL training (``grpo.py``) and SFT (``sft_video.py``) say "between the <think> </think> tags";
* evaluation (``eval_bench.py``) and CoT annotation (``generate_cot_vllm.py``) say
  "between the <think> and </think> tags".

Both keep the original's missing period after "thought expressions". Multiple-choice options are appended
to the question as ``problem + "Options:\\n" + "".join(option + "\\n")`` (no separator before "Options").
RL and eval send no system message, so the Qwen2.5-VL chat template inserts its default
"You are a helpful assistant."; SFT sends "You are a helpful assistant" (no period), as the original.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

PROBLEM_TYPES = ("multiple choice", "numerical", "OCR", "free-form", "regression")
DATA_TYPES = ("image", "video")

_THINK_PREFIX = (
    "{Question}\n"
    "Please think about this question as if you were a human pondering deeply. "
    "Engage in an internal dialogue using expressions such as 'let me think', 'wait', 'Hmm', 'oh, I see', "
    "'let's break it down', etc, or other natural language thought expressions "
    "It's encouraged to include self-reflection or verification in the reasoning process. "
)

#: Training / SFT wording (grpo.py, sft_video.py).
QUESTION_TEMPLATE_TRAIN = _THINK_PREFIX + (
    "Provide your detailed reasoning between the <think> </think> tags, "
    "and then give your final answer between the <answer> </answer> tags."
)

#: Evaluation / CoT-annotation wording (eval_bench.py, generate_cot_vllm.py).
QUESTION_TEMPLATE_EVAL = _THINK_PREFIX + (
    "Provide your detailed reasoning between the <think> and </think> tags, "
    "and then give your final answer between the <answer> and </answer> tags."
)

#: Per-problem-type suffix (note the leading space), shared by both wordings.
TYPE_TEMPLATE = {
    "multiple choice": " Please provide only the single option letter (e.g., A, B, C, D, etc.) within the <answer> </answer> tags.",
    "numerical": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
    "OCR": " Please transcribe text from the image/video clearly and provide your text answer within the <answer> </answer> tags.",
    "free-form": " Please provide your text answer within the <answer> </answer> tags.",
    "regression": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
}

#: System prompt of the original SFT script (no trailing period, unlike the chat template's default).
SFT_SYSTEM_PROMPT = "You are a helpful assistant"

Variant = Literal["train", "sft", "eval", "annotate"]
VARIANTS: tuple[str, ...] = ("train", "sft", "eval", "annotate")


def format_question(record: Mapping[str, Any]) -> str:
    """The question text: ``problem``, plus ``"Options:\\n"`` and one option per line for multiple choice."""
    question = record["problem"]
    if record["problem_type"] == "multiple choice":
        options: Sequence[str] = record.get("options") or ()
        question = question + "Options:\n" + "".join(f"{option}\n" for option in options)
    return question


def build_prompt_text(record: Mapping[str, Any], variant: Variant = "train") -> str:
    """The user text the original sends for ``record``: question template + type suffix."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown prompt variant {variant!r}; expected one of {VARIANTS}")
    problem_type = record["problem_type"]
    if problem_type not in TYPE_TEMPLATE:
        raise ValueError(
            f"record {record.get('problem_id')!r}: unknown problem_type {problem_type!r}; "
            f"expected one of {PROBLEM_TYPES}"
        )
    template = QUESTION_TEMPLATE_EVAL if variant in ("eval", "annotate") else QUESTION_TEMPLATE_TRAIN
    return template.format(Question=format_question(record)) + TYPE_TEMPLATE[problem_type]


def build_conversation(
    record: Mapping[str, Any],
    variant: Variant = "train",
    *,
    media: Any = None,
    assistant: str | None = None,
) -> list[dict[str, Any]]:
    """Chat messages for ``record`` in the original's layout: media item first, then the text.

    ``media`` (a path, a PIL image or a frame tensor) is stored under the item's ``image``/``video`` key
    when given; without it the item is a bare placeholder (``{"type": "video"}``), which is all the chat
    template needs. ``variant="sft"`` adds the SFT system prompt and, when ``assistant`` is None, the
    original's target ``process + "\\n" + solution``.
    """
    data_type = record["data_type"]
    if data_type not in DATA_TYPES:
        raise ValueError(
            f"record {record.get('problem_id')!r}: unknown data_type {data_type!r}; expected one of {DATA_TYPES}"
        )
    media_item: dict[str, Any] = {"type": data_type}
    if media is not None:
        media_item[data_type] = media
    messages: list[dict[str, Any]] = []
    if variant == "sft":
        messages.append({"role": "system", "content": [{"type": "text", "text": SFT_SYSTEM_PROMPT}]})
    messages.append(
        {
            "role": "user",
            "content": [media_item, {"type": "text", "text": build_prompt_text(record, variant)}],
        }
    )
    if variant == "sft":
        if assistant is None:
            assistant = sft_target(record)
        messages.append({"role": "assistant", "content": [{"type": "text", "text": assistant}]})
    elif assistant is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": assistant}]})
    return messages


def sft_target(record: Mapping[str, Any]) -> str:
    """The original SFT target: ``process + "\\n" + solution`` ("<think>...</think>\\n<answer>X</answer>")."""
    if not record.get("process"):
        raise ValueError(f"record {record.get('problem_id')!r}: SFT needs a non-empty 'process' field")
    return f"{record['process']}\n{record['solution']}"
