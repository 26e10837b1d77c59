"""Bad-media policy: one error type for unusable media, and an explicit "error" or "skip" choice.

The original trainer wrapped media loading in a bare ``except`` and silently swapped in a hard-coded
image or video while keeping the sample's question and solution, so rewards were computed against the
wrong visual (behaviour notes, section 1 step 2). Here a file that cannot be used raises
:class:`MediaError`, which names the record (``problem_id``) and the file (``path``); with
``on_bad_media="skip"`` the sample is dropped instead - the loader returns ``None``, a counter is
incremented and one JSON line is appended to ``<output_dir>/skipped_media.jsonl``. Another sample's
media is never substituted.

What counts as bad (``MediaError.kind``):

- ``missing``: the path does not exist.
- ``empty``: a 0-byte file.
- ``unreadable``: no decoder can open it (random bytes, not a media file, no frame rate, ...).
- ``truncated``: the file ends before its container says it should. For MP4/MOV this is read from
  the box structure (a box that runs past the end of the file, or no ``moov`` index). A video is also
  truncated when fewer frames can be decoded than the container declares, even if some frames decode:
  sampling spreads indices over the declared length, so a short read would silently give a different
  clip than the one the record describes.
- ``no_frames``: the container has no video stream, or not a single frame decodes.
- ``too_short``: a readable video with too few frames to sample the two frames one temporal patch
  needs (qwen-vl-utils refuses it too).

This module does not import :mod:`video_r1.data.vision` at import time (vision imports
:class:`MediaError` from here); :func:`load_media_for_record` imports it when called.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from video_r1.data.vision import VisionPreset

logger = logging.getLogger(__name__)

MEDIA_ERROR_KINDS = ("missing", "empty", "unreadable", "truncated", "no_frames", "too_short")
OnBadMedia = Literal["error", "skip"]
ON_BAD_MEDIA_CHOICES: tuple[str, ...] = ("error", "skip")
SKIP_LOG_NAME = "skipped_media.jsonl"


class MediaError(Exception):
    """A media file that cannot be used for a sample.

    Attributes:
        reason: human-readable cause (for a video that no backend could read, every backend's error).
        path: the file that was tried (``str``; ``None`` only if the record had no path at all).
        problem_id: the record's id when known (set by :func:`load_media_for_record`), else ``None``.
        kind: one of :data:`MEDIA_ERROR_KINDS`, for counting and tests.
        backend_errors: ``{backend: error text}`` of every video backend that was tried.

    All fields are positional constructor arguments so the exception pickles (DataLoader workers send
    exceptions across processes).
    """

    def __init__(
        self,
        reason: str,
        path: str | os.PathLike[str] | None = None,
        problem_id: Any = None,
        kind: str = "unreadable",
        backend_errors: dict[str, str] | None = None,
    ) -> None:
        if kind not in MEDIA_ERROR_KINDS:
            raise ValueError(f"unknown MediaError kind {kind!r}; expected one of {MEDIA_ERROR_KINDS}")
        path = None if path is None else str(path)
        backend_errors = dict(backend_errors or {})
        super().__init__(reason, path, problem_id, kind, backend_errors)
        self.reason = reason
        self.path = path
        self.problem_id = problem_id
        self.kind = kind
        self.backend_errors = backend_errors

    def __str__(self) -> str:
        who = f"problem_id={self.problem_id}: " if self.problem_id is not None else ""
        return f"{who}bad media {self.path} ({self.kind}): {self.reason}"

    def with_problem_id(self, problem_id: Any) -> MediaError:
        """A copy naming the record, for errors raised below the record level (e.g. by ``load_video``)."""
        return MediaError(self.reason, self.path, problem_id, self.kind, self.backend_errors)

    def to_log_record(self) -> dict[str, Any]:
        """The JSON-serialisable line written to ``skipped_media.jsonl``."""
        return {"problem_id": self.problem_id, "path": self.path, "reason": self.reason, "kind": self.kind}


def check_media_file(path: str | os.PathLike[str]) -> Path:
    """Cheap checks before any decoder runs: the file exists, is a regular file, and is not empty.

    Decoders report these cases with unhelpful messages ("Invalid data found when processing input"),
    so they are told apart here. Returns the path as a :class:`~pathlib.Path`.
    """
    p = Path(os.fspath(path))
    if str(p).startswith("file://"):
        p = Path(str(p)[len("file://") :])
    if not p.exists():
        raise MediaError("file not found", p, kind="missing")
    if not p.is_file():
        raise MediaError("not a regular file", p, kind="unreadable")
    if p.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", p, kind="empty")
    if not os.access(p, os.R_OK):
        raise MediaError("permission denied", p, kind="unreadable")
    return p


def mp4_truncation_reason(path: str | os.PathLike[str]) -> str | None:
    """Explain why an MP4/MOV (ISO base media) file looks cut short, or ``None`` if it does not.

    Walks the top-level boxes (4-byte big-endian size + 4-byte type, size 1 = 64-bit size follows,
    size 0 = to end of file). A box that extends past the end of the file, or a complete walk that never
    met the ``moov`` index, means the file was cut. Files that do not start with an ``ftyp`` box are not
    judged (``None``). Used to classify files that no decoder could read: "truncated" is a more useful
    report than "unreadable" when a download or copy was interrupted.
    """
    p = Path(os.fspath(path))
    size = p.stat().st_size
    seen_moov = False
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8 or head[4:8] != b"ftyp":
            return None
        offset = 0
        while offset < size:
            f.seek(offset)
            header = f.read(16)
            if len(header) < 8:
                return f"incomplete MP4 box header at byte {offset} (file size {size})"
            box_size = int.from_bytes(header[:4], "big")
            box_type = header[4:8].decode("latin-1")
            if box_size == 1:
                if len(header) < 16:
                    return f"incomplete 64-bit MP4 box header at byte {offset} (file size {size})"
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                return None  # malformed rather than cut: leave it "unreadable"
            if offset + box_size > size:
                return (
                    f"MP4 box '{box_type}' at byte {offset} declares {box_size} bytes but the file ends "
                    f"{size - offset} bytes after it"
                )
            seen_moov = seen_moov or box_type == "moov"
            offset += box_size
    if not seen_moov:
        return "MP4 has no 'moov' index box (file likely cut before its end)"
    return None


@dataclass
class BadMediaPolicy:
    """What to do when a sample's media is unusable: ``"error"`` (raise) or ``"skip"`` (drop + record).

    In skip mode every dropped sample increments :attr:`skipped_media` (log it as a metric via
    :meth:`metrics`) and, when ``output_dir`` is set, appends ``{problem_id, path, reason, kind}`` as one
    JSON line to ``<output_dir>/skipped_media.jsonl``.

    The counter lives in the process that loaded the media. When loading happens in DataLoader worker
    processes, the workers' counters are not seen by the trainer: count the ``None`` results in the
    main process, or use :meth:`count_logged`, which reads the JSONL file all processes append to
    (one short line per write with ``O_APPEND``, so concurrent appends do not interleave).
    """

    on_bad_media: OnBadMedia = "error"
    output_dir: str | os.PathLike[str] | None = None
    skipped_media: int = field(default=0, init=False)

    log_name: ClassVar[str] = SKIP_LOG_NAME

    def __post_init__(self) -> None:
        if self.on_bad_media not in ON_BAD_MEDIA_CHOICES:
            raise ValueError(f"on_bad_media must be one of {ON_BAD_MEDIA_CHOICES}, got {self.on_bad_media!r}")

    @property
    def log_path(self) -> Path | None:
        """``<output_dir>/skipped_media.jsonl``, or ``None`` when no output directory was given."""
        return None if self.output_dir is None else Path(self.output_dir) / self.log_name

    def record_skip(self, error: MediaError) -> None:
        """Count one dropped sample and append its JSON line (skip mode only)."""
        if self.on_bad_media != "skip":
            raise RuntimeError("record_skip called with on_bad_media='error'")
        self.skipped_media += 1
        logger.warning("skipping sample: %s", error)
        log_path = self.log_path
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps(error.to_log_record(), ensure_ascii=False, default=str) + "\n"
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(line)

    def metrics(self) -> dict[str, int]:
        """Metrics for the training/eval logs: ``{"skipped_media": count}`` (this process only)."""
        return {"skipped_media": self.skipped_media}

    def count_logged(self) -> int:
        """Lines in ``skipped_media.jsonl`` (all processes); 0 if there is no log yet."""
        log_path = self.log_path
        if log_path is None or not log_path.is_file():
            return 0
        with open(log_path, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())


@dataclass(frozen=True)
class LoadedMedia:
    """Decoded media of one record: ``frames`` + ``video_metadata`` for videos, ``image`` for images."""

    problem_id: Any
    data_type: Literal["image", "video"]
    path: str
    image: Image.Image | None = None
    frames: torch.Tensor | None = None
    video_metadata: dict[str, Any] | None = None


def record_media_path(record: dict[str, Any]) -> str | None:
    """The file a record points at: ``media_path`` (resolved by the record loader), else an absolute ``path``.

    A relative ``path`` is never resolved here: that would make the result depend on the current working
    directory. Load records with :func:`video_r1.data.records.load_records`, which resolves ``path`` against
    an explicit ``data_root`` into ``media_path``.
    """
    value = record.get("media_path")
    if value is None:
        value = record.get("path")
        if value is not None and not os.path.isabs(os.fspath(value)):
            raise ValueError(
                f"problem_id={record.get('problem_id')}: relative path {os.fspath(value)!r} has no 'media_path'; "
                "load records with video_r1.data.records.load_records(path, data_root=...) to resolve it"
            )
    return None if value is None else os.fspath(value)


def load_media_for_record(
    record: dict[str, Any],
    preset: str | VisionPreset = "train",
    policy: BadMediaPolicy | OnBadMedia | None = None,
    *,
    video_kwargs: dict[str, Any] | None = None,
    image_kwargs: dict[str, Any] | None = None,
) -> LoadedMedia | None:
    """Decode a record's image or video, applying the bad-media policy.

    ``record`` needs ``problem_id``, ``data_type`` (``"image"`` | ``"video"``) and ``media_path``
    (falls back to ``path``). ``video_kwargs`` go to :func:`~video_r1.data.vision.load_video` (e.g.
    ``{"backend": "pyav", "max_frames": 32}``), ``image_kwargs`` to
    :func:`~video_r1.data.vision.load_image`, so one call works for mixed image/video datasets.
    ``policy`` may be the string ``"error"``/``"skip"``, but skips are then neither logged to a file nor
    counted anywhere you can read: pass one :class:`BadMediaPolicy` (with ``output_dir``) per run.

    Returns a :class:`LoadedMedia`, or ``None`` when the media is bad and the policy is ``"skip"``.
    With ``"error"`` (the default) a :class:`MediaError` naming ``problem_id`` and ``path`` is raised.
    A malformed record (unknown ``data_type``, no path) is a data bug, not bad media: it always raises
    ``ValueError``.
    """
    from video_r1.data import vision

    if policy is None or isinstance(policy, str):
        policy = BadMediaPolicy(on_bad_media=policy or "error")
    problem_id = record.get("problem_id")
    data_type = record.get("data_type")
    if data_type not in ("image", "video"):
        raise ValueError(f"problem_id={problem_id}: data_type must be 'image' or 'video', got {data_type!r}")
    path = record_media_path(record)
    if not path:
        raise ValueError(f"problem_id={problem_id}: record has neither 'media_path' nor 'path'")

    try:
        if data_type == "video":
            frames, metadata = vision.load_video(path, preset, **(video_kwargs or {}))
            return LoadedMedia(problem_id, "video", path, frames=frames, video_metadata=metadata)
        image = vision.load_image(path, preset, **(image_kwargs or {}))
        return LoadedMedia(problem_id, "image", path, image=image)
    except MediaError as err:
        named = err.with_problem_id(problem_id)
        if policy.on_bad_media == "error":
            raise named from err
        policy.record_skip(named)
        return None
