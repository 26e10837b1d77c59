"""Accuracy reward of Video-R1: one rule per ``problem_type``, applied to the ``<answer>`` contents.

The original (``grpo.py`` ``accuracy_reward``) extracts ``<answer>\\s*(.*?)\\s*</answer>`` from both the
completion and the solution and then scores by question type:

==================  =====================================================================================
multiple choice     1.0 iff the extracted strings are identical (case and punctuation count: "A." != "A")
numerical           0.0 if exactly one side contains "." or ","; otherwise drop commas, ``float()`` both and
                    score 1.0 iff they are equal after ``round(x, 2)``; unparsable -> 0.0
OCR                 1 - WER clipped to [0, 1], WER = word edit distance / max(1, number of reference words)
free-form           mean of the ROUGE-1/2/L F-measures (``rouge_score``, Porter stemming), clipped to [0, 1]
regression          1 - clip((|pred - gt| + 1e-9) / (|gt| + 1e-9), 0, 1); unparsable -> 0.0
anything else       0.0
==================  =====================================================================================

On ordinary inputs the values here equal the original's value for value. Where the original is plainly
wrong we differ; every such case has its own code path and is listed in :data:`ORIGINAL_DIFFERENCES`
(the README's "Differences from the original" table cites it).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from nltk.stem import porter
from rapidfuzz.distance import Levenshtein
from rouge_score import rouge_scorer, tokenizers

logger = logging.getLogger(__name__)

__all__ = [
    "ORIGINAL_DIFFERENCES",
    "UnicodeRougeTokenizer",
    "accuracy_reward",
    "completion_text",
    "extract_answer",
    "ground_truth",
    "score_answer",
]

#: ``(what, original behaviour, ours)`` for every place where this module deliberately departs from the
#: original ``accuracy_reward``. Ordinary inputs are unaffected; see the tests in ``tests/rewards``.
ORIGINAL_DIFFERENCES: list[tuple[str, str, str]] = [
    (
        "problem type of a batch",
        "problem_type[0] is used for every completion of the call",
        "each completion is scored with its own problem_type (a single string is broadcast)",
    ),
    (
        "regression: NaN or infinite numbers",
        "a 'nan' prediction scores 1.0 (Python min/max drop NaN), as does an infinite prediction of an "
        "infinite ground truth",
        "a non-finite prediction or ground truth scores 0.0",
    ),
    (
        "regression: exact answer to a zero ground truth",
        "(0 + 1e-9) / (0 + 1e-9) = 1, so predicting 0 for a ground truth of 0 scores 0.0",
        "a prediction equal to a zero ground truth scores 1.0",
    ),
    (
        "solution without an <answer> tag",
        "the ground truth becomes '', so an untagged (empty) prediction matches it and scores 1.0",
        "the whole stripped solution is the ground truth, and an empty prediction never scores",
    ),
    (
        "free-form: non-ASCII text",
        "rouge_score's default tokenizer keeps only [a-z0-9], so e.g. Chinese answers always score 0.0",
        "a tokenizer that is identical to the default on ASCII text but keeps Unicode letters and digits "
        "(NFKC-normalised; each CJK character is one token)",
    ),
]

_ANSWER_RE = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)

# Scripts written without spaces between words: one character per token, as is usual for Chinese ROUGE.
_CJK_NAME_PREFIXES = (
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "IDEOGRAPHIC",
    "HIRAGANA",
    "KATAKANA",
    "HALFWIDTH KATAKANA",
)


def completion_text(completion: Any) -> str:
    """The text of one TRL completion.

    TRL passes either plain strings or conversational completions ``[{"role": "assistant", "content": ...}]``
    whose ``content`` is a string or a list of ``{"type": "text", "text": ...}`` parts. The original read
    ``completion[0]["content"]``; we read the last message, which is the same message for the
    single-message completions GRPO produces and the final answer when a completion has several turns.
    Non-text parts are ignored. Anything else is a programming error and raises ``TypeError``.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        message = completion
    elif isinstance(completion, Sequence) and completion:
        message = completion[-1]
    else:
        raise TypeError(f"cannot read a completion of type {type(completion).__name__}: {completion!r}")
    if not isinstance(message, Mapping) or "content" not in message:
        raise TypeError(f"conversational completion message without 'content': {message!r}")
    content = message["content"]
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            part.get("text") or ""
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        )
    raise TypeError(f"unsupported message content of type {type(content).__name__}: {content!r}")


def extract_answer(text: str) -> str:
    """The stripped contents of the first ``<answer>...</answer>`` in ``text``; "" when there is none.

    Same regex as the original (``<answer>\\s*(.*?)\\s*</answer>``, DOTALL, first match, then ``strip()``).
    """
    match = _ANSWER_RE.search(text)
    return match.group(1).strip() if match else ""


def ground_truth(solution: str) -> str:
    """The reference answer of a ``solution`` column value.

    Tagged solutions ("<answer>A</answer>") give their extracted answer, as in the original. A solution
    without an ``<answer>`` tag is taken whole (stripped); the original extracted "" from it, which made any
    untagged prediction "correct" (see :data:`ORIGINAL_DIFFERENCES`).
    """
    match = _ANSWER_RE.search(solution)
    return match.group(1).strip() if match else solution.strip()


def _parse_number(text: str) -> float | None:
    """``float(text)`` after removing commas, or None when that fails (the original's ``normalize_number``)."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _score_multiple_choice(pred: str, gt: str) -> float:
    return 1.0 if pred == gt else 0.0


def _score_numerical(pred: str, gt: str) -> float:
    # The original's "decimal" test counts commas too, so "1,000" never matches "1000".
    if (("." in gt) or ("," in gt)) != (("." in pred) or ("," in pred)):
        return 0.0
    gt_number, pred_number = _parse_number(gt), _parse_number(pred)
    if gt_number is None or pred_number is None:
        return 0.0
    return 1.0 if round(gt_number, 2) == round(pred_number, 2) else 0.0


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edit distance over ``str.split()`` divided by ``max(1, reference word count)``.

    Same definition as the original's hand-written ``wer`` (unit-cost insert/delete/substitute), computed
    with rapidfuzz. An empty reference divides by 1, so it is 0.0 against an empty hypothesis and the number
    of hypothesis words otherwise.
    """
    ref_words = reference.split()
    return Levenshtein.distance(ref_words, hypothesis.split()) / max(1, len(ref_words))


def _score_ocr(pred: str, gt: str) -> float:
    return min(1.0, max(0.0, 1.0 - word_error_rate(gt, pred)))


class UnicodeRougeTokenizer(tokenizers.Tokenizer):
    """rouge_score's default tokenizer, extended to Unicode letters and digits.

    The default (``rouge_score.tokenize.tokenize`` with ``use_stemmer=True``) lowercases, turns every run of
    characters outside ``[a-z0-9]`` into a space, splits on whitespace and Porter-stems tokens longer than 3
    characters. Every non-ASCII letter is therefore a separator, and a Chinese, Japanese or Russian answer
    has no tokens at all (score 0.0 whatever the prediction).

    This tokenizer first applies NFKC (the identity on ASCII; maps full-width forms such as "１２" to "12"),
    lowercases, then keeps every character of Unicode category L (letters), N (digits and numerals) or M
    (combining marks, needed by e.g. Indic scripts) and turns everything else into a separator. Characters
    of scripts written without spaces (Han, Hiragana, Katakana) become one token each. Tokens longer than 3
    characters are stemmed with the same ``nltk`` Porter stemmer (NLTK_EXTENSIONS mode) as rouge_score.
    On ASCII text the tokens are identical to the default's.
    """

    def __init__(self) -> None:
        self._stemmer = porter.PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` (see the class docstring)."""
        chars: list[str] = []
        for char in unicodedata.normalize("NFKC", text).lower():
            if char.isascii():
                chars.append(char if char.isalnum() else " ")
            elif unicodedata.category(char)[0] not in "LNM":
                chars.append(" ")
            elif _is_cjk(char):
                chars.append(f" {char} ")
            else:
                chars.append(char)
        tokens = [self._stemmer.stem(token) if len(token) > 3 else token for token in "".join(chars).split()]
        return [token for token in tokens if token]


@lru_cache(maxsize=4096)
def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(_CJK_NAME_PREFIXES)


@lru_cache(maxsize=1)
def _rouge_scorer() -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=UnicodeRougeTokenizer())


def _score_free_form(pred: str, gt: str) -> float:
    scores = _rouge_scorer().score(gt, pred)  # rouge_score's order: (target, prediction)
    mean = (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure + scores["rougeL"].fmeasure) / 3
    return min(1.0, max(0.0, mean))


def _score_regression(pred: str, gt: str) -> float:
    gt_number, pred_number = _parse_number(gt), _parse_number(pred)
    if gt_number is None or pred_number is None:
        return 0.0
    if not (math.isfinite(gt_number) and math.isfinite(pred_number)):
        return 0.0  # ORIGINAL_DIFFERENCES: the original scores a NaN prediction 1.0
    if gt_number == 0.0 and pred_number == 0.0:
        return 1.0  # ORIGINAL_DIFFERENCES: the original's epsilon ratio is 1 here, i.e. reward 0.0
    relative_error = (abs(pred_number - gt_number) + 1e-9) / (abs(gt_number) + 1e-9)
    return 1.0 - min(1.0, max(0.0, relative_error))


_SCORERS: dict[str, Callable[[str, str], float]] = {
    "multiple choice": _score_multiple_choice,
    "numerical": _score_numerical,
    "OCR": _score_ocr,
    "free-form": _score_free_form,
    "regression": _score_regression,
}

_warned_types: set[str] = set()


def score_answer(pred: str, gt: str, problem_type: str) -> float:
    """Score an extracted prediction against a reference answer with the rule of ``problem_type``.

    An empty prediction scores 0.0 for every type (the original could score it 1.0 against an empty
    reference). An unknown ``problem_type`` scores 0.0, as in the original, with a one-time warning.
    """
    scorer = _SCORERS.get(problem_type)
    if scorer is None:
        if problem_type not in _warned_types:
            _warned_types.add(problem_type)
            logger.warning("accuracy_reward: unknown problem_type %r scores 0.0", problem_type)
        return 0.0
    if not pred:
        return 0.0
    return scorer(pred, gt)


def accuracy_reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str] | str,
    **kwargs: Any,
) -> list[float]:
    """TRL reward function: the per-type accuracy of each completion's ``<answer>``, in [0, 1].

    Args:
        completions: strings or TRL conversational completions (see :func:`completion_text`).
        solution: the dataset's ``solution`` column, aligned with ``completions`` ("<answer>A</answer>").
        problem_type: the dataset's ``problem_type`` column aligned with ``completions`` (each completion
            is scored with its own type; the original used ``problem_type[0]`` for the whole call), or one
            string for all.
        **kwargs: other dataset columns, ignored.
    """
    types = [problem_type] * len(completions) if isinstance(problem_type, str) else list(problem_type)
    if not (len(solution) == len(types) == len(completions)):
        raise ValueError(
            "accuracy_reward: completions, solution and problem_type must have the same length, got "
            f"{len(completions)}, {len(solution)} and {len(types)}"
        )
    return [
        score_answer(extract_answer(completion_text(completion)), ground_truth(sol), ptype)
        for completion, sol, ptype in zip(completions, solution, types, strict=True)
    ]
