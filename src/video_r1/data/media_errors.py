"""Unusable media: one error type and the cheap checks that tell its kinds apart before any decoder runs.

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

The decoders (:mod:`video_r1.data.vision`) raise it; the bad-media policy (:mod:`video_r1.data.media`) acts
on it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from video_r1.errors import UserError

MEDIA_ERROR_KINDS = ("missing", "empty", "unreadable", "truncated", "no_frames", "too_short")


class MediaError(UserError):
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
        raise MediaError(_missing_reason(p), p, kind="missing")
    if not p.is_file():
        raise MediaError("not a regular file", p, kind="unreadable")
    if p.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)", p, kind="empty")
    if not os.access(p, os.R_OK):
        raise MediaError("permission denied", p, kind="unreadable")
    return p


def _missing_reason(path: Path) -> str:
    """Why a file is missing: names the dangling symlink when the file or one of its folders is one.

    A symlinked media folder (``videos -> /mnt/shared/videos``) whose target is gone or not mounted makes
    every file below it missing; saying which link dangles points at the mount, not at the records.
    """
    for link in (path, *path.parents):
        if link.is_symlink() and not link.exists():
            return f"file not found: {link} is a dangling symlink to {os.readlink(link)}"
    return "file not found"


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
