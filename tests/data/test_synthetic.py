"""The synthetic frame-order dataset: labels are right, order is the only signal, files are reproducible."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from video_r1.data.synthetic import (
    IMAGE_TASKS,
    TASK_PROBLEM_TYPES,
    VIDEO_TASKS,
    SyntheticSpec,
    _object_mask,
    answer_from_frames,
    decode_video,
    encode_video,
    generate_sample,
    make_synthetic,
)
from video_r1.prompts import DATA_TYPES, PROBLEM_TYPES

FIELDS = ("problem_id", "problem", "data_type", "problem_type", "options", "solution", "path", "data_source")


def _answer(record: dict) -> str:
    return re.fullmatch(r"<answer>(.*)</answer>", record["solution"]).group(1)


def _task(record: dict) -> str:
    return record["data_source"].removeprefix("synthetic/")


def _load(root: Path, name: str) -> list[dict]:
    return json.loads((root / f"{name}.json").read_text(encoding="utf-8"))


def _pixels(root: Path, record: dict) -> np.ndarray:
    path = root / record["path"]
    if record["data_type"] == "video":
        return decode_video(path, "decord")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """18 train (12 videos = 4 per video task, 6 images) + 9 test records."""
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, num_train=18, num_test=9, seed=3, image_fraction=1 / 3, progress=False)
    return root


def test_returned_paths_and_record_format(dataset: Path) -> None:
    train, cot, test = (_load(dataset, name) for name in ("train", "cot", "test"))
    assert (len(train), len(cot), len(test)) == (18, 18, 9)
    for record in train + test:
        assert tuple(record) == FIELDS
        assert isinstance(record["problem_id"], int)
        assert record["data_type"] in DATA_TYPES
        assert (
            record["problem_type"] == TASK_PROBLEM_TYPES[_task(record)]
            and record["problem_type"] in PROBLEM_TYPES
        )
        assert record["path"].startswith("./")
        assert (dataset / record["path"]).is_file()
        suffix = ".mp4" if record["data_type"] == "video" else ".png"
        assert record["path"].endswith(suffix)
        if record["problem_type"] == "multiple choice":
            assert [o[:3] for o in record["options"]] == ["A. ", "B. "]
            assert _answer(record) in ("A", "B")
            # format_question appends "Options:" straight after the problem
            assert record["problem"].endswith("?\n")
        else:
            assert record["options"] == []
            assert _answer(record).isdigit()
    assert {r["data_type"] for r in train} == {"video", "image"}
    # cot.json is train.json plus a short process ending in a conclusion consistent with the answer
    for plain, annotated in zip(train, cot):
        assert {k: v for k, v in annotated.items() if k != "process"} == plain
        process = annotated["process"]
        assert re.fullmatch(r"<think>[^<>]+</think>", process)
        assert len(process.split()) <= 30
        answer = _answer(plain)
        if plain["problem_type"] == "multiple choice":
            text = dict(o.split(". ", 1) for o in plain["options"])[answer]
            assert process.removesuffix(".</think>").endswith(text)
        else:
            assert answer in process
    train_ids, test_ids = {r["problem_id"] for r in train}, {r["problem_id"] for r in test}
    assert len(train_ids) == 18 and len(test_ids) == 9 and not train_ids & test_ids
    assert not {r["path"] for r in train} & {r["path"] for r in test}


def test_video_labels_match_oracle_and_reversal_flips(dataset: Path) -> None:
    checked = Counter()
    for record in _load(dataset, "train") + _load(dataset, "test"):
        if record["data_type"] != "video":
            continue
        frames = decode_video(dataset / record["path"], "decord")
        assert frames.shape == (8, 56, 56, 3)
        np.testing.assert_array_equal(frames, decode_video(dataset / record["path"], "pyav"))
        task = _task(record)
        assert answer_from_frames(frames, task, record) == _answer(record)
        other = {"A": "B", "B": "A"}[_answer(record)]
        assert answer_from_frames(frames[::-1], task, record) == other
        checked[task] += 1
    assert set(checked) == set(VIDEO_TASKS)


def test_video_answers_balanced(dataset: Path) -> None:
    for name in ("train", "test"):
        per_task: dict[str, Counter] = {}
        for record in _load(dataset, name):
            if record["problem_type"] == "multiple choice":
                per_task.setdefault(_task(record), Counter())[_answer(record)] += 1
        for task in VIDEO_TASKS:
            counts = per_task[task]
            assert abs(counts["A"] - counts["B"]) <= 1, (name, task, counts)
    # over a bigger split the tasks are also evenly represented
    counts = Counter(_task(r) for r in _load(dataset, "train") if r["data_type"] == "video")
    assert counts == {task: 4 for task in VIDEO_TASKS}


def test_image_labels_match_measurement(dataset: Path) -> None:
    seen = Counter()
    for record in _load(dataset, "train") + _load(dataset, "test"):
        if record["data_type"] != "image":
            continue
        image = _pixels(dataset, record)
        assert image.shape == (56, 56, 3)
        assert answer_from_frames(image, _task(record), record) == _answer(record)
        seen[_task(record)] += 1
    assert set(seen) == set(IMAGE_TASKS)


def test_count_labels_measured_and_varied() -> None:
    counts = []
    for i in range(40):
        sample = generate_sample("count", 0, np.random.default_rng([7, i]))
        record = {"options": sample.options}
        assert answer_from_frames(sample.pixels, "count", record) == sample.answer
        counts.append(int(sample.answer))
    assert set(counts) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("task", VIDEO_TASKS)
def test_other_answer_is_exactly_the_reversed_clip(task: str, tmp_path: Path) -> None:
    """The multiset argument, checked directly: for the same latents, answer B's frames are answer A's
    frames backwards, before and after the (intra-only) codec, so the unordered frames are identical."""
    spec = SyntheticSpec()
    for i in range(3):
        a = generate_sample(task, 0, np.random.default_rng([11, i]), spec)
        b = generate_sample(task, 1, np.random.default_rng([11, i]), spec)
        assert (a.answer, b.answer) == ("A", "B") and a.options == b.options and a.problem == b.problem
        np.testing.assert_array_equal(b.pixels, a.pixels[::-1])
        decoded_a = decode_video(encode_video(a.pixels, tmp_path / f"a{i}.mp4"))
        decoded_b = decode_video(encode_video(b.pixels, tmp_path / f"b{i}.mp4"))
        np.testing.assert_array_equal(decoded_b, decoded_a[::-1])


@pytest.mark.parametrize("task", VIDEO_TASKS)
def test_order_free_view_is_at_chance(task: str) -> None:
    """A label-blind ordering of the frames (sorted by their bytes, a function of the multiset only) gives
    the oracle nothing: its accuracy is ~0.5, while the true order gives 1.0."""
    n = 240
    ordered = blind = 0
    for i in range(n):
        sample = generate_sample(task, i % 2, np.random.default_rng([5, i]))
        record = {"options": sample.options}
        frames = sample.pixels
        ordered += answer_from_frames(frames, task, record) == sample.answer
        keys = [hashlib.sha256(frame.tobytes()).hexdigest() for frame in frames]
        blind += answer_from_frames(frames[np.argsort(keys)], task, record) == sample.answer
    assert ordered == n
    # 0.5 +- 4 standard errors (0.032 each at n=240)
    assert abs(blind / n - 0.5) < 0.13, blind / n


def test_deterministic_for_seed(dataset: Path, tmp_path: Path) -> None:
    again = make_synthetic(
        tmp_path / "again", num_train=18, num_test=9, seed=3, image_fraction=1 / 3, progress=False
    )
    for name in ("train", "cot", "test"):
        assert again[name].read_text() == (dataset / f"{name}.json").read_text()
    for record in _load(dataset, "train") + _load(dataset, "test"):
        np.testing.assert_array_equal(_pixels(again["root"], record), _pixels(dataset, record))
        assert (again["root"] / record["path"]).read_bytes() == (dataset / record["path"]).read_bytes()

    other = make_synthetic(
        tmp_path / "other", num_train=18, num_test=9, seed=4, image_fraction=1 / 3, progress=False
    )
    assert other["train"].read_text() != (dataset / "train.json").read_text()
    assert any(
        not np.array_equal(_pixels(other["root"], record), _pixels(dataset, record))
        for record in _load(dataset, "train")
    )


def test_task_selection_and_video_only_test(tmp_path: Path) -> None:
    paths = make_synthetic(
        tmp_path, num_train=8, num_test=4, video_tasks=("direction",), image_fraction=0.25,
        test_image_fraction=0.0, progress=False,
    )  # fmt: skip
    train, test = _load(tmp_path, "train"), _load(tmp_path, "test")
    assert Counter(r["data_type"] for r in train) == {"video": 6, "image": 2}
    assert {_task(r) for r in train if r["data_type"] == "video"} == {"direction"}
    assert {r["data_type"] for r in test} == {"video"}
    assert paths["train"] == tmp_path / "train.json"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 50}, "multiple of 28"),
        ({"video_tasks": ("spin",)}, "unknown video task"),
        ({"min_speed": 9.0}, "does not fit"),
        ({"image_tasks": (), "image_fraction": 0.5}, "no image_tasks"),
        ({"max_speed": 2.0}, "max_speed"),
        ({"background": (100, 200)}, "background"),
        ({"colours": ("red", "pink")}, "colours"),
        ({"cot_overrides": {"min_speed": 5.0}}, "needs num_cot"),
        ({"num_cot": 2, "cot_overrides": {"speed": 5.0}}, "unknown field"),
        ({"num_cot": 2, "cot_overrides": {"size": 50}}, "cot_overrides: size=50"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match):
        make_synthetic(tmp_path, num_train=2, num_test=2, progress=False, **kwargs)


def test_cli_make_synthetic(tmp_path: Path, capsys) -> None:
    from video_r1.cli.main import main

    code = main(
        ["make-synthetic", "--output_dir", str(tmp_path), "--num_train", "4", "--num_test", "2", "--seed", "1",
         "--video_tasks", "direction", "size_change", "--image_fraction", "0", "--no_progress"]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "direction 2" in out and "size_change 2" in out
    assert {_task(r) for r in _load(tmp_path, "train")} == {"direction", "size_change"}


def _speed(frames: np.ndarray) -> float:
    """|px per frame| of the direction task's square, measured from the decoded frames."""
    xs = [float(np.nonzero(_object_mask(frame))[1].mean()) for frame in frames]
    return abs(xs[-1] - xs[0]) / (len(xs) - 1)


def test_cot_split_of_its_own_with_overrides(tmp_path: Path) -> None:
    paths = make_synthetic(
        tmp_path, num_train=12, num_test=4, seed=5, video_tasks=("direction",), image_fraction=0.0,
        min_speed=1.0, num_cot=10, cot_overrides={"min_speed": 5.0, "background": [100, 130]}, progress=False,
    )  # fmt: skip
    train, cot, test = (_load(tmp_path, name) for name in ("train", "cot", "test"))
    assert (len(train), len(cot), len(test)) == (12, 10, 4)
    ids = [r["problem_id"] for r in train + test + cot]
    assert len(set(ids)) == len(ids) and min(r["problem_id"] for r in cot) == 16  # after the test ids
    assert all(r["process"].startswith("<think>") for r in cot) and "process" not in train[0]
    assert Counter(_answer(r) for r in cot) == {"A": 5, "B": 5}
    for record in cot:  # the overrides reached the CoT clips: fast, on a mid-grey background
        frames = _pixels(tmp_path, record)
        assert _speed(frames) >= 4.9
        assert 95 <= np.median(frames) <= 135
        assert answer_from_frames(frames, "direction", record) == _answer(record)
    assert min(_speed(_pixels(tmp_path, r)) for r in train) < 4.0  # the RL split keeps the wide range
    assert all(np.median(_pixels(tmp_path, r)) < 70 for r in train)  # and the default dark background
    assert paths["cot"] == tmp_path / "cot.json"


def test_max_speed_bounds_the_motion(tmp_path: Path) -> None:
    make_synthetic(
        tmp_path, num_train=10, num_test=0, seed=2, video_tasks=("direction",), image_fraction=0.0,
        min_speed=1.5, max_speed=2.5, progress=False,
    )  # fmt: skip
    for record in _load(tmp_path, "train"):
        assert 1.2 <= _speed(_pixels(tmp_path, record)) <= 2.8  # integer rounding of positions


def test_colours_restrict_the_palette(tmp_path: Path) -> None:
    from video_r1.data.synthetic import PALETTE

    make_synthetic(
        tmp_path, num_train=12, num_test=0, seed=1, video_tasks=("direction", "appearance_order"),
        image_fraction=0.0, colours=("red", "yellow"), progress=False,
    )  # fmt: skip
    for record in _load(tmp_path, "train"):
        frames = _pixels(tmp_path, record)
        mask = np.stack([_object_mask(f) for f in frames])
        mean = frames[mask].reshape(-1, 3).astype(float).mean(axis=0)
        nearest = min(PALETTE, key=lambda name: float(np.sum((mean - np.array(PALETTE[name])) ** 2)))
        assert nearest in ("red", "yellow") or record["data_source"].endswith("appearance_order")
        if record["data_source"].endswith("appearance_order"):
            assert {o[3:] for o in record["options"]} == {"red", "yellow"}
