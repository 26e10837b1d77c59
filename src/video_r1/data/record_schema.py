"""Reading and validating Video-R1 record files (JSON array or JSON Lines), with file:line in every error.

Record schema (docs/original-behaviour.md §3):

=================  ==========================================================================
``problem_id``     int in the released files; str is accepted too (see "problem_id type" in
                   :mod:`video_r1.data.records`)
``problem``        str, the question
``data_type``      one of :data:`video_r1.prompts.DATA_TYPES`
``problem_type``   one of :data:`video_r1.prompts.PROBLEM_TYPES`
``options``        list of str; required and non-empty for "multiple choice", else may be
                   absent or null and is normalised to ``[]``
``solution``       str containing ``<answer>...</answer>``
``path``           non-empty str, relative to the data root (``"./LLaVA-Video-178K/.../x.mp4"``)
``data_source``    optional str, e.g. ``"LLaVA-Video-178K/30_60_s_youtube_v0_1"``; the original's
                   training and evaluation never read it, so it may be absent (or null). It is
                   needed only when a caller filters or weights by source (``data_sources``,
                   ``source_weights``): then a record without it is an error naming the record
``process``        ``"<think>...</think>"`` in the CoT file; required (non-empty) with
                   ``require_process=True``, otherwise optional
=================  ==========================================================================

File formats are told apart by content, not by extension: a file whose first non-blank character is
``[`` is a JSON array, one starting with ``{`` is JSON Lines (one object per line, blank lines allowed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from video_r1.errors import MissingFileError, UserError
from video_r1.prompts import DATA_TYPES, PROBLEM_TYPES

__all__ = ["CORE_COLUMNS", "RecordError", "read_records", "validate_record"]

#: Fields every record must carry (``options``, ``data_source`` and ``process`` are handled separately).
REQUIRED_FIELDS = ("problem_id", "problem", "data_type", "problem_type", "solution", "path")
#: Optional string fields: absent or null is fine, any other non-str value is an error.
OPTIONAL_STR_FIELDS = ("data_source",)
#: Column order of the resulting Dataset; extra fields follow in first-seen order, then ``media_path``.
CORE_COLUMNS = (
    "problem_id",
    "problem",
    "data_type",
    "problem_type",
    "options",
    "solution",
    "path",
    "data_source",
)

# JSON whitespace is exactly these four characters (RFC 8259); raw_decode does not skip it by itself.
_JSON_WS = re.compile(r"[ \t\n\r]*")
_MISSING = "<missing>"


class RecordError(UserError, ValueError):
    """A record (or the file holding it) is malformed.

    The message reads ``"<file>:<line>: record problem_id=<id>: field '<field>': <what is wrong>"`` so it can
    be pasted into an editor's "go to" box. The pieces are also attributes: ``problem_id`` (None when the
    record has no usable id, or for file-level errors such as invalid JSON), ``field`` (None for file-level
    errors), ``file`` (absolute path) and ``line`` (1-based line where the record starts; for invalid JSON,
    the line of the syntax error; None when no line applies, e.g. an empty file).
    """

    def __init__(
        self,
        detail: str,
        *,
        file: str,
        line: int | None,
        problem_id: int | str | None = None,
        field: str | None = None,
    ) -> None:
        self.detail = detail
        self.file = file
        self.line = line
        self.problem_id = problem_id
        self.field = field
        location = file if line is None else f"{file}:{line}"
        parts = [location]
        if field is not None or problem_id is not None:
            parts.append(f"record problem_id={_MISSING if problem_id is None else repr(problem_id)}")
        if field is not None:
            parts.append(f"field {field!r}")
        parts.append(detail)
        super().__init__(": ".join(parts))

    def __reduce__(self):
        # Default exception pickling re-calls __init__ with self.args only, which lacks the keyword-only
        # attributes; errors raised in DataLoader workers or subprocesses must survive the trip.
        return (
            _rebuild_record_error,
            (self.detail, self.file, self.line, self.problem_id, self.field),
        )


def _rebuild_record_error(detail, file, line, problem_id, field) -> RecordError:
    return RecordError(detail, file=file, line=line, problem_id=problem_id, field=field)


# --------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------


def read_records(path: str | os.PathLike[str]) -> list[tuple[int, Any]]:
    """Read a JSON-array or JSON-Lines file into ``(line, raw_record)`` pairs, without validating them.

    ``line`` is the 1-based line on which the record's opening ``{`` stands, for both formats. The array
    is walked object by object with :meth:`json.JSONDecoder.raw_decode` (C-accelerated) while newlines are
    counted incrementally between objects, so locating every record costs one extra pass over the text
    (about a second for the 150 MB Video-R1-260k file) instead of a re-parse.

    Raises :class:`FileNotFoundError` for a missing file and :class:`RecordError` for invalid JSON (with the
    line of the syntax error) or a file holding no records.
    """
    file = os.path.abspath(os.fspath(path))
    if not os.path.isfile(file):
        raise MissingFileError(f"{file}: record file does not exist (or is not a regular file)")
    # utf-8-sig drops a byte-order mark that some editors prepend; it would otherwise hide the "[" or "{".
    with open(file, encoding="utf-8-sig", newline="") as handle:
        text = handle.read()
    start = _JSON_WS.match(text).end()
    if start == len(text):
        raise RecordError("file holds no records (it is empty)", file=file, line=None)
    first = text[start]
    if first == "[":
        records = _read_json_array(text, start, file)
    elif first == "{":
        records = _wrapped_records_hint(text, file) or _read_json_lines(text, file)
    else:
        raise RecordError(
            f"invalid JSON: expected a JSON array ('[') or JSON Lines objects ('{{'), found {first!r}",
            file=file,
            line=text.count("\n", 0, start) + 1,
        )
    if not records:
        raise RecordError("file holds no records (empty JSON array)", file=file, line=None)
    return records


def _read_json_array(text: str, start: int, file: str) -> list[tuple[int, Any]]:
    """Walk ``[obj, obj, ...]`` starting at the ``[`` at ``start``, recording each element's start line."""
    decoder = json.JSONDecoder()
    skip_ws = _JSON_WS.match
    size = len(text)
    records: list[tuple[int, Any]] = []
    line = text.count("\n", 0, start) + 1
    counted_to = start  # newlines before this offset are already in ``line``

    def error_at(offset: int, detail: str) -> RecordError:
        return RecordError(f"invalid JSON: {detail}", file=file, line=text.count("\n", 0, offset) + 1)

    index = skip_ws(text, start + 1).end()
    if index < size and text[index] == "]":
        index = skip_ws(text, index + 1).end()
        if index != size:
            raise error_at(index, "extra data after the top-level array")
        return records
    while True:
        line += text.count("\n", counted_to, index)
        counted_to = index
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            # exc.lineno is computed over the whole text, so it is already the file line.
            raise RecordError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno) from None
        records.append((line, value))
        index = skip_ws(text, end).end()
        if index >= size:
            raise error_at(size, "unexpected end of file inside the top-level array (missing ']')")
        separator = text[index]
        if separator == ",":
            index = skip_ws(text, index + 1).end()
        elif separator == "]":
            index = skip_ws(text, index + 1).end()
            if index != size:
                raise error_at(index, "extra data after the top-level array")
            return records
        else:
            raise error_at(index, f"expected ',' or ']' after a record, found {separator!r}")


def _wrapped_records_hint(text: str, file: str) -> None:
    """Refuse, in the user's terms, a file holding ONE JSON object that wraps the records in a list field
    (``{"data": [...]}``); such a file would otherwise fail as "problem_id missing" or "invalid JSON"."""
    try:
        value = json.loads(text)
    except ValueError:
        return None  # JSON Lines (several objects) or broken JSON: the JSON Lines reader reports it
    if not isinstance(value, dict) or "problem_id" in value:
        return None
    lists = [k for k, v in value.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    if lists:
        key = lists[0]
        raise RecordError(
            f"the file is one JSON object whose key {key!r} holds {len(value[key])} records; a records file is a "
            f"JSON array of records or JSON Lines (one record per line): save the list under {key!r} itself",
            file=file,
            line=1,
        )
    return None


def _read_json_lines(text: str, file: str) -> list[tuple[int, Any]]:
    """One JSON value per line; blank lines are skipped. Splits on ``\\n`` only, so line numbers agree
    with editors even when a string holds U+2028 (which ``str.splitlines`` would treat as a break)."""
    decode = json.loads
    records: list[tuple[int, Any]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            records.append((number, decode(raw)))
        except json.JSONDecodeError as exc:
            hint = ""
            if raw.strip() == "{":
                hint = (
                    " (the file starts with '{' so it is read as JSON Lines, one object per line; "
                    "a pretty-printed file must hold a JSON array)"
                )
            raise RecordError(f"invalid JSON: {exc.msg}{hint}", file=file, line=number) from None
    return records


# --------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def validate_record(
    record: Any,
    *,
    file: str | os.PathLike[str],
    line: int | None,
    require_process: bool = False,
) -> dict[str, Any]:
    """Check one raw record and return a normalised copy (the input is not modified).

    Normalisation: ``options`` absent or null becomes ``[]``. Everything else, extra fields included, is
    returned as given. ``file`` and ``line`` only feed the error message. Raises :class:`RecordError` on
    the first problem found; ``problem_id`` is checked first so every later message can name it.
    """
    file = os.fspath(file)

    def fail(field: str | None, detail: str, problem_id: Any = None) -> RecordError:
        return RecordError(detail, file=file, line=line, problem_id=problem_id, field=field)

    if not isinstance(record, Mapping):
        raise fail(None, f"record must be a JSON object, got {_type_name(record)}")

    # problem_id first: int or str (bool is an int subclass in Python but never a valid id).
    if "problem_id" not in record:
        raise fail("problem_id", "missing required field")
    problem_id = record["problem_id"]
    if isinstance(problem_id, bool) or not isinstance(problem_id, int | str):
        raise fail(
            "problem_id", f"wrong type: expected int or str, got {_type_name(problem_id)} {problem_id!r}"
        )

    def bad(field: str, detail: str) -> RecordError:
        return fail(field, detail, problem_id)

    for field in REQUIRED_FIELDS[1:]:
        if field not in record:
            raise bad(field, "missing required field")
        value = record[field]
        if not isinstance(value, str):
            raise bad(field, f"wrong type: expected str, got {_type_name(value)}")

    data_type = record["data_type"]
    if data_type not in DATA_TYPES:
        raise bad("data_type", f"unknown data_type {data_type!r}; expected one of {list(DATA_TYPES)}")
    problem_type = record["problem_type"]
    if problem_type not in PROBLEM_TYPES:
        raise bad(
            "problem_type", f"unknown problem_type {problem_type!r}; expected one of {list(PROBLEM_TYPES)}"
        )
    for field in OPTIONAL_STR_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, str):
            raise bad(field, f"wrong type: expected str (or absent), got {_type_name(value)}")
    if not record["path"]:
        raise bad("path", "empty media path")
    if not _has_answer_tags(record["solution"]):
        raise bad("solution", f"no <answer>...</answer> tags in {_shorten(record['solution'])!r}")
    if not _answer_text(record["solution"]):
        raise bad(
            "solution", f"empty answer in {_shorten(record['solution'])!r}: no completion could ever match it"
        )

    options = record.get("options")
    if options is None:
        options = []
    elif not isinstance(options, list | tuple):
        raise bad("options", f"wrong type: expected a list of str, got {_type_name(options)}")
    else:
        for position, option in enumerate(options):
            if not isinstance(option, str):
                raise bad("options", f"wrong type: option {position} is {_type_name(option)}, expected str")
        options = list(options)
    if problem_type == "multiple choice" and not options:
        raise bad("options", "a 'multiple choice' record needs a non-empty options list")

    process = record.get("process")
    if process is not None and not isinstance(process, str):
        raise bad("process", f"wrong type: expected str, got {_type_name(process)}")
    if require_process:
        if "process" not in record:
            raise bad("process", "missing required field (require_process=True, e.g. for SFT on COT-165k)")
        if process is None or not process.strip():
            raise bad("process", "empty reasoning (require_process=True, e.g. for SFT on COT-165k)")

    normalised = dict(record)
    normalised["options"] = options
    return normalised


def _has_answer_tags(text: str) -> bool:
    """``<answer>`` followed later by ``</answer>``, i.e. what the reward's ``<answer>\\s*(.*?)\\s*</answer>``
    (DOTALL) needs to extract anything; two ``str.find`` calls instead of a regex keep 260k checks cheap."""
    start = text.find("<answer>")
    return start >= 0 and text.find("</answer>", start + len("<answer>")) >= 0


def _answer_text(text: str) -> str:
    """The stripped text between the first ``<answer>`` and the next ``</answer>`` (the reward's extraction)."""
    start = text.find("<answer>") + len("<answer>")
    return text[start : text.find("</answer>", start)].strip()


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------------
# Media paths
# --------------------------------------------------------------------------------------------------------
