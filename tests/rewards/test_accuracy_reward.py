"""accuracy_reward: per-type tables, the documented fixes, batches, and a differential test against an
independent re-implementation of the original's scoring (written from docs/original-behaviour.md §3)."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer, tokenizers

from video_r1.prompts import PROBLEM_TYPES
from video_r1.rewards import ORIGINAL_DIFFERENCES, accuracy_reward, extract_answer
from video_r1.rewards.accuracy import (
    UnicodeRougeTokenizer,
    completion_text,
    ground_truth,
    score_answer,
    word_error_rate,
)

# ----------------------------------------------------------------------------------------------------------
# Oracle: the original's accuracy rule as described in docs/original-behaviour.md §3 (own code, kept naive:
# hand-written DP word edit distance, stock RougeScorer, Python min/max, broad except).


def _orig_extract(text: str) -> str:
    match = re.search(r"<answer>\s*(.*?)\s*</answer>", text, re.DOTALL)
    return match.group(1).strip() if match else ""


def _orig_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except Exception:
        return None


def _orig_wer(reference: str, hypothesis: str) -> float:
    ref, hyp = reference.split(), hypothesis.split()
    table = [[0] * (len(hyp) + 1) for _ in range(len(ref) + 1)]
    for i in range(len(ref) + 1):
        table[i][0] = i
    for j in range(len(hyp) + 1):
        table[0][j] = j
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            if ref[i - 1] == hyp[j - 1]:
                table[i][j] = table[i - 1][j - 1]
            else:
                table[i][j] = 1 + min(table[i - 1][j], table[i][j - 1], table[i - 1][j - 1])
    return table[len(ref)][len(hyp)] / max(1, len(ref))


STOCK_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def original_accuracy(content: str, solution: str, problem_type: str) -> float:
    try:
        out, gt = _orig_extract(content), _orig_extract(solution)
        if problem_type == "multiple choice":
            return 1.0 if out.strip() == gt.strip() else 0.0
        if problem_type == "numerical":
            if (("." in gt) or ("," in gt)) != (("." in out) or ("," in out)):
                return 0.0
            g, o = _orig_number(gt), _orig_number(out)
            if g is None or o is None:
                return 0.0
            return 1.0 if round(g, 2) == round(o, 2) else 0.0
        if problem_type == "OCR":
            return max(0.0, min(1.0, 1 - _orig_wer(gt, out)))
        if problem_type == "free-form":
            s = STOCK_SCORER.score(gt, out)
            return max(
                0.0, min(1.0, (s["rouge1"].fmeasure + s["rouge2"].fmeasure + s["rougeL"].fmeasure) / 3)
            )
        if problem_type == "regression":
            g, o = _orig_number(gt), _orig_number(out)
            rel = (abs(o - g) + 1e-9) / (abs(g) + 1e-9)  # None -> TypeError -> 0.0, as the original
            return 1 - min(1.0, max(0.0, rel))
        return 0.0
    except Exception:
        return 0.0


def ours(pred: str, gt: str, problem_type: str) -> float:
    return accuracy_reward(
        [f"<think>t</think><answer>{pred}</answer>"], [f"<answer>{gt}</answer>"], problem_type
    )[0]


# ----------------------------------------------------------------------------------------------------------
# Extraction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>A</answer>", "A"),
        ("<think>x</think>\n<answer>\n  B. cat \n</answer>", "B. cat"),
        ("<answer>first</answer> <answer>second</answer>", "first"),
        ("<answer>line1\nline2</answer>", "line1\nline2"),
        ("<answer></answer>", ""),
        ("no tags at all", ""),
        ("<answer>unclosed", ""),
        ("<ANSWER>A</ANSWER>", ""),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("solution", "expected"),
    [("<answer> 3.5 </answer>", "3.5"), ("  C  ", "C"), ("<answer></answer>", ""), ("", "")],
)
def test_ground_truth(solution, expected):
    assert ground_truth(solution) == expected


# ----------------------------------------------------------------------------------------------------------
# Per-type tables (values hand-derived from the rules)

TABLE = [
    # multiple choice: identical strings only
    ("multiple choice", "A", "A", 1.0),
    ("multiple choice", "A.", "A", 0.0),
    ("multiple choice", "a", "A", 0.0),
    ("multiple choice", "A. dog", "A", 0.0),
    ("multiple choice", "B", "A", 0.0),
    # numerical: decimal-presence test ("." or ","), commas dropped, 2-dp rounding
    ("numerical", "3", "3", 1.0),
    ("numerical", "-5", "-5", 1.0),
    ("numerical", "3.0", "3", 0.0),
    ("numerical", "3", "3.0", 0.0),
    ("numerical", "3.0", "3.00", 1.0),
    ("numerical", "1,000", "1000", 0.0),
    ("numerical", "1000", "1,000", 0.0),
    ("numerical", "1,000", "1,000", 1.0),
    ("numerical", "1,000.5", "1000.5", 1.0),
    ("numerical", "3.14159", "3.14", 1.0),
    ("numerical", "3.146", "3.15", 1.0),
    ("numerical", "3.144", "3.15", 0.0),
    ("numerical", "2.675", "2.67", 1.0),  # round(2.675, 2) == 2.67 in binary floating point
    ("numerical", "2.675", "2.68", 0.0),
    ("numerical", "five", "5", 0.0),
    ("numerical", "5 apples", "5", 0.0),
    # OCR: 1 - word edit distance / reference words
    ("OCR", "hello world", "hello world", 1.0),
    ("OCR", "hello word foo", "hello world foo bar", 0.5),  # 1 substitution + 1 deletion over 4
    ("OCR", "a b c", "a b c d", 0.75),
    ("OCR", "a\nb", "a b", 1.0),  # str.split(): any whitespace
    ("OCR", "Hello world", "hello world", 0.5),  # case sensitive
    ("OCR", "a b c d e", "a b", 0.0),  # 3 insertions / 2 -> WER 1.5, clipped
    ("OCR", "x", "", 0.0),  # empty reference: 1 insertion / max(1, 0)
    # free-form: mean ROUGE-1/2/L F1 (worked out below)
    ("free-form", "the cat sat on the mat", "the cat sat on the mat", 1.0),
    ("free-form", "completely different", "the cat sat on the mat", 0.0),
    # regression
    ("regression", "10", "5", 0.0),  # relative error exactly 1
    ("regression", "100", "5", 0.0),
    ("regression", "abc", "5", 0.0),
    ("regression", "1", "0", 0.0),
]


@pytest.mark.parametrize(("ptype", "pred", "gt", "expected"), TABLE)
def test_table(ptype, pred, gt, expected):
    assert ours(pred, gt, ptype) == expected
    assert original_accuracy(f"<answer>{pred}</answer>", f"<answer>{gt}</answer>", ptype) == expected


def test_free_form_partial_overlap_hand_computed():
    # ref: the cat sat on the mat / pred: the cat lay on a mat (no token longer than 3 -> no stemming)
    # rouge1: overlap {the, cat, on, mat} = 4 of 6 and 6 -> F 2/3; rouge2: {the cat} = 1 of 5 -> F 1/5;
    # rougeL: LCS the-cat-on-mat = 4 -> F 2/3. Mean = (2/3 + 1/5 + 2/3) / 3 = 23/45.
    value = ours("the cat lay on a mat", "the cat sat on the mat", "free-form")
    assert value == pytest.approx(23 / 45, rel=1e-12, abs=0)
    stock = STOCK_SCORER.score("the cat sat on the mat", "the cat lay on a mat")
    assert value == (stock["rouge1"].fmeasure + stock["rouge2"].fmeasure + stock["rougeL"].fmeasure) / 3


def test_free_form_uses_porter_stemming():
    # ref tokens [run, dog] ("running" and "dogs" stemmed); pred [the, dog, run] ("dog" is too short to stem).
    # rouge1 P 2/3 R 1 -> F 0.8; rouge2 0; rougeL LCS 1 -> P 1/3 R 1/2 -> F 0.4. Mean 0.4.
    assert ours("the dog runs", "running dogs", "free-form") == pytest.approx(0.4, rel=1e-12, abs=0)


def test_free_form_argument_order_is_reference_then_prediction():
    # Precision and recall swap with the order; F1 does not, but rouge_score's score(target, prediction)
    # order is what the original used, so check the scorer sees the reference as the target.
    scores = STOCK_SCORER.score("a b c d", "a b")
    assert scores["rouge1"].recall == 0.5
    assert ours("a b", "a b c d", "free-form") == pytest.approx(
        (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure + scores["rougeL"].fmeasure) / 3, abs=0
    )


def test_regression_values():
    assert ours("4", "5", "regression") == 1 - (1 + 1e-9) / (5 + 1e-9)
    assert ours("4", "5", "regression") == pytest.approx(0.8, abs=1e-9)
    assert ours("5", "5", "regression") == 1 - 1e-9 / (5 + 1e-9)
    assert ours("-4", "-5", "regression") == 1 - (1 + 1e-9) / (5 + 1e-9)
    assert ours("1,000", "1000", "regression") == 1 - 1e-9 / (1000 + 1e-9)  # commas dropped, no "." test
    assert ours("2.5", "2", "regression") == 1 - (0.5 + 1e-9) / (2 + 1e-9)


def test_word_error_rate_edge_values():
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "a b") == 2.0
    assert word_error_rate("a b", "") == 1.0
    assert word_error_rate("a b c", "a c b") == pytest.approx(2 / 3, abs=0)


# ----------------------------------------------------------------------------------------------------------
# The fixes: the original's value (from the oracle) and ours


@pytest.mark.parametrize(
    ("content", "solution", "ptype", "original", "fixed"),
    [
        # (a) NaN / inf in regression
        ("<answer>nan</answer>", "<answer>5</answer>", "regression", 1.0, 0.0),
        ("<answer>NaN</answer>", "<answer>0</answer>", "regression", 1.0, 0.0),
        ("<answer>inf</answer>", "<answer>inf</answer>", "regression", 1.0, 0.0),
        ("<answer>inf</answer>", "<answer>5</answer>", "regression", 0.0, 0.0),
        # (b) exact answer to a zero ground truth
        ("<answer>0</answer>", "<answer>0</answer>", "regression", 0.0, 1.0),
        ("<answer>0.0</answer>", "<answer>-0</answer>", "regression", 0.0, 1.0),
        # (c) solution without <answer> tag
        ("no answer tag", "A", "multiple choice", 1.0, 0.0),
        ("<answer>A</answer>", "A", "multiple choice", 0.0, 1.0),
        ("<answer>B</answer>", "A", "multiple choice", 0.0, 0.0),
        ("nothing", "hello world", "OCR", 1.0, 0.0),
        ("<answer>hello world</answer>", " hello world\n", "OCR", 0.0, 1.0),
        ("<answer></answer>", "<answer></answer>", "multiple choice", 1.0, 0.0),
        ("<answer></answer>", "<answer></answer>", "OCR", 1.0, 0.0),
        # (d) non-ASCII free-form: every token dropped by the stock tokenizer
        ("<answer>我喜欢猫</answer>", "<answer>我喜欢猫</answer>", "free-form", 0.0, 1.0),
        ("<answer>Привет мир</answer>", "<answer>привет мир</answer>", "free-form", 0.0, 1.0),
        ("<answer>我喜欢狗</answer>", "<answer>我喜欢猫</answer>", "free-form", 0.0, 13 / 18),
    ],
)
def test_fixes_against_original(content, solution, ptype, original, fixed):
    assert original_accuracy(content, solution, ptype) == original
    assert accuracy_reward([content], [solution], [ptype]) == [pytest.approx(fixed, rel=1e-12, abs=0)]


def test_chinese_partial_overlap_hand_computed():
    # 4 characters each; rouge1 3/4; rouge2 bigrams {我喜, 喜欢} shared of 3 -> 2/3; rougeL 3/4.
    # Mean (3/4 + 2/3 + 3/4) / 3 = 13/18.
    assert ours("我喜欢狗", "我喜欢猫", "free-form") == pytest.approx(13 / 18, rel=1e-12, abs=0)


def test_unicode_tokenizer_examples():
    tok = UnicodeRougeTokenizer()
    assert tok.tokenize("我喜欢猫!") == ["我", "喜", "欢", "猫"]
    assert tok.tokenize("ありがとう") == ["あ", "り", "が", "と", "う"]
    assert tok.tokenize("Привет, мир") == ["привет", "мир"]
    assert tok.tokenize("ＡＢＣ１２ running café") == ["abc12", "run", "café"]
    assert tok.tokenize("snake_case don't") == ["snake", "case", "don", "t"]


def test_original_differences_table():
    assert len(ORIGINAL_DIFFERENCES) == 5
    for row in ORIGINAL_DIFFERENCES:
        assert len(row) == 3 and all(isinstance(cell, str) and cell for cell in row)


# ----------------------------------------------------------------------------------------------------------
# Batches, column handling, completion formats


def test_mixed_problem_types_are_scored_per_sample():
    completions = [
        "<answer>A</answer>",
        "<answer>3.0</answer>",
        "<answer>3.0</answer>",
        "<answer>hello word</answer>",
        "<answer>the cat lay on a mat</answer>",
    ]
    solutions = [
        "<answer>A</answer>",
        "<answer>3</answer>",
        "<answer>3</answer>",
        "<answer>hello world</answer>",
        "<answer>the cat sat on the mat</answer>",
    ]
    types = ["multiple choice", "numerical", "regression", "OCR", "free-form"]
    assert accuracy_reward(completions, solutions, types) == [
        1.0,
        0.0,
        1 - 1e-9 / (3 + 1e-9),
        0.5,
        pytest.approx(23 / 45, rel=1e-12, abs=0),
    ]
    # The original would have scored all five as "multiple choice" (problem_type[0]).
    assert [original_accuracy(c, s, types[0]) for c, s in zip(completions, solutions)] == [1, 0, 0, 0, 0]


def test_single_problem_type_string_is_broadcast():
    out = accuracy_reward(
        ["<answer>A</answer>", "<answer>B</answer>"], ["<answer>A</answer>"] * 2, "multiple choice"
    )
    assert out == [1.0, 0.0]


def test_extra_columns_are_ignored():
    out = accuracy_reward(
        ["<answer>A</answer>"], ["<answer>A</answer>"], ["multiple choice"], problem_id=[7], x=1
    )
    assert out == [1.0]


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="same length"):
        accuracy_reward(["<answer>A</answer>"] * 2, ["<answer>A</answer>"], "multiple choice")
    with pytest.raises(ValueError, match="same length"):
        accuracy_reward(["<answer>A</answer>"], ["<answer>A</answer>"], ["OCR", "OCR"])


def test_unknown_problem_type_scores_zero_and_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="video_r1.rewards.accuracy"):
        out = accuracy_reward(
            ["<answer>A</answer>"] * 2, ["<answer>A</answer>"] * 2, ["yes/no-test", "yes/no-test"]
        )
    assert out == [0.0, 0.0]
    assert sum("yes/no-test" in r.getMessage() for r in caplog.records) == 1


def test_score_answer_empty_prediction_never_scores():
    for ptype in PROBLEM_TYPES:
        assert score_answer("", "", ptype) == 0.0


def test_conversational_completions():
    text = "<think>x</think><answer>A</answer>"
    completions = [
        [{"role": "assistant", "content": text}],
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "<think>x</think>"},
                    {"type": "text", "text": "<answer>A</answer>"},
                ],
            }
        ],
        [{"role": "assistant", "content": [{"type": "image"}, {"type": "text", "text": text}]}],
        [{"role": "assistant", "content": "<answer>B</answer>"}],
        text,
    ]
    assert accuracy_reward(completions, ["<answer>A</answer>"] * 5, "multiple choice") == [
        1.0,
        1.0,
        1.0,
        0.0,
        1.0,
    ]


def test_completion_text():
    assert completion_text("abc") == "abc"
    assert completion_text({"role": "assistant", "content": "abc"}) == "abc"
    assert (
        completion_text([{"role": "assistant", "content": "first"}, {"role": "assistant", "content": "last"}])
        == "last"
    )
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": None}]}]) == ""
    with pytest.raises(TypeError):
        completion_text([])
    with pytest.raises(TypeError):
        completion_text(3)
    with pytest.raises(TypeError):
        completion_text([{"role": "assistant"}])


# ----------------------------------------------------------------------------------------------------------
# Properties

_ASCII = st.characters(min_codepoint=32, max_codepoint=126)
_NUMBER_TEXT = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.integers(-(10**6), 10**6).map(lambda n: f"{n:,}"),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["0", "0.0", "nan", "inf", "-inf", "1e3", "1_000", ""]),
)
_ANSWER_TEXT = st.one_of(st.text(_ASCII, max_size=40), _NUMBER_TEXT, st.sampled_from(["A", "B", "A.", "a"]))


@settings(max_examples=200, deadline=None)
@given(
    pred=_ANSWER_TEXT,
    gt=_ANSWER_TEXT,
    ptype=st.sampled_from(PROBLEM_TYPES),
)
def test_matches_original_on_ordinary_ascii_inputs(pred, gt, ptype):
    """Outside the documented fixes, our value equals the original's exactly."""
    content, solution = f"<think>t</think><answer>{pred}</answer>", f"<answer>{gt}</answer>"
    out, gt_ans = extract_answer(content), extract_answer(solution)
    assume(out and gt_ans)  # fix (c): empty answers
    if ptype == "regression":  # fixes (a) and (b)
        o, g = _orig_number(out), _orig_number(gt_ans)
        assume(
            o is None
            or g is None
            or (o == o and g == g and abs(o) != float("inf") and abs(g) != float("inf"))
        )
        assume(not (g == 0.0 and o == 0.0))
    assert accuracy_reward([content], [solution], [ptype]) == [original_accuracy(content, solution, ptype)]


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=80))
def test_unicode_tokenizer_is_identical_to_default_on_ascii(text):
    assert UnicodeRougeTokenizer().tokenize(text) == tokenizers.DefaultTokenizer(use_stemmer=True).tokenize(
        text
    )


@settings(max_examples=150, deadline=None)
@given(
    completion=st.one_of(st.text(max_size=60), st.text(max_size=40).map(lambda t: f"<answer>{t}</answer>")),
    solution=st.one_of(st.text(max_size=60), st.text(max_size=40).map(lambda t: f"<answer>{t}</answer>")),
    as_conversation=st.booleans(),
)
def test_arbitrary_unicode_never_raises_and_stays_in_unit_interval(completion, solution, as_conversation):
    completions = [[{"role": "assistant", "content": completion}] if as_conversation else completion] * len(
        PROBLEM_TYPES
    )
    values = accuracy_reward(completions, [solution] * len(PROBLEM_TYPES), list(PROBLEM_TYPES))
    assert len(values) == len(PROBLEM_TYPES)
    for value in values:
        assert isinstance(value, float)
        assert 0.0 <= value <= 1.0
