"""Append-only JSONL results that survive a crash or a kill, for evaluation and CoT annotation.

Long generation runs (benchmarks, annotating 260k records) write one JSON line per finished sample, flushed
and ``fsync``-ed, so a run that dies loses at most the line being written. On restart,
:meth:`ResultsFile.done_keys` tells the caller which samples to skip.

A kill can leave the last line cut short. That line belongs to a sample whose result never completed, so it
is dropped: the file is truncated back to the end of the last complete line (with a warning) and the sample
is generated again. A corrupt line anywhere *else* cannot come from a kill (lines are only ever appended),
so it is an error naming the file and line: silently dropping it could lose or duplicate a sample.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from video_r1.errors import UsageError, UserError

logger = logging.getLogger(__name__)

__all__ = [
    "ResultsFile",
    "ResultsFileError",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_path",
    "is_error_row",
]


class ResultsFileError(UserError, ValueError):
    """A results file that cannot be resumed (corrupt line in the middle, missing or duplicate key)."""


class ResultsFile:
    """JSON Lines results keyed by ``key_field``, written one line at a time.

    Args:
        path: the ``.jsonl`` file (created, with its folder, on the first :meth:`append`).
        key_field: the field of every line that identifies its sample (unique within the file).

    Usage::

        results = ResultsFile(out_dir / "raw.jsonl")
        done = results.done_keys()            # repairs a cut last line, validates the rest
        for item in work:
            if item.key not in done:
                results.append({"key": item.key, ...})
    """

    def __init__(self, path: str | os.PathLike[str], key_field: str = "key") -> None:
        self.path = Path(path)
        self.key_field = key_field
        self._checked = False  # the file was scanned (and a cut last line repaired) before appending

    def __repr__(self) -> str:
        return f"ResultsFile({str(self.path)!r}, key_field={self.key_field!r})"

    # ----------------------------------------------------------------------------------------------
    # Reading

    def _scan(self) -> list[dict[str, Any]]:
        """Parse every line; repair a cut last line; raise on a corrupt middle line."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        objects: list[dict[str, Any]] = []
        offset = 0  # byte offset of the current line
        line_number = 0
        good_end = 0  # byte offset just after the last complete, valid line
        size = len(data)
        while offset < size:
            newline = data.find(b"\n", offset)
            end = size if newline < 0 else newline + 1
            raw = data[offset:end]
            line_number += 1
            is_last = end >= size
            if raw.strip():
                problem: str | None = None
                obj: Any = None
                if newline < 0:
                    problem = "no terminating newline"
                else:
                    try:
                        obj = json.loads(raw.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError) as err:
                        problem = f"invalid JSON ({err})"
                    else:
                        if not isinstance(obj, dict):
                            problem = f"expected a JSON object, got {type(obj).__name__}"
                if problem is not None:
                    if is_last:
                        logger.warning(
                            "%s:%d: dropping an incomplete last line (%s; most likely the run was killed "
                            "while writing it); the file is truncated to %d bytes and the sample will be redone",
                            self.path,
                            line_number,
                            problem,
                            good_end,
                        )
                        with open(self.path, "r+b") as handle:
                            handle.truncate(good_end)
                            handle.flush()
                            os.fsync(handle.fileno())
                        break
                    raise ResultsFileError(
                        f"{self.path}:{line_number}: corrupt line in the middle of the results file ({problem}); "
                        "only the last line can be cut by a kill, so this file was edited or damaged - fix or "
                        "delete that line by hand"
                    )
                if self.key_field not in obj:
                    raise ResultsFileError(
                        f"{self.path}:{line_number}: line has no {self.key_field!r} field (keys: {sorted(obj)[:10]})"
                    )
                objects.append(obj)
            good_end = end
            offset = end
        self._checked = True
        return objects

    def records(self) -> list[dict[str, Any]]:
        """Every complete line, in file order (repairs a cut last line like :meth:`done_keys`)."""
        objects = self._scan()
        seen: dict[Any, int] = {}
        for index, obj in enumerate(objects):
            key = obj[self.key_field]
            if key in seen:
                raise ResultsFileError(
                    f"{self.path}: key {key!r} appears twice (entries {seen[key] + 1} and {index + 1})"
                )
            seen[key] = index
        return objects

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records())

    def done_keys(self) -> set[Any]:
        """Keys of the samples already written (see the module docstring for cut and corrupt lines)."""
        return {obj[self.key_field] for obj in self.records()}

    # ----------------------------------------------------------------------------------------------
    # Writing

    def append(self, obj: dict[str, Any]) -> None:
        """Write ``obj`` as one line, then flush and ``fsync`` so a later kill cannot lose it."""
        if self.key_field not in obj:
            raise KeyError(f"{self.path}: result has no {self.key_field!r} field: {sorted(obj)[:10]}")
        line = _json_line(obj)
        if "\n" in line:  # json.dumps escapes newlines inside strings; this guards custom defaults
            raise ValueError(f"{self.path}: serialised result spans several lines")
        if not self._checked:
            self._scan()  # never append after a cut line: that would corrupt the middle of the file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def drop_errors(self) -> int:
        """Rewrite the file without its error rows (:func:`is_error_row`), atomically; returns how many.

        Used by ``--retry_errors``: the dropped samples are generated again by the next run.
        """
        rows = self.records()
        kept = [row for row in rows if not is_error_row(row)]
        dropped = len(rows) - len(kept)
        if dropped:
            atomic_write_text(self.path, "".join(_json_line(row) + "\n" for row in kept))
            logger.info("%s: dropped %d error line(s) to retry them", self.path, dropped)
        return dropped


def check_output_path(path: str | os.PathLike[str] | None, flag: str = "--output_dir") -> None:
    """Refuse, before any work, an output path that cannot be created: a file stands where a folder must be."""
    if path is None:
        return
    target = Path(path).expanduser().absolute()
    for folder in (target, *target.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "is a file" if folder == target else f"lies under {folder}, which is a file"
                raise UsageError(f"{flag} {path} {where}: choose a folder path")
            return


def is_error_row(row: dict[str, Any]) -> bool:
    """A results row that records a failure (a non-empty ``error`` field)."""
    return row.get("error") not in (None, "")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, fsync-ed, then ``os.replace``:
    a crash leaves the old file or the new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    """:func:`atomic_write_text` of ``obj`` as JSON (UTF-8, lone surrogates escaped)."""
    atomic_write_text(path, _json_text(obj, indent) + "\n")


def _json_text(obj: Any, indent: int | None) -> str:
    """JSON with non-ASCII text kept readable; a string that UTF-8 cannot encode (a lone surrogate from a
    model's output, say) is written with \\u escapes instead, which read back to the same string."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=_json_default)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True, indent=indent, default=_json_default)
    return text


def _json_line(obj: Any) -> str:
    return _json_text(obj, None)


def _json_default(value: Any) -> Any:
    """numpy/torch scalars and paths as plain JSON values."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
