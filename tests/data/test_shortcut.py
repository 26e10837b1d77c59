"""The shortcut miniature (issue 22): a static cue predicts the training answers, not the held-out ones.

Checked from the written records and decoded pixels, not from the generator's word: exact agreement counts,
a single-frame cue oracle that is right exactly where ``cue_agrees`` says so (high on train, chance on test),
and the order oracle that is right everywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from video_r1.data.synthetic import (
    SHORTCUT_CUES,
    SyntheticSpec,
    answer_from_cue,
    answer_from_frames,
    decode_video,
    generate_sample,
    make_synthetic,
)

DEMO_LOOK = {"background": (100, 130), "colours": ("red", "orange", "yellow", "magenta")}


def _answer(record: dict) -> str:
    return re.fullmatch(r"<answer>(.*)</answer>", record["solution"]).group(1)


def _load(root: Path, name: str) -> list[dict]:
    return json.loads((root / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=SHORTCUT_CUES)
def cued(request, tmp_path_factory):
    """40 train (+ 20 CoT of its own) at cue agreement 0.9, 20 test at 0.5, direction videos + 4 images."""
    cue = request.param
    root = tmp_path_factory.mktemp(f"shortcut_{cue}")
    make_synthetic(
        root, num_train=44, num_test=20, num_cot=20, seed=7, video_tasks=("direction",),
        image_tasks=("colour",), image_fraction=4 / 44, test_image_fraction=0.0, shortcut_cue=cue,
        cue_agreement=0.9, test_cue_agreement=0.5, progress=False, **DEMO_LOOK,
    )  # fmt: skip
    spec = SyntheticSpec(shortcut_cue=cue, background=(100.0, 130.0), colours=DEMO_LOOK["colours"])
    return cue, root, spec


def test_cue_agreement_counts_are_exact(cued) -> None:
    _, root, _ = cued
    for name, rate, per_answer in (("train", 0.9, 20), ("cot", 0.9, 9), ("test", 0.5, 10)):
        records = [r for r in _load(root, name) if r["data_source"] == "synthetic/direction"]
        answers = Counter(_answer(r) for r in records)
        assert answers == {"A": per_answer, "B": per_answer}, name
        agree = Counter(_answer(r) for r in records if r["cue_agrees"])
        expected = round(rate * per_answer)
        assert agree == {"A": expected, "B": expected}, (name, agree)
        assert all(isinstance(r["cue_agrees"], bool) for r in records)
    # image records carry no cue
    assert all("cue_agrees" not in r for r in _load(root, "train") if r["data_type"] == "image")


def test_single_frame_cue_oracle_is_the_shortcut_and_order_oracle_is_exact(cued) -> None:
    """On every direction clip: the cue measured on any single frame (first, last, middle) points to the
    answer exactly when cue_agrees; so it scores 0.9 on train, 0.5 on test. The order oracle scores 1.0 on
    both and flips on the reversed clip; the cue oracle does not care about order."""
    _, root, spec = cued
    rates = {}
    for name in ("train", "test"):
        cue_right = order_right = n = 0
        for record in _load(root, name):
            if record["data_source"] != "synthetic/direction":
                continue
            frames = decode_video(root / record["path"])
            cue_answers = {answer_from_cue(frames[i], record, spec) for i in (0, 3, len(frames) - 1)}
            assert len(cue_answers) == 1, record["path"]  # static: every frame says the same
            (cue_answer,) = cue_answers
            assert (cue_answer == _answer(record)) == record["cue_agrees"], record["path"]
            assert answer_from_frames(frames, "direction", record) == _answer(record)
            assert answer_from_frames(frames[::-1], "direction", record) != _answer(record)
            cue_right += cue_answer == _answer(record)
            order_right += 1
            n += 1
        rates[name] = (cue_right / n, order_right / n)
    assert rates == {"train": (0.9, 1.0), "test": (0.5, 1.0)}


def test_shuffled_frames_keep_the_cue_and_lose_the_order(cued) -> None:
    """A label-blind order (frames sorted by their bytes) leaves the cue oracle's answers unchanged and puts
    the order oracle near chance on the cue-agreeing training clips (where the cue alone is right)."""
    _, root, spec = cued
    blind = n = 0
    for record in _load(root, "train"):
        if record["data_source"] != "synthetic/direction":
            continue
        frames = decode_video(root / record["path"])
        keys = [hashlib.sha256(frame.tobytes()).hexdigest() for frame in frames]
        shuffled = frames[np.argsort(keys)]
        assert answer_from_cue(shuffled[0], record, spec) == answer_from_cue(frames[0], record, spec)
        blind += answer_from_frames(shuffled, "direction", record) == _answer(record)
        n += 1
    assert abs(blind / n - 0.5) < 0.25, blind / n  # n = 40: chance +- ~3 standard errors


def test_reversed_cue_on_test_and_all_agreeing_train(tmp_path: Path) -> None:
    make_synthetic(
        tmp_path, num_train=10, num_test=10, seed=1, video_tasks=("direction",), image_fraction=0.0,
        shortcut_cue="colour", cue_agreement=1.0, test_cue_agreement=0.0, progress=False, **DEMO_LOOK,
    )  # fmt: skip
    assert all(r["cue_agrees"] for r in _load(tmp_path, "train"))
    assert not any(r["cue_agrees"] for r in _load(tmp_path, "test"))


def test_cue_reaches_the_pixels_as_documented() -> None:
    """colour: first half of the colours = left; background: low 40% = left; row: top part = left."""
    spec = SyntheticSpec(shortcut_cue="colour", background=(100.0, 130.0), colours=DEMO_LOOK["colours"])
    assert spec.cue_colours(0) == ("red", "orange") and spec.cue_colours(1) == ("yellow", "magenta")
    assert spec.cue_background(0) == (100.0, 112.0) and spec.cue_background(1) == (118.0, 130.0)
    assert SyntheticSpec().cue_rows(10, 0) == (0, 19) and SyntheticSpec().cue_rows(10, 1) == (27, 46)
    for i in range(20):
        for cue in SHORTCUT_CUES:
            spec = SyntheticSpec(shortcut_cue=cue, background=(100.0, 130.0), colours=DEMO_LOOK["colours"])
            sample = generate_sample(
                "direction", i % 2, np.random.default_rng([3, i]), spec, cue_agrees=i % 3 > 0
            )
            record = {"options": sample.options}
            says = answer_from_cue(sample.pixels[i % 8], record, spec)
            assert (says == sample.answer) == (i % 3 > 0), (cue, i)
            assert sample.record(i, "x", with_process=False)["cue_agrees"] == (i % 3 > 0)


def test_defaults_unchanged() -> None:
    """Without shortcut_cue the renderer draws exactly what it drew before the cue existed (digest taken
    from the code before issue 22), and records have no cue_agrees field."""
    digest = hashlib.sha256()
    for task in ("direction", "appearance_order", "size_change", "count", "square_size", "colour"):
        for i in range(4):
            sample = generate_sample(
                task, i % 2, np.random.default_rng([9, i]), SyntheticSpec(background=(100.0, 130.0))
            )
            digest.update(sample.pixels.tobytes())
            digest.update(repr(sample.record(i, "x", with_process=True)).encode())
    assert digest.hexdigest() == "979a659ae7505c0eddd2d1337d48f3e439179c83a2bed9806e6991a74dd5e205"


def test_default_json_unchanged(tmp_path: Path) -> None:
    paths = make_synthetic(tmp_path, num_train=12, num_test=6, seed=1, progress=False)
    data = paths["train"].read_bytes() + paths["test"].read_bytes() + paths["cot"].read_bytes()
    assert (
        hashlib.sha256(data).hexdigest() == "a6aad89cde95b1157442f972219fc662f0c82ed5707e8965ae030825e2d8c4c7"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shortcut_cue": "texture"}, "shortcut_cue='texture'"),
        ({"shortcut_cue": "colour", "cue_agreement": 1.5}, "cue_agreement=1.5"),
        ({"shortcut_cue": "colour", "test_cue_agreement": -0.1}, "test_cue_agreement=-0.1"),
        ({"shortcut_cue": "colour", "video_tasks": ("size_change",)}, "add it to video_tasks"),
        ({"shortcut_cue": "background", "background": (100, 105)}, "range of >= 10"),
    ],
)
def test_bad_cue_settings_are_rejected(kwargs: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(match)):
        make_synthetic(tmp_path, num_train=2, num_test=2, progress=False, **kwargs)


def test_cli_shortcut_flags(tmp_path: Path, capsys) -> None:
    from video_r1.cli.main import main

    argv = ["make-synthetic", "--output_dir", str(tmp_path / "cli"), "--num_train", "10", "--num_test", "4",
            "--video_tasks", "direction", "--image_fraction", "0", "--shortcut_cue", "row", "--cue_agreement",
            "0.8", "--test_cue_agreement", "0", "--no_progress"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "shortcut cue agrees on 8 of 10" in out and "shortcut cue agrees on 0 of 4" in out
    make_synthetic(
        tmp_path / "lib", num_train=10, num_test=4, video_tasks=("direction",), image_fraction=0.0,
        shortcut_cue="row", cue_agreement=0.8, test_cue_agreement=0.0, progress=False,
    )  # fmt: skip
    for name in ("train.json", "test.json"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "lib" / name).read_bytes()
    assert main([*argv[:3], str(tmp_path / "bad"), "--shortcut_cue", "texture", "--no_progress"]) == 2
    assert "--shortcut_cue='texture'" in capsys.readouterr().err
