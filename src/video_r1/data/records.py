"""Load Video-R1-260k / Video-R1-COT-165k records into a validated ``datasets.Dataset``.

The original hands ``Dataset.from_json`` the raw file and finds bad records only when a training step
touches them; a record whose media cannot be read is then silently replaced by a hard-coded sample while
its question and answer stay (reference notes, sections 1 and 10). Here every record is checked when the
file is loaded, and the first bad one raises :class:`RecordError` naming the record's ``problem_id``, the
field, the file and the line where the record starts, so the error can be fixed in an editor directly.

Record schema (reference notes, section 3):

=================  ==========================================================================
``problem_id``     int in the released files; str is accepted too (see "problem_id type" below)
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

Any other field is kept unchanged (evaluation files carry e.g. a task type), provided Arrow can give the
column a single type; a column mixing, say, strings and numbers raises :class:`RecordError` at the first
record whose value disagrees with the earlier ones.

File formats are told apart by content, not by extension: a file whose first non-blank character is
``[`` is a JSON array, one starting with ``{`` is JSON Lines (one object per line, blank lines allowed).

Media paths: the dataset gains a ``media_path`` column with the absolute media file, resolved against an
explicit ``data_root`` (default: the folder holding the JSON file, which matches the original's
``Video-R1-data/`` layout where every ``path`` starts with ``./``). The process's working directory is
never consulted after :func:`load_records` returns, unlike the original's ``os.getcwd() + "/Video-R1-data"``.

problem_id type: the Dataset column has one type. All-int ids stay ``int64``; all-str ids stay strings; a
file mixing both has every id converted to ``str`` (``7`` -> ``"7"``) and a warning is logged.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import datasets
import pyarrow as pa
from datasets.table import InMemoryTable

from video_r1.prompts import DATA_TYPES, PROBLEM_TYPES

__all__ = ["RecordError", "load_records", "read_records", "resolve_media_path", "validate_record"]

logger = logging.getLogger(__name__)

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


class RecordError(ValueError):
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
        raise FileNotFoundError(f"{file}: record file does not exist (or is not a regular file)")
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
        records = _read_json_lines(text, file)
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


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------------
# Media paths
# --------------------------------------------------------------------------------------------------------


def resolve_media_path(path: str | os.PathLike[str], data_root: str | os.PathLike[str]) -> str:
    """Absolute, normalised location of a record's media file.

    Absolute ``path`` values are only normalised. Relative ones (``"./x"`` as in the released files, or
    ``"x"``) are joined to ``data_root``. ``data_root`` must itself be absolute: resolving against the
    working directory is exactly what made the original depend on being launched from ``src/r1-v``, so a
    relative root is refused rather than silently completed with ``os.getcwd()``.
    """
    path = os.fspath(path)
    root = os.fspath(data_root)
    if os.path.isabs(path):
        return os.path.normpath(path)
    if not os.path.isabs(root):
        raise ValueError(
            f"data_root must be an absolute path, got {root!r} (make it absolute first, e.g. with "
            "os.path.abspath, so the result does not depend on the working directory)"
        )
    return os.path.normpath(os.path.join(root, path))


# --------------------------------------------------------------------------------------------------------
# Filters and mixing
# --------------------------------------------------------------------------------------------------------


def _source_matches(data_source: str, selector: str) -> bool:
    """A selector matches its exact source name or any source below it in the ``/`` hierarchy.

    ``"LLaVA-Video-178K"`` matches ``"LLaVA-Video-178K/30_60_s_youtube_v0_1"``; matching is by whole path
    components, so ``"STAR"`` does not match ``"STARS"`` and ``"LLaVA"`` does not match ``"LLaVA-Video-178K"``.
    A trailing ``/`` on the selector is ignored.
    """
    selector = selector.rstrip("/")
    return data_source == selector or data_source.startswith(selector + "/")


def _as_names(value: str | Iterable[str], argument: str) -> list[str]:
    # A bare string is a single name; iterating it would silently select single characters.
    names = [value] if isinstance(value, str) else list(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{argument}: expected non-empty strings, got {name!r}")
    return names


#: How records without a ``data_source`` appear in the per-source log lines.
NO_SOURCE = "(no data_source)"


def _tally(records: Sequence[Mapping[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((record["data_type"], record.get("data_source") or NO_SOURCE) for record in records)


def _require_sources(
    records: Sequence[Mapping[str, Any]], line_of: Mapping[int, int], file: str, why: str
) -> None:
    """Source filters and weights need every record's ``data_source``: fail on the first record without it."""
    for record in records:
        if not record.get("data_source"):
            raise RecordError(
                f"missing or empty; {why} needs every record's data_source (the field is optional otherwise)",
                file=file,
                line=line_of.get(id(record)),
                problem_id=record["problem_id"],
                field="data_source",
            )


def _log_tally(stage: str, before: Counter[tuple[str, str]], after: Counter[tuple[str, str]]) -> None:
    """One summary line plus one line per (data_type, data_source), as ``before -> after`` counts."""
    logger.info("%s: %d -> %d records", stage, sum(before.values()), sum(after.values()))
    for key in sorted(set(before) | set(after)):
        logger.info("  %s %s: %d -> %d", key[0], key[1], before.get(key, 0), after.get(key, 0))


def _check_weights(source_weights: Mapping[str, float]) -> dict[str, float]:
    """Reject bad keys and weights up front, before minutes of loading are spent on a typo."""
    weights: dict[str, float] = {}
    for key, weight in source_weights.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"source_weights: keys must be non-empty strings, got {key!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"source_weights[{key!r}]: expected a finite number, got {weight!r}")
        if weight < 0:
            raise ValueError(f"source_weights[{key!r}]: weight must be >= 0, got {weight!r}")
        weights[key] = float(weight)
    return weights


def _apply_source_weights(
    records: list[dict[str, Any]], weights: Mapping[str, float], seed: int
) -> list[dict[str, Any]]:
    """Repeat or subsample records per source.

    Each record belongs to the most specific (longest) key of ``source_weights`` that matches its
    ``data_source`` (same matching rule as ``data_sources``); records matching no key keep weight 1. For a
    key with weight ``w`` over ``n`` records the result holds ``round_half_up(w * n)`` of them: every record
    ``floor(w)`` times, plus a seeded random sample (without replacement) of the remainder, drawn from a
    generator seeded with ``(seed, key)`` so that adding or reweighting one source never changes another
    source's subset. File order is kept and repeated copies sit next to each other (the trainer's sampler
    shuffles).
    """
    members: dict[str, list[int]] = {key: [] for key in weights}
    by_specificity = sorted(weights, key=lambda key: len(key.rstrip("/")), reverse=True)
    for index, record in enumerate(records):
        for key in by_specificity:
            if _source_matches(record["data_source"], key):
                members[key].append(index)
                break

    multiplicity = [1] * len(records)
    for key, indices in members.items():
        weight, count = weights[key], len(indices)
        if count == 0:
            logger.warning("source_weights: key %r matches no record (after the other filters)", key)
            continue
        whole = math.floor(weight)
        total = math.floor(weight * count + 0.5)
        extra = total - whole * count
        chosen = (
            set(random.Random(f"video_r1.records:{seed}:{key}").sample(indices, extra)) if extra else set()
        )
        for index in indices:
            multiplicity[index] = whole + (index in chosen)
        logger.info("source_weights: %r x%g: %d -> %d records", key, weight, count, total)

    return [record for record, times in zip(records, multiplicity) for _ in range(times)]


# --------------------------------------------------------------------------------------------------------
# Dataset building
# --------------------------------------------------------------------------------------------------------


def _value_kind(value: Any) -> str | None:
    """Coarse JSON kind used to find the record that breaks an extra column's type (None = null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _extra_column(
    name: str, records: Sequence[Mapping[str, Any]], lines: Sequence[int], file: str
) -> pa.Array:
    """Let Arrow infer an extra column's type; on failure, blame the first record that disagrees."""
    values = [record.get(name) for record in records]
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        first_kind: str | None = None
        for record, line, value in zip(records, lines, values):
            kind = _value_kind(value)
            if kind is None:
                continue
            if first_kind is None:
                first_kind = kind
            elif kind != first_kind:
                raise RecordError(
                    f"wrong type: extra field holds {kind} here but {first_kind} in earlier records; "
                    "a Dataset column needs one type",
                    file=file,
                    line=line,
                    problem_id=record["problem_id"],
                    field=name,
                ) from None
        raise RecordError(
            f"extra field {name!r} cannot be stored as one Arrow column: {exc}", file=file, line=None
        ) from None


def _build_dataset(
    records: Sequence[dict[str, Any]], lines: Sequence[int], file: str, data_root: str
) -> datasets.Dataset:
    """Columns typed explicitly for the schema fields (so e.g. all-empty ``options`` is still list<string>),
    inferred by Arrow for extra fields; ``media_path`` appended last."""
    id_kinds = {type(record["problem_id"]) for record in records}
    if id_kinds == {int}:
        ids: list[Any] = [record["problem_id"] for record in records]
        id_type = pa.int64()
    else:
        if len(id_kinds) > 1:
            logger.warning(
                "%s: problem_id mixes int and str values; all ids are converted to str in the Dataset", file
            )
        ids = [str(record["problem_id"]) for record in records]
        id_type = pa.string()

    arrays: dict[str, pa.Array] = {"problem_id": pa.array(ids, type=id_type)}
    for name in CORE_COLUMNS[1:]:
        column_type = pa.list_(pa.string()) if name == "options" else pa.string()
        # data_source is optional: the column is always there (null where a record has none), so the
        # Dataset's schema does not depend on which records happen to carry it.
        arrays[name] = pa.array([record.get(name) for record in records], type=column_type)
    if any("process" in record for record in records):
        arrays["process"] = pa.array([record.get("process") for record in records], type=pa.string())

    extras: dict[str, None] = {}  # ordered set, first-seen order
    for record in records:
        for name in record:
            if name not in arrays and name not in extras:
                extras[name] = None
    if "media_path" in extras:
        raise RecordError(
            "records already carry a 'media_path' field, which load_records computes itself",
            file=file,
            line=None,
            field="media_path",
        )
    for name in extras:
        arrays[name] = _extra_column(name, records, lines, file)

    arrays["media_path"] = pa.array(
        [resolve_media_path(record["path"], data_root) for record in records], type=pa.string()
    )
    table = pa.Table.from_arrays(list(arrays.values()), names=list(arrays))
    # Wrapping the Arrow table directly (features are derived from its schema) skips the per-value Python
    # encoding pass of Dataset.from_dict, which costs seconds on 260k records.
    return datasets.Dataset(InMemoryTable(table))


# --------------------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------------------


def load_records(
    path: str | os.PathLike[str],
    data_root: str | os.PathLike[str] | None = None,
    *,
    data_types: str | Iterable[str] | None = None,
    data_sources: str | Iterable[str] | None = None,
    source_weights: Mapping[str, float] | None = None,
    require_process: bool = False,
    seed: int = 0,
) -> datasets.Dataset:
    """Read, validate, filter and mix a Video-R1 record file into a ``datasets.Dataset``.

    Args:
        path: JSON array or JSON Lines file (format detected from the content).
        data_root: folder that record ``path`` values are relative to; default: the folder holding
            ``path``. A relative ``data_root`` (like a relative ``path``) is taken relative to the working
            directory at call time; the resulting ``media_path`` column is absolute either way.
        data_types: keep only these data types, e.g. ``["video"]`` for the paper's "without image data"
            ablation.
        data_sources: keep only records whose ``data_source`` equals one of these names or lies below one
            of them (``"LLaVA-Video-178K"`` keeps ``"LLaVA-Video-178K/30_60_s_youtube_v0_1"``; whole
            ``/``-separated components only). A selector that matches nothing is logged as a warning.
            With this (or ``source_weights``) every record that passed ``data_types`` must carry a
            ``data_source``; the first one without raises :class:`RecordError`.
        source_weights: per-source sampling weight (same matching; the most specific key wins): ``1`` keeps
            all, ``0`` drops all, ``0.5`` keeps a seeded random half, ``2`` repeats every record twice,
            ``1.5`` keeps all plus a seeded random half again. Sources without a key keep weight 1.
        require_process: demand a non-empty ``process`` (CoT) field, as SFT on COT-165k needs.
        seed: seed of the fractional-weight sampling; same seed, same subset.

    Every record is validated before any filter runs, so a bad record anywhere in the file fails the
    load. Raises :class:`FileNotFoundError` for a missing file, :class:`RecordError` for a bad record,
    invalid JSON or an empty file, and :class:`ValueError` for bad filter arguments or when the filters
    leave no record.
    """
    # Filter arguments are checked before the (multi-second) read so that a typo fails at once.
    wanted_types = None if data_types is None else _as_names(data_types, "data_types")
    if wanted_types is not None:
        unknown = [name for name in wanted_types if name not in DATA_TYPES]
        if unknown:
            raise ValueError(f"data_types: unknown {unknown}; expected a subset of {list(DATA_TYPES)}")
    selectors = None if data_sources is None else _as_names(data_sources, "data_sources")
    weights = None if source_weights is None else _check_weights(source_weights)

    records_with_lines = read_records(path)
    file = os.path.abspath(os.fspath(path))
    root = os.path.dirname(file) if data_root is None else os.path.abspath(os.fspath(data_root))

    records: list[dict[str, Any]] = []
    line_of: dict[int, int] = {}  # id(normalised record) -> start line, for errors raised after filtering
    for line, raw in records_with_lines:
        record = validate_record(raw, file=file, line=line, require_process=require_process)
        records.append(record)
        line_of[id(record)] = line
    del records_with_lines
    logger.info("%s: %d valid records", file, len(records))
    total = len(records)

    if wanted_types is not None:
        before = _tally(records)
        records = [record for record in records if record["data_type"] in wanted_types]
        _log_tally(f"data_types={wanted_types}", before, _tally(records))

    if selectors is not None or weights is not None:
        wanted = []
        if selectors is not None:
            wanted.append(f"data_sources={selectors}")
        if weights is not None:
            wanted.append(f"source_weights={weights}")
        _require_sources(records, line_of, file, " and ".join(wanted))

    if selectors is not None:
        before = _tally(records)
        records = [
            record
            for record in records
            if any(_source_matches(record["data_source"], selector) for selector in selectors)
        ]
        present = {source for _, source in before}
        for selector in selectors:
            if not any(_source_matches(source, selector) for source in present):
                logger.warning("data_sources: %r matches no record (after the other filters)", selector)
        _log_tally(f"data_sources={selectors}", before, _tally(records))

    if weights is not None:
        before = _tally(records)
        records = _apply_source_weights(records, weights, seed)
        _log_tally(f"source_weights={weights} seed={seed}", before, _tally(records))

    if not records:
        raise ValueError(
            f"{file}: no record left after filtering {total} records (data_types={data_types!r}, "
            f"data_sources={data_sources!r}, source_weights={source_weights!r})"
        )
    lines = [line_of[id(record)] for record in records]
    return _build_dataset(records, lines, file, root)
