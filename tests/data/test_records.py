"""Tests for video_r1.data.records: reading, validation errors with locations, media paths, filters."""

from __future__ import annotations

import json
import logging
import os
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from video_r1.data.records import (
    RecordError,
    load_records,
    read_records,
    resolve_media_path,
    validate_record,
)


def make_record(problem_id: int | str = 1, **overrides: Any) -> dict[str, Any]:
    """A valid Video-R1-260k style record (multiple choice video), with ``overrides`` applied."""
    record: dict[str, Any] = {
        "problem_id": problem_id,
        "problem": "What happens after the man opens the door?",
        "data_type": "video",
        "problem_type": "multiple choice",
        "options": ["A. He leaves", "B. He sits", "C. He waves", "D. He runs"],
        "solution": "<answer>B</answer>",
        "path": f"./LLaVA-Video-178K/30_60_s_youtube_v0_1/videos/{problem_id}.mp4",
        "data_source": "LLaVA-Video-178K/30_60_s_youtube_v0_1",
    }
    record.update(overrides)
    return record


def image_record(problem_id: int | str, **overrides: Any) -> dict[str, Any]:
    base = make_record(
        problem_id,
        data_type="image",
        problem_type="numerical",
        options=[],
        solution="<answer>3.5</answer>",
        path=f"./Math/Multimath-300k/{problem_id}.png",
        data_source="Math",
    )
    base.update(overrides)
    return base


def write_array(path: Path, records: list[Any]) -> list[int]:
    """Write a pretty-printed JSON array (like the released files); return each record's start line."""
    chunks = [json.dumps(record, indent=4) for record in records]
    starts, line = [], 2  # line 1 holds "["
    for chunk in chunks:
        starts.append(line)
        line += chunk.count("\n") + 1
    path.write_text("[\n" + ",\n".join(chunks) + "\n]\n", encoding="utf-8")
    return starts


def write_jsonl(path: Path, records: list[Any]) -> list[int]:
    """Write JSON Lines with a blank line after the first record, so line != index + 1 afterwards."""
    lines = [json.dumps(record) for record in records]
    if len(lines) > 1:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [1] + [index + 2 for index in range(1, len(records))]


WRITERS = {"array": (write_array, "train.json"), "jsonl": (write_jsonl, "train.jsonl")}


@pytest.fixture(params=sorted(WRITERS))
def write(request, tmp_path):
    """Write records in one format; returns (file path, start lines)."""
    writer, name = WRITERS[request.param]

    def _write(records: list[Any], filename: str = name) -> tuple[Path, list[int]]:
        path = tmp_path / filename
        return path, writer(path, records)

    return _write


# --------------------------------------------------------------------------------------------------------
# Malformed records: the message names problem_id, field, file and the start line of the record
# --------------------------------------------------------------------------------------------------------


def _without(field: str) -> dict[str, Any]:
    record = make_record(303)
    del record[field]
    return record


BAD_RECORDS = {
    "unknown problem_type": (make_record(303, problem_type="essay"), "problem_type", "essay"),
    "unknown data_type": (make_record(303, data_type="audio"), "data_type", "audio"),
    "missing problem": (_without("problem"), "problem", "missing"),
    "missing solution": (_without("solution"), "solution", "missing"),
    "missing path": (_without("path"), "path", "missing"),
    "wrong type data_source": (make_record(303, data_source=["STAR"]), "data_source", "wrong type"),
    "wrong type problem": (make_record(303, problem=["not", "a", "string"]), "problem", "wrong type"),
    "wrong type solution": (make_record(303, solution=7), "solution", "wrong type"),
    "wrong type options": (make_record(303, options="A. yes"), "options", "wrong type"),
    "wrong type option item": (make_record(303, options=["A. yes", 2]), "options", "wrong type"),
    "multiple choice without options": (make_record(303, options=[]), "options", "non-empty options"),
    "multiple choice with null options": (make_record(303, options=None), "options", "non-empty options"),
    "solution without answer tags": (make_record(303, solution="B"), "solution", "<answer>"),
    "solution with tags reversed": (make_record(303, solution="</answer>B<answer>"), "solution", "<answer>"),
    "solution with an empty answer": (
        make_record(303, solution="<answer></answer>"),
        "solution",
        "empty answer",
    ),
    "solution with a blank answer": (
        make_record(303, solution="<answer>  </answer>"),
        "solution",
        "empty answer",
    ),
    "empty path": (make_record(303, path=""), "path", "empty"),
    "process of wrong type": (make_record(303, process=["<think>x</think>"]), "process", "wrong type"),
}


@pytest.mark.parametrize("kind", sorted(BAD_RECORDS))
def test_bad_record_error_names_id_field_file_and_line(kind, write):
    bad, field, fragment = BAD_RECORDS[kind]
    path, starts = write([make_record(1), image_record(2), bad, make_record(4)])
    with pytest.raises(RecordError) as caught:
        load_records(path)
    error = caught.value
    message = str(error)
    assert error.problem_id == 303 and "303" in message
    assert error.field == field and repr(field) in message
    assert error.file == str(path) and str(path) in message
    assert error.line == starts[2] and f"{path}:{starts[2]}:" in message
    assert fragment in message
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("present", [False, True], ids=["missing", "empty"])
def test_process_required(present, write):
    bad = make_record(303, process="  \n") if present else make_record(303)
    good = [make_record(n, process="<think>ok</think>") for n in (1, 2, 4)]
    path, starts = write([good[0], good[1], bad, good[2]])
    load_records(path)  # not required: loads
    with pytest.raises(RecordError) as caught:
        load_records(path, require_process=True)
    error = caught.value
    assert (error.problem_id, error.field, error.line) == (303, "process", starts[2])
    assert f"{path}:{starts[2]}:" in str(error) and "problem_id=303" in str(error)


def test_missing_and_wrong_type_problem_id(write):
    no_id = make_record(1)
    del no_id["problem_id"]
    path, starts = write([make_record(5), no_id])
    with pytest.raises(RecordError, match=r"problem_id=<missing>: field 'problem_id': missing") as caught:
        load_records(path)
    assert (caught.value.problem_id, caught.value.line) == (None, starts[1])

    for bad_id in (1.5, True, None, [1]):
        path, starts = write([make_record(5), make_record(6), make_record(bad_id)])
        with pytest.raises(RecordError, match="field 'problem_id': wrong type") as caught:
            load_records(path)
        assert caught.value.line == starts[2] and str(path) in str(caught.value)


def test_record_that_is_not_an_object(write):
    path, starts = write([make_record(1), ["not", "an", "object"]])
    with pytest.raises(RecordError, match="must be a JSON object") as caught:
        load_records(path)
    assert caught.value.line == starts[1] and caught.value.field is None


def test_invalid_json_array_names_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    good = json.dumps(make_record(1), indent=4)
    good_lines = good.count("\n") + 1  # the good record occupies lines 2 .. 1 + good_lines
    path.write_text(
        "[\n" + good + ',\n{\n    "problem_id": 2,\n    "problem": "x"\n    "data_type": "video"\n}\n]\n'
    )
    with pytest.raises(RecordError, match="invalid JSON") as caught:
        read_records(path)
    # "{" is on line 2 + good_lines; the missing comma is noticed on the "data_type" line, 3 lines later.
    expected = 2 + good_lines + 3
    assert caught.value.file == str(path)
    assert caught.value.line == expected
    assert f"{path}:{expected}:" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[\n{"problem_id": 1},\n]\n', 3),  # trailing comma
        ('[\n{"problem_id": 1}\n{"problem_id": 2}\n]\n', 3),  # missing comma between records
        ('[\n{"problem_id": 1}\n', 3),  # missing closing bracket
        ('[\n{"problem_id": 1}\n]\n]\n', 4),  # extra data
        ("\n\nnull\n", 3),  # neither array nor objects
    ],
)
def test_invalid_json_array_variants(tmp_path, text, line):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(RecordError, match="invalid JSON") as caught:
        read_records(path)
    assert caught.value.line == line and str(path) in str(caught.value)


def test_invalid_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(make_record(1)) + "\n\n" + '{"problem_id": 2, "problem": }\n')
    with pytest.raises(RecordError, match="invalid JSON") as caught:
        read_records(path)
    assert (caught.value.file, caught.value.line) == (str(path), 3)
    assert f"{path}:3:" in str(caught.value)


def test_pretty_printed_single_object_gets_a_hint(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(make_record(1), indent=2))
    with pytest.raises(RecordError, match="JSON Lines") as caught:
        read_records(path)
    assert caught.value.line == 1


def test_missing_file_and_zero_records(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_records(missing)
    for name, text in (("empty.json", ""), ("blank.jsonl", "\n  \n"), ("none.json", "[\n]\n")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(RecordError, match="no records") as caught:
            load_records(path)
        assert str(path) in str(caught.value)


def test_record_error_pickles_with_attributes():
    error = RecordError("boom", file="/d/f.json", line=12, problem_id=7, field="solution")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.line, copy.problem_id, copy.field, str(copy)) == (
        "/d/f.json",
        12,
        7,
        "solution",
        str(error),
    )


# --------------------------------------------------------------------------------------------------------
# read_records / validate_record on their own
# --------------------------------------------------------------------------------------------------------


def test_read_records_reports_start_lines(write):
    records = [make_record(1), image_record(2), make_record(3, options=["A. a\nb", "B. c"])]
    path, starts = write(records)
    assert read_records(path) == list(zip(starts, records))


def test_format_detected_by_content_not_extension(tmp_path):
    records = [make_record(1), image_record(2)]
    array_as_jsonl = tmp_path / "array.jsonl"
    write_array(array_as_jsonl, records)
    jsonl_as_json = tmp_path / "lines.json"
    write_jsonl(jsonl_as_json, records)
    assert [r for _, r in read_records(array_as_jsonl)] == records
    assert [r for _, r in read_records(jsonl_as_json)] == records


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([make_record(1)]).encode())
    assert read_records(path) == [(1, make_record(1))]


def test_validate_record_normalises_options_without_mutating():
    raw = image_record(9)
    del raw["options"]
    out = validate_record(raw, file="f.json", line=3)
    assert out["options"] == [] and "options" not in raw
    assert validate_record(image_record(9, options=None), file="f.json", line=3)["options"] == []
    assert validate_record(make_record("abc"), file="f.json", line=3)["problem_id"] == "abc"
    with pytest.raises(RecordError) as caught:
        validate_record(make_record(9, solution="B"), file="f.json", line=3)
    assert str(caught.value).startswith("f.json:3: record problem_id=9: field 'solution': ")


def test_validate_record_require_process():
    cot = make_record(4, process="<think>hmm</think>")
    assert validate_record(cot, file="x", line=1, require_process=True)["process"] == "<think>hmm</think>"
    with pytest.raises(RecordError, match="field 'process'"):
        validate_record(make_record(4), file="x", line=1, require_process=True)
    with pytest.raises(RecordError, match="field 'process'"):
        validate_record(make_record(4, process=None), file="x", line=1, require_process=True)


# --------------------------------------------------------------------------------------------------------
# Media paths
# --------------------------------------------------------------------------------------------------------


def test_resolve_media_path_rules(tmp_path):
    root = str(tmp_path / "Video-R1-data")
    assert resolve_media_path("./LLaVA/a.mp4", root) == os.path.join(root, "LLaVA", "a.mp4")
    assert resolve_media_path("LLaVA/a.mp4", root) == os.path.join(root, "LLaVA", "a.mp4")
    assert resolve_media_path("./x/../y/./b.png", root) == os.path.join(root, "y", "b.png")
    absolute = str(tmp_path / "elsewhere" / "c.mp4")
    assert resolve_media_path(absolute, root) == absolute
    assert resolve_media_path(absolute, "relative/root") == absolute
    with pytest.raises(ValueError, match="absolute"):
        resolve_media_path("./a.mp4", "relative/root")


def test_media_paths_do_not_depend_on_working_directory(tmp_path, monkeypatch):
    data_dir = tmp_path / "Video-R1-data"
    data_dir.mkdir()
    path = data_dir / "Video-R1-260k.json"
    write_array(path, [make_record(1), image_record(2)])
    expected = [
        str(data_dir / "LLaVA-Video-178K" / "30_60_s_youtube_v0_1" / "videos" / "1.mp4"),
        str(data_dir / "Math" / "Multimath-300k" / "2.png"),
    ]
    first = load_records(path)
    assert first["media_path"] == expected
    assert first["path"] == [make_record(1)["path"], image_record(2)["path"]]  # original strings kept

    elsewhere = tmp_path / "some" / "other" / "cwd"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert load_records(path)["media_path"] == expected
    assert resolve_media_path("./Math/a.png", str(data_dir)) == str(data_dir / "Math" / "a.png")


def test_explicit_data_root_overrides_default(tmp_path, monkeypatch):
    path = tmp_path / "meta" / "train.jsonl"
    path.parent.mkdir()
    write_jsonl(path, [image_record(2), image_record(3, path="/abs/media/3.png")])
    media = tmp_path / "media"
    dataset = load_records(path, data_root=media)  # the absolute path elsewhere needs no flag
    assert dataset["media_path"] == [str(media / "Math" / "Multimath-300k" / "2.png"), "/abs/media/3.png"]
    # A relative data_root is read relative to the cwd at call time, then stored absolute.
    monkeypatch.chdir(tmp_path)
    assert load_records(path, data_root="media")["media_path"] == dataset["media_path"]


def _shared_storage(tmp_path: Path) -> tuple[Path, Path]:
    """A records folder ``data/`` (``data/videos/`` in it) and media on "shared storage" beside it."""
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    shared = tmp_path / "mnt" / "shared"
    shared.mkdir(parents=True)
    (shared / "x.mp4").write_bytes(b"x")
    return root, shared


@pytest.mark.parametrize("layout", ["absolute path elsewhere", "symlinked folder", "symlinked file"])
def test_media_on_shared_storage_is_accepted_by_default(layout, tmp_path):
    root, shared = _shared_storage(tmp_path)
    if layout == "absolute path elsewhere":
        media, expected = str(shared / "x.mp4"), shared / "x.mp4"
    elif layout == "symlinked folder":  # data/videos/linked -> /mnt/shared
        (root / "videos" / "linked").symlink_to(shared)
        media, expected = "./videos/linked/x.mp4", root / "videos" / "linked" / "x.mp4"
    else:  # data/videos/x.mp4 -> /mnt/shared/x.mp4
        (root / "videos" / "x.mp4").symlink_to(shared / "x.mp4")
        media, expected = "./videos/x.mp4", root / "videos" / "x.mp4"
    path = root / "train.jsonl"
    write_jsonl(path, [make_record(1), make_record(2, path=media)])
    dataset = load_records(path)
    assert dataset["media_path"][1] == str(
        expected
    )  # kept as given: the link is followed when the file opens
    assert Path(dataset["media_path"][1]).read_bytes() == b"x"


def test_parent_traversal_is_refused_unless_allowed(tmp_path):
    root, shared = _shared_storage(tmp_path)
    path = root / "train.jsonl"
    climbing = "./videos/../../mnt/shared/x.mp4"
    write_jsonl(path, [make_record(1), make_record(2, path=climbing)])
    with pytest.raises(RecordError) as caught:
        load_records(path)
    message = str(caught.value)
    assert caught.value.problem_id == 2 and caught.value.field == "path" and caught.value.line == 3
    assert message.startswith(
        f"{path}:3: record problem_id=2: field 'path': media path {climbing!r} climbs out"
    )
    assert "--allow_parent_traversal true" in message and "\n" not in message
    assert load_records(path, allow_parent_traversal=True)["media_path"][1] == str(shared / "x.mp4")
    # '..' steps that stay under the data root, and an explicit data_root, follow the same rule
    write_jsonl(path, [make_record(3, path="./videos/../videos/y.mp4")])
    assert load_records(path)["media_path"] == [str(root / "videos" / "y.mp4")]
    write_jsonl(path, [make_record(4, path="../x.mp4")])
    with pytest.raises(RecordError, match="climbs out of the data root"):
        load_records(path, data_root=shared)
    assert load_records(path, data_root=shared, allow_parent_traversal=True)["media_path"] == [
        str(tmp_path / "mnt" / "x.mp4")
    ]


def test_dangling_media_link_is_bad_media_under_the_policy(tmp_path):
    from video_r1.data.media import BadMediaPolicy, MediaError, load_media_for_record

    root, shared = _shared_storage(tmp_path)
    (root / "videos" / "linked").symlink_to(tmp_path / "unmounted")  # target does not exist
    path = root / "train.jsonl"
    write_jsonl(path, [make_record(7, path="./videos/linked/x.mp4")])
    record = load_records(path)[0]  # a link is not followed at load time
    with pytest.raises(MediaError) as caught:
        load_media_for_record(record, "tiny")
    assert caught.value.kind == "missing" and caught.value.problem_id == 7
    assert str(caught.value) == (
        f"problem_id=7: bad media {root / 'videos' / 'linked' / 'x.mp4'} (missing): file not found: "
        f"{root / 'videos' / 'linked'} is a dangling symlink to {tmp_path / 'unmounted'}"
    )
    policy = BadMediaPolicy("skip", output_dir=tmp_path / "run")
    assert load_media_for_record(record, "tiny", policy) is None
    assert policy.skipped_media == 1 and policy.count_logged() == 1
    logged = json.loads((tmp_path / "run" / "skipped_media.jsonl").read_text())
    assert (
        logged["problem_id"] == 7 and logged["kind"] == "missing" and "dangling symlink" in logged["reason"]
    )
    # a dangling link to a file is named the same way
    (root / "videos" / "gone.mp4").symlink_to(shared / "gone.mp4")
    write_jsonl(path, [make_record(8, path="./videos/gone.mp4")])
    with pytest.raises(MediaError, match=r"gone.mp4 is a dangling symlink to .*mnt/shared/gone.mp4"):
        load_media_for_record(load_records(path)[0], "tiny")


# --------------------------------------------------------------------------------------------------------
# Dataset contents
# --------------------------------------------------------------------------------------------------------


def test_cot_round_trip_with_process(write):
    records = [
        make_record(1, process="<think>Let me think. The door opens, then he sits.</think>"),
        image_record(2, process="<think>7 / 2 = 3.5</think>"),
    ]
    path, _ = write(records)
    dataset = load_records(path, require_process=True)
    assert dataset.column_names == [
        "problem_id",
        "problem",
        "data_type",
        "problem_type",
        "options",
        "solution",
        "path",
        "data_source",
        "process",
        "media_path",
    ]
    for row, record in zip(dataset, records):
        assert {key: row[key] for key in record} == record
    assert dataset.features["problem_id"].dtype == "int64"


def test_data_source_is_optional(write, caplog):
    """The original's training and eval never read data_source: records without it (or with null) load,
    the column stays (null there), and only a source filter or weight asks for it, naming the record."""
    no_source = make_record(2)
    del no_source["data_source"]
    records = [make_record(1), no_source, image_record(3, data_source=None)]
    path, starts = write(records)
    dataset = load_records(path)
    assert dataset["data_source"] == ["LLaVA-Video-178K/30_60_s_youtube_v0_1", None, None]
    assert dataset.features["data_source"].dtype == "string"
    assert validate_record(no_source, file="f.json", line=1) == no_source
    with caplog.at_level(logging.INFO, logger="video_r1.data.records"):
        assert len(load_records(path, data_types=["image"])) == 1  # a type filter does not need it
    assert "video (no data_source): 1 -> 0" in caplog.text
    for kwargs in ({"data_sources": ["LLaVA-Video-178K"]}, {"source_weights": {"Math": 2}}):
        with pytest.raises(RecordError) as caught:
            load_records(path, **kwargs)
        error = caught.value
        assert (error.problem_id, error.field, error.line) == (2, "data_source", starts[1])
        assert str(path) in str(error) and next(iter(kwargs)) in str(error)
    # After a type filter only the surviving records need a source: the image has none -> error on 3.
    with pytest.raises(RecordError) as caught:
        load_records(path, data_types=["image"], data_sources=["Math"])
    assert caught.value.problem_id == 3
    # A file where no record has the field still gives a typed (all-null) column.
    path, _ = write([no_source, dict(no_source, problem_id=5)])
    assert load_records(path)["data_source"] == [None, None]


def test_extra_fields_kept(write):
    records = [
        make_record(1, task_type="object_counting", meta={"fps": 2.0, "tags": ["a"]}),
        image_record(2, task_type="route_plan", meta={"fps": 1.0, "tags": []}),
        image_record(3),
    ]
    path, _ = write(records)
    dataset = load_records(path)
    assert dataset["task_type"] == ["object_counting", "route_plan", None]
    assert dataset[0]["meta"] == {"fps": 2.0, "tags": ["a"]}
    assert dataset[2]["options"] == []
    assert dataset.column_names[-1] == "media_path"


def test_extra_field_with_mixed_types_names_the_record(write):
    path, starts = write([make_record(1, level="easy"), make_record(2), make_record(3, level=3)])
    with pytest.raises(RecordError, match="extra field holds number") as caught:
        load_records(path)
    assert (caught.value.problem_id, caught.value.field, caught.value.line) == (3, "level", starts[2])


def test_all_empty_options_still_typed_as_string_lists(write):
    path, _ = write([image_record(1), image_record(2)])
    dataset = load_records(path)
    assert str(dataset.features["options"]) == "List(Value('string'))"


def test_problem_id_types(write):
    path, _ = write([make_record("a1"), make_record("a2")])
    dataset = load_records(path)
    assert dataset["problem_id"] == ["a1", "a2"]
    path, _ = write([make_record(7), make_record("a2")])
    mixed = load_records(path)
    assert mixed["problem_id"] == ["7", "a2"]
    assert mixed.features["problem_id"].dtype == "string"


# --------------------------------------------------------------------------------------------------------
# Filters and mixing
# --------------------------------------------------------------------------------------------------------


def mixed_records() -> list[dict[str, Any]]:
    """20 LLaVA videos over two sub-sources, 4 STAR videos, 2 'STARS' videos, 10 Math + 6 OCR images."""
    records: list[dict[str, Any]] = []
    for n in range(20):
        source = "LLaVA-Video-178K/30_60_s_youtube_v0_1" if n % 2 else "LLaVA-Video-178K/0_30_s_academic_v0_1"
        records.append(make_record(len(records), data_source=source))
    for _ in range(4):
        records.append(make_record(len(records), data_source="STAR"))
    for _ in range(2):
        records.append(make_record(len(records), data_source="STARS"))
    for _ in range(10):
        records.append(image_record(len(records)))
    for _ in range(6):
        records.append(image_record(len(records), data_source="OCR"))
    assert [record["problem_id"] for record in records] == list(range(42))
    return records


@pytest.fixture
def mixed_file(tmp_path) -> Path:
    path = tmp_path / "mixed.json"
    write_array(path, mixed_records())
    return path


def test_data_types_filter(mixed_file, caplog):
    with caplog.at_level(logging.INFO, logger="video_r1.data.records"):
        videos = load_records(mixed_file, data_types=["video"])
    assert len(videos) == 26 and set(videos["data_type"]) == {"video"}
    assert "data_types=['video']: 42 -> 26 records" in caplog.text
    assert "image Math: 10 -> 0" in caplog.text and "video STAR: 4 -> 4" in caplog.text
    assert len(load_records(mixed_file, data_types="image")) == 16  # a bare string is one name
    with pytest.raises(ValueError, match="audio"):
        load_records(mixed_file, data_types=["audio"])


def test_data_sources_filter_matches_whole_components(mixed_file, caplog):
    llava = load_records(mixed_file, data_sources=["LLaVA-Video-178K"])
    assert len(llava) == 20
    star = load_records(mixed_file, data_sources=["STAR"])
    assert star["data_source"] == ["STAR"] * 4  # "STARS" is a different source
    exact = load_records(mixed_file, data_sources=["LLaVA-Video-178K/30_60_s_youtube_v0_1", "OCR"])
    assert Counter(exact["data_source"]) == {"LLaVA-Video-178K/30_60_s_youtube_v0_1": 10, "OCR": 6}
    with caplog.at_level(logging.WARNING, logger="video_r1.data.records"):
        only_math = load_records(mixed_file, data_sources=["Math", "LLaVA"])
    assert len(only_math) == 10
    assert "'LLaVA' matches no record" in caplog.text
    with pytest.raises(ValueError, match="no record left"):
        load_records(mixed_file, data_types=["image"], data_sources=["STAR"])


def test_source_weights_exact_counts(mixed_file, caplog):
    with caplog.at_level(logging.INFO, logger="video_r1.data.records"):
        dataset = load_records(
            mixed_file,
            source_weights={"LLaVA-Video-178K": 0.5, "STAR": 2.0, "STARS": 0, "OCR": 1.5, "Math": 1},
        )
    counts = Counter(dataset["data_source"])
    assert (
        counts["LLaVA-Video-178K/30_60_s_youtube_v0_1"] + counts["LLaVA-Video-178K/0_30_s_academic_v0_1"]
        == 10
    )
    assert counts["STAR"] == 8 and counts["STARS"] == 0
    assert counts["OCR"] == 9 and counts["Math"] == 10
    ids = Counter(dataset["problem_id"])
    star_ids = range(20, 24)
    assert all(ids[i] == 2 for i in star_ids)  # every STAR record exactly twice
    ocr_ids = range(36, 42)
    assert sorted(ids[i] for i in ocr_ids) == [1, 1, 1, 2, 2, 2]  # all once, a seeded half again
    assert "'LLaVA-Video-178K' x0.5: 20 -> 10 records" in caplog.text
    assert "video STAR: 4 -> 8" in caplog.text and "image OCR: 6 -> 9" in caplog.text


def test_source_weights_fractional_counts_round_half_up(mixed_file):
    dataset = load_records(mixed_file, source_weights={"OCR": 0.25, "STAR": 0.3, "Math": 1.05, "STARS": 1.75})
    counts = Counter(dataset["data_source"])
    # OCR 6 * 0.25 = 1.5 -> 2; STAR 4 * 0.3 = 1.2 -> 1; Math 10 * 1.05 = 10.5 -> 11; STARS 2 * 1.75 = 3.5 -> 4
    assert (counts["OCR"], counts["STAR"], counts["Math"], counts["STARS"]) == (2, 1, 11, 4)


def test_source_weights_most_specific_key_wins(mixed_file):
    dataset = load_records(
        mixed_file,
        data_sources=["LLaVA-Video-178K"],
        source_weights={"LLaVA-Video-178K": 0, "LLaVA-Video-178K/30_60_s_youtube_v0_1": 1},
    )
    assert dataset["data_source"] == ["LLaVA-Video-178K/30_60_s_youtube_v0_1"] * 10


def test_source_weights_deterministic_per_seed(mixed_file):
    def subset(seed: int) -> list[int]:
        return load_records(
            mixed_file, data_sources=["LLaVA-Video-178K"], source_weights={"LLaVA-Video-178K": 0.5}, seed=seed
        )["problem_id"]

    first = subset(0)
    assert len(first) == 10 and first == sorted(first)  # file order kept
    assert subset(0) == first
    assert subset(1) != first and len(subset(1)) == 10


def test_source_weights_sampling_of_one_source_ignores_other_keys(mixed_file):
    alone = load_records(mixed_file, source_weights={"OCR": 0.5}, seed=3)
    together = load_records(mixed_file, source_weights={"OCR": 0.5, "Math": 0.3}, seed=3)
    pick = [pid for pid, src in zip(alone["problem_id"], alone["data_source"]) if src == "OCR"]
    assert pick == [pid for pid, src in zip(together["problem_id"], together["data_source"]) if src == "OCR"]
    assert len(pick) == 3


@pytest.mark.parametrize("weights", [{"OCR": -1}, {"OCR": float("nan")}, {"OCR": "1"}, {"": 1.0}])
def test_source_weights_rejects_bad_values(mixed_file, weights):
    with pytest.raises(ValueError, match="source_weights"):
        load_records(mixed_file, source_weights=weights)


def test_filter_arguments_checked_before_reading(tmp_path):
    missing = tmp_path / "not-there.json"  # a bad argument is reported even before the missing file
    with pytest.raises(ValueError, match="data_types"):
        load_records(missing, data_types=["audio"])
    with pytest.raises(ValueError, match="source_weights"):
        load_records(missing, source_weights={"OCR": -0.5})
    with pytest.raises(ValueError, match="data_sources"):
        load_records(missing, data_sources=[""])


def test_every_record_validated_even_if_filtered_out(tmp_path):
    path = tmp_path / "train.json"
    starts = write_array(path, [make_record(1), image_record(2, problem_type="essay")])
    with pytest.raises(RecordError) as caught:
        load_records(path, data_types=["video"])
    assert (caught.value.problem_id, caught.value.line) == (2, starts[1])


def test_a_records_list_wrapped_in_an_object_is_named_as_such(tmp_path):
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"version": 1, "data": [make_record(1), make_record(2)]}, indent=2))
    with pytest.raises(RecordError, match=r"one JSON object whose key 'data' holds 2 records.*JSON array"):
        load_records(wrapped)
    one_line = tmp_path / "one.jsonl"
    one_line.write_text(json.dumps(make_record(5)) + "\n")  # a single JSON Lines record stays valid
    assert len(load_records(one_line)) == 1
