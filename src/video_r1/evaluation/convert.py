"""Benchmark videos shipped in another container than the records name (``video-r1 eval --convert_media``).

MVBench's ssv2 clips are distributed as ``.webm`` while Video-R1's ``eval_mvbench.json`` names ``.mp4``
(reference issue #70; the original's ``Evaluation/check_path_mp4.py`` re-encodes them with ffmpeg). Here:

- :func:`find_alternatives` lists same-named files with another video suffix next to a missing file
  (``--check`` reports them as kind ``other_container`` with the conversion command);
- :func:`convert_video` re-encodes one file with PyAV: the first video stream, every frame with its original
  timestamp, scaled to even width and height (H.264 needs them; at most one pixel is dropped per side),
  ``yuv420p``, H.264 (``libx264``; MPEG-4 part 2 if this PyAV build has no libx264). Audio is dropped: the
  evaluation reads frames only. The output is written to a hidden temporary file in the target folder, its
  frames are counted back, and only then is it moved into place with ``os.replace`` (atomic), so a crash or
  a kill never leaves a half-converted file under the name the records use;
- :func:`convert_missing_media` does this for every missing media file of the selected benchmarks that has
  an alternative.

Nothing is converted silently during an evaluation run: a missing file stays an error of its samples until
the user converts it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

__all__ = [
    "VIDEO_SUFFIXES",
    "ConversionReport",
    "MediaConversionError",
    "convert_missing_media",
    "convert_video",
    "find_alternatives",
    "temporary_path",
]

#: Video container suffixes looked for next to a missing file, in order of preference.
VIDEO_SUFFIXES: tuple[str, ...] = (
    ".mp4",
    ".webm",
    ".mkv",
    ".mov",
    ".m4v",
    ".avi",
    ".flv",
    ".wmv",
    ".mpg",
    ".mpeg",
    ".ogv",
    ".3gp",
    ".ts",
)
_TEMP_MARK = ".converting"


class MediaConversionError(RuntimeError):
    """A video could not be converted; names the source and the target file."""


def temporary_path(target: str | os.PathLike[str]) -> Path:
    """Where :func:`convert_video` writes before moving into place: ``.<name>.converting<suffix>`` beside it."""
    target = Path(target)
    return target.with_name(f".{target.stem}{_TEMP_MARK}{target.suffix}")


def find_alternatives(path: str | os.PathLike[str]) -> list[Path]:
    """Non-empty files next to ``path`` with the same stem and another video suffix (preferred order).

    The suffix comparison ignores case; ``path`` itself and this module's temporary files are never
    returned.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    found: list[tuple[int, str, Path]] = []
    for candidate in folder.iterdir():
        suffix = candidate.suffix.lower()
        if candidate.stem != path.stem or candidate.name == path.name or suffix not in VIDEO_SUFFIXES:
            continue
        try:
            if candidate.is_file() and candidate.stat().st_size > 0:
                found.append((VIDEO_SUFFIXES.index(suffix), candidate.name, candidate))
        except OSError:
            continue
    return [candidate for _, _, candidate in sorted(found)]


def _encoder() -> str:
    import av

    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises several types for an absent encoder
            continue
        return name
    raise MediaConversionError("this PyAV build has neither a libx264 nor an mpeg4 encoder")


def _encode(source: Path, target: Path, encoder: str) -> int:
    """Re-encode the first video stream of ``source`` into ``target``; returns the number of frames."""
    import av

    written = 0
    with av.open(str(source)) as src:
        if not src.streams.video:
            raise MediaConversionError(f"{source}: no video stream")
        stream = src.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        # The container follows the file suffix (the temporary name keeps the target's suffix).
        with av.open(str(target), "w") as dst:
            out = dst.add_stream(encoder, rate=rate)
            out.width = max(2, stream.codec_context.width // 2 * 2)
            out.height = max(2, stream.codec_context.height // 2 * 2)
            out.pix_fmt = "yuv420p"
            time_base = stream.time_base or Fraction(1, 1000)
            out.time_base = time_base
            first_pts = None
            last_pts = -1
            for frame in src.decode(stream):
                image = frame.reformat(width=out.width, height=out.height, format="yuv420p")
                pts = frame.pts
                if pts is None:  # no timestamp: place it one tick after the previous frame
                    pts = last_pts + 1 if first_pts is not None else 0
                if first_pts is None:
                    first_pts = pts
                pts = max(pts - first_pts, last_pts + 1)  # strictly increasing for the encoder
                image.pts, image.time_base = pts, time_base
                last_pts = pts
                for packet in out.encode(image):
                    dst.mux(packet)
                written += 1
            for packet in out.encode(None):
                dst.mux(packet)
    return written


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def convert_video(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> int:
    """Convert ``source`` into ``target`` (see the module docstring); returns the number of frames.

    Raises :class:`MediaConversionError` (naming both files) when the source cannot be decoded, has no
    frames, or the written file does not decode to the same number of frames; the target is then absent
    (or unchanged if it existed) and the temporary file removed.
    """
    source, target = Path(source), Path(target)
    temp = temporary_path(target)
    try:
        encoder = _encoder()
        target.parent.mkdir(parents=True, exist_ok=True)
        written = _encode(source, temp, encoder)
        if written == 0:
            raise MediaConversionError("the source decodes to no frame")
        decoded = _count_frames(temp)
        if decoded != written:
            raise MediaConversionError(f"wrote {written} frames but the result decodes to {decoded}")
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as err:
        temp.unlink(missing_ok=True)
        if isinstance(err, MediaConversionError):
            raise MediaConversionError(f"cannot convert {source} -> {target}: {err}") from None
        if isinstance(err, Exception):
            raise MediaConversionError(
                f"cannot convert {source} -> {target}: {type(err).__name__}: {err}"
            ) from err
        raise  # KeyboardInterrupt / SystemExit: temporary file removed, target untouched
    return written


@dataclass
class ConversionReport:
    """What :func:`convert_missing_media` did."""

    #: (source, target, frames) of every converted file.
    converted: list[tuple[str, str, int]] = field(default_factory=list)
    #: (source, target, error message) of every failed conversion.
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: Missing media files with no same-named file in another container.
    no_alternative: list[str] = field(default_factory=list)


def convert_missing_media(
    media_paths: Sequence[str],
    *,
    progress: Callable[[str], None] | None = None,
) -> ConversionReport:
    """Convert, for every missing path of ``media_paths`` (duplicates ignored), its first alternative."""
    report = ConversionReport()
    for media in dict.fromkeys(media_paths):
        target = Path(media)
        if target.exists():
            continue
        alternatives = find_alternatives(target)
        if not alternatives:
            report.no_alternative.append(media)
            continue
        source = alternatives[0]
        if progress is not None:
            progress(f"converting {source} -> {target}")
        try:
            frames = convert_video(source, target)
        except MediaConversionError as err:
            report.failed.append((str(source), media, str(err)))
            continue
        report.converted.append((str(source), media, frames))
    return report
