"""Bad-media policy: one error type for unusable media, and an explicit "error" or "skip" choice.

The original trainer wrapped media loading in a bare ``except`` and silently swapped in a hard-coded
image or video while keeping the sample's question and solution, so rewards were computed against the
wrong visual (docs/original-behaviour.md §1.2). Here a file that cannot be used raises
:class:`MediaError`, which names the record (``problem_id``) and the file (``path``); with
``on_bad_media="skip"`` the sample is dropped instead - the loader returns ``None``, a counter is
incremented and one JSON line is appended to ``<output_dir>/skipped_media.jsonl``. Another sample's
media is never substituted.

The kinds of bad media and :class:`MediaError` live in :mod:`video_r1.data.media_errors` (re-exported
here), below the decoders that raise it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from video_r1.data import vision
from video_r1.data.media_errors import (  # noqa: F401  (re-exported: the public names of bad media)
    MEDIA_ERROR_KINDS,
    MediaError,
    check_media_file,
    mp4_truncation_reason,
)
from video_r1.data.vision import VisionPreset

if TYPE_CHECKING:
    import torch
    from PIL import Image

logger = logging.getLogger(__name__)

OnBadMedia = Literal["error", "skip"]
ON_BAD_MEDIA_CHOICES: tuple[str, ...] = ("error", "skip")
SKIP_LOG_NAME = "skipped_media.jsonl"


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
