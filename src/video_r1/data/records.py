"""Load Video-R1-260k / Video-R1-COT-165k records into a validated ``datasets.Dataset``.

The original hands ``Dataset.from_json`` the raw file and finds bad records only when a training step
touches them; a record whose media cannot be read is then silently replaced by a hard-coded sample while
its question and answer stay (docs/original-behaviour.md §1.2). Here every record is checked when the
file is loaded, and the first bad one raises :class:`RecordError` naming the record's ``problem_id``, the
field, the file and the line where the record starts, so the error can be fixed in an editor directly.

The record schema and file reading are :mod:`video_r1.data.record_schema`.

Any other field is kept unchanged (evaluation files carry e.g. a task type), provided Arrow can give the
column a single type; a column mixing, say, strings and numbers raises :class:`RecordError` at the first
record whose value disagrees with the earlier ones.

Media paths: the dataset gains a ``media_path`` column with the absolute media file, resolved against an
explicit ``data_root`` (default: the folder holding the JSON file, which matches the original's
``Video-R1-data/`` layout where every ``path`` starts with ``./``). The process's working directory is
never consulted after :func:`load_records` returns, unlike the original's ``os.getcwd() + "/Video-R1-data"``.
Absolute paths and symlinks (a media folder on shared storage linked in) are accepted, as in the original,
Hugging Face datasets and lmms-eval; a relative path that climbs out of the data root through ``..`` (what a
downloaded records file could use to reach other files) is a :class:`RecordError` unless
``allow_parent_traversal`` is set.

problem_id type: the Dataset column has one type. All-int ids stay ``int64``; all-str ids stay strings; a
file mixing both has every id converted to ``str`` (``7`` -> ``"7"``) and a warning is logged.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import datasets
import pyarrow as pa
from datasets.table import InMemoryTable

from video_r1.data.record_schema import (  # noqa: F401  (RecordError, read_records, validate_record: public here)
    CORE_COLUMNS,
    OPTIONAL_STR_FIELDS,
    RecordError,
    read_records,
    validate_record,
)
from video_r1.errors import UsageError
from video_r1.prompts import DATA_TYPES

__all__ = ["RecordError", "load_records", "read_records", "resolve_media_path", "validate_record"]

logger = logging.getLogger(__name__)


def resolve_media_path(
    path: str | os.PathLike[str], data_root: str | os.PathLike[str], *, allow_parent_traversal: bool = True
) -> str:
    """Absolute, normalised location of a record's media file.

    Absolute ``path`` values are only normalised: media on shared storage (``/data/videos/...``) is always
    accepted. Relative ones (``"./x"`` as in the released files, or ``"x"``) are joined to ``data_root``.
    ``data_root`` must itself be absolute: resolving against the working directory is exactly what made the
    original depend on being launched from ``src/r1-v``, so a relative root is refused rather than silently
    completed with ``os.getcwd()``.

    Symlinks are not resolved (``videos -> /mnt/shared/videos`` under the data root is fine; a dangling link
    is reported as missing media when the file is loaded). With ``allow_parent_traversal=False`` a relative
    path whose ``..`` steps climb out of ``data_root`` (``../../etc/x``, the danger of a downloaded records
    file) raises :class:`ValueError`; ``..`` steps that stay inside (``a/../b``) are fine.
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
    resolved = os.path.normpath(os.path.join(root, path))
    if not allow_parent_traversal:
        relative = os.path.normpath(path)
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise ValueError(
                f"media path {path!r} climbs out of the data root {os.path.normpath(root)} through '..' (to "
                f"{resolved}); use an absolute path, or accept it with --allow_parent_traversal true"
            )
    return resolved


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
            raise UsageError(f"{argument}: expected non-empty strings, got {name!r}")
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
            raise UsageError(f"source_weights: keys must be non-empty strings, got {key!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise UsageError(f"source_weights[{key!r}]: expected a finite number, got {weight!r}")
        if weight < 0:
            raise UsageError(f"source_weights[{key!r}]: weight must be >= 0, got {weight!r}")
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
    records: Sequence[dict[str, Any]],
    lines: Sequence[int],
    file: str,
    data_root: str,
    *,
    allow_parent_traversal: bool,
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

    media_paths = []
    for record, line in zip(records, lines, strict=True):
        try:
            media_paths.append(
                resolve_media_path(record["path"], data_root, allow_parent_traversal=allow_parent_traversal)
            )
        except ValueError as err:
            raise RecordError(
                str(err), file=file, line=line, problem_id=record["problem_id"], field="path"
            ) from None
    arrays["media_path"] = pa.array(media_paths, type=pa.string())
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
    allow_parent_traversal: bool = False,
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
        allow_parent_traversal: accept relative media paths whose ``..`` steps climb out of ``data_root``;
            by default such a record is a :class:`RecordError`. Absolute paths and symlinks (a symlinked
            media folder on shared storage) are accepted either way.

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
            raise UsageError(f"data_types: unknown {unknown}; expected a subset of {list(DATA_TYPES)}")
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
        raise UsageError(
            f"{file}: no record left after filtering {total} records (data_types={data_types!r}, "
            f"data_sources={data_sources!r}, source_weights={source_weights!r})"
        )
    lines = [line_of[id(record)] for record in records]
    return _build_dataset(records, lines, file, root, allow_parent_traversal=allow_parent_traversal)
