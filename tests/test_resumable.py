"""ResultsFile: incremental JSONL results, repair of a line cut by a kill, errors for real corruption."""

from __future__ import annotations

import json
import logging

import pytest

from video_r1.resumable import ResultsFile, ResultsFileError


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_append_and_read_back(tmp_path):
    results = ResultsFile(tmp_path / "sub" / "raw.jsonl")
    assert results.done_keys() == set()
    assert results.records() == []
    results.append({"key": "a", "output": "x\ny", "reward": 1.0})
    results.append({"key": "b", "output": "ünïcode", "reward": 0.0})
    assert results.done_keys() == {"a", "b"}
    assert [r["key"] for r in results.records()] == ["a", "b"]
    assert results.records()[0]["output"] == "x\ny"  # newlines inside values stay on one line
    assert len(_lines(results.path)) == 2
    # a fresh object over the same file sees the same content (what a restarted run does)
    assert ResultsFile(results.path).done_keys() == {"a", "b"}


def test_custom_key_field_and_missing_key(tmp_path):
    results = ResultsFile(tmp_path / "r.jsonl", key_field="id")
    results.append({"id": 3})
    assert results.done_keys() == {3}
    with pytest.raises(KeyError, match="'id'"):
        results.append({"key": 4})


def test_truncated_last_line_is_dropped_and_file_repaired(tmp_path, caplog):
    path = tmp_path / "raw.jsonl"
    good = [json.dumps({"key": "a", "v": 1}), json.dumps({"key": "b", "v": 2})]
    path.write_text(
        "\n".join(good) + "\n" + '{"key": "c", "v": 3, "output": "cut in the mid', encoding="utf-8"
    )
    results = ResultsFile(path)
    with caplog.at_level(logging.WARNING, logger="video_r1.resumable"):
        assert results.done_keys() == {"a", "b"}
    assert "incomplete last line" in caplog.text and str(path) in caplog.text
    assert _lines(path) == good  # truncated back to the last complete line
    results.append({"key": "c", "v": 3})
    assert [r["key"] for r in ResultsFile(path).records()] == ["a", "b", "c"]


def test_complete_json_without_newline_counts_as_cut(tmp_path):
    # the write was interrupted between the object and its newline: the sample is redone, never half-trusted
    path = tmp_path / "raw.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b"}', encoding="utf-8")
    assert ResultsFile(path).done_keys() == {"a"}
    assert path.read_text(encoding="utf-8") == '{"key": "a"}\n'


def test_append_repairs_a_cut_line_before_writing(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b", "out', encoding="utf-8")
    ResultsFile(path).append({"key": "c"})  # no done_keys() call first
    assert [json.loads(line)["key"] for line in _lines(path)] == ["a", "c"]


def test_corrupt_middle_line_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b", oops}\n{"key": "c"}\n', encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ResultsFileError, match=rf"{path}:2: corrupt line"):
        ResultsFile(path).done_keys()
    assert path.read_bytes() == before  # nothing is repaired or dropped silently


def test_non_object_line_and_duplicate_keys_are_errors(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text('{"key": "a"}\n[1, 2]\n{"key": "c"}\n', encoding="utf-8")
    with pytest.raises(ResultsFileError, match=":2: .*expected a JSON object"):
        ResultsFile(path).records()
    path.write_text('{"key": "a"}\n{"key": "a"}\n', encoding="utf-8")
    with pytest.raises(ResultsFileError, match="'a' appears twice"):
        ResultsFile(path).done_keys()
    path.write_text('{"key": "a"}\n{"other": 1}\n', encoding="utf-8")
    with pytest.raises(ResultsFileError, match=":2: line has no 'key' field"):
        ResultsFile(path).done_keys()


def test_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "raw.jsonl"
    path.write_text('{"key": "a"}\n\n{"key": "b"}\n', encoding="utf-8")
    assert ResultsFile(path).done_keys() == {"a", "b"}


def test_any_string_round_trips_including_a_lone_surrogate(tmp_path):
    """A model output may hold a lone surrogate; the results file must take it (and keep other text readable)."""
    results = ResultsFile(tmp_path / "out.jsonl")
    results.append({"key": "a", "output": "bad \ud800 end"})
    results.append({"key": "b", "output": "视频 ok"})
    assert [r["output"] for r in ResultsFile(tmp_path / "out.jsonl").records()] == [
        "bad \ud800 end",
        "视频 ok",
    ]
    text = (tmp_path / "out.jsonl").read_text(encoding="utf-8")
    assert "\\ud800" in text and "视频" in text  # escaped only where UTF-8 cannot encode it


def test_drop_errors_keeps_good_rows_atomically(tmp_path):
    results = ResultsFile(tmp_path / "out.jsonl")
    for key, error in (("a", None), ("b", "MediaError: x"), ("c", ""), ("d", "boom")):
        results.append({"key": key, "error": error})
    assert results.drop_errors() == 2
    assert [r["key"] for r in ResultsFile(tmp_path / "out.jsonl").records()] == ["a", "c"]
    assert not list(tmp_path.glob(".*.tmp"))
    assert results.drop_errors() == 0


def test_atomic_write_leaves_old_or_new_never_half(tmp_path, monkeypatch):
    import json
    import os

    from video_r1.resumable import atomic_write_json

    path = tmp_path / "sub" / "summary.json"
    atomic_write_json(path, {"v": 1})
    assert json.loads(path.read_text()) == {"v": 1}

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}  # the old file is untouched
    assert not list(path.parent.glob(".*.tmp"))  # and no temporary file is left behind
