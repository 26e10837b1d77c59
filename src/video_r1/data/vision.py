"""Vision presets and media loading that reproduce Video-R1's frame/pixel settings without editing a library.

Video-R1 set its frame count and resolution by editing constants inside a vendored copy of
qwen-vl-utils 0.0.10 (docs/original-behaviour.md §7): ``FPS_MAX_FRAMES=16``,
``VIDEO_MIN_PIXELS = VIDEO_MAX_PIXELS = 128*28*28`` for training, ``VIDEO_MAX_PIXELS=256*28*28`` and
16/32/64 frames for evaluation, and image ``MAX_PIXELS=256*28*28``. Those edits only took effect if the
vendored copy was installed editable, which tripped up users (issues #11, #106). Here the same numbers
live in a :class:`VisionPreset` and reach the pinned qwen-vl-utils 0.0.14 through its per-message
settings (``fps``, ``min_frames``, ``max_frames``, ``nframes``, ``min_pixels``, ``max_pixels``,
``total_pixels``) and its public ``smart_nframes`` / ``smart_resize`` helpers.

How the original's numbers are reproduced on 0.0.14 (read from both versions' source):

- Frame count: ``smart_nframes`` is unchanged between the versions. The original's edited
  ``FPS_MAX_FRAMES`` only acted as the default of the per-message ``max_frames``, so passing
  ``max_frames=16`` gives the same count (``floor_even(min(16, total))`` and ``min(16, total)`` floored
  to even are equal). Indices are ``linspace(0, total-1, n).round()`` and
  ``sample_fps = n / total * native_fps`` in both.
- Per-frame pixel cap: the original computed
  ``max(min(VIDEO_MAX_PIXELS, VIDEO_TOTAL_PIXELS / n * 2), int(VIDEO_MIN_PIXELS * 1.05))``.
  0.0.14 computes the same expression but with ``VIDEO_MAX_PIXELS`` frozen at 768*28*28 and then takes
  ``min(per-message max_pixels, cap)``. So :meth:`VisionPreset.frame_max_pixels` evaluates the
  original's expression with the preset's ``video_max_pixels`` and that value is passed as the
  per-message ``max_pixels``; for any ``video_max_pixels <= 768*28*28`` 0.0.14 then lands on exactly the
  original's cap. Training: min == max == 100,352 -> cap ``int(100,352 * 1.05) = 105,369``.
  Evaluation: cap 200,704. The total budget (``int(128000*28*28*0.9)`` = 90,316,800 px, not edited by
  Video-R1) only binds above ~900 frames.
- ``smart_resize`` is unchanged: round each side to a multiple of 28, then scale into the bounds. Its
  floor/ceil rounding can leave a frame slightly outside ``[min_pixels, cap]``: the 640x360 sample
  video lands at 224x420 = 94,080 px under the training preset, a 320x180 clip at 252x448 = 112,896 px.
  That is the original's arithmetic, kept as is.
- Images: per-message ``min_pixels``/``max_pixels`` into qwen-vl-utils' ``fetch_image`` (4*28*28 and
  256*28*28). One library difference: 0.0.14 composites RGBA images onto white, 0.0.10 dropped alpha
  (``convert("RGB")``), which turns transparent backgrounds black. The 0.0.14 behaviour is kept.

Video decoding is done here rather than through ``qwen_vl_utils.fetch_video`` because its backend
choice is ``lru_cache``d and prefers torchcodec/torchvision, both broken on this stack (torchvision 0.29
has no ``io.read_video``), and it has no PyAV backend. Both backends here (decord by default, PyAV
selectable) use ``smart_nframes`` for the count, the same index formula, ``smart_resize`` for the size
and the same bicubic antialiased ``torchvision`` resize as qwen-vl-utils, so they give identical indices
and sizes, and the decord path matches ``fetch_video`` pixel for pixel (tested).

Frames are returned as ``uint8`` ``(T, C, H, W)`` tensors. qwen-vl-utils resizes the same ``uint8``
tensor and then calls ``.float()``, so ``frames.float()`` equals its output exactly; ``uint8`` is 4x
smaller to keep, pickle across processes and permute for T-GRPO's shuffled copy, and the Qwen2.5-VL
processor rescales either dtype by 1/255.

Processor side (transformers 5.x): without ``video_metadata`` the Qwen2.5-VL processor assumes 24 fps,
so ``second_per_grid_ts`` becomes 2/24 instead of the real spacing and the temporal M-RoPE positions
collapse; see :func:`processor_video_kwargs`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image
from qwen_vl_utils import vision_process as qvu
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as tv_functional

from video_r1.data.media_errors import MediaError, check_media_file, mp4_truncation_reason

logger = logging.getLogger(__name__)

#: Spatial factor: vision patch 14 x spatial merge 2. Frames and images are resized to multiples of it.
IMAGE_FACTOR = 28
#: Frames per temporal patch; frame counts are kept even (qwen-vl-utils ``FRAME_FACTOR``).
FRAME_FACTOR = 2
#: qwen-vl-utils 0.0.10 ``VIDEO_TOTAL_PIXELS`` default (env ``VIDEO_MAX_PIXELS`` unset), not edited by Video-R1.
DEFAULT_VIDEO_TOTAL_PIXELS = int(128000 * 28 * 28 * 0.9)
#: The per-frame ceiling qwen-vl-utils 0.0.14 applies on top of the per-message ``max_pixels``.
QWEN_VL_UTILS_FRAME_MAX_PIXELS = qvu.VIDEO_MAX_TOKEN_NUM * IMAGE_FACTOR * IMAGE_FACTOR
VIDEO_BACKENDS = ("decord", "pyav")
TEMPORAL_ROPE_MODES = ("sampled_fps", "fixed_2fps")
VideoBackend = Literal["decord", "pyav"]
TemporalRope = Literal["sampled_fps", "fixed_2fps"]


@dataclass(frozen=True)
class VisionPreset:
    """Every frame-sampling and resizing setting, named after the qwen-vl-utils constant it replaces."""

    name: str
    #: Target sampling rate in frames per second (``FPS``).
    fps: float = 2.0
    #: Lower bound on the sampled frame count in fps mode (``FPS_MIN_FRAMES``; rounded up to even).
    min_frames: int = 4
    #: Upper bound on the sampled frame count in fps mode (Video-R1's edited ``FPS_MAX_FRAMES``).
    max_frames: int = 16
    #: Fixed frame count instead of fps sampling (qwen-vl-utils ``nframes``; rounded to even).
    nframes: int | None = None
    #: Per-frame minimum pixels (``VIDEO_MIN_PIXELS``); small videos are upscaled to it.
    video_min_pixels: int = 128 * 28 * 28
    #: Per-frame maximum pixels before the cap rule (Video-R1's edited ``VIDEO_MAX_PIXELS``).
    video_max_pixels: int = 128 * 28 * 28
    #: Whole-video pixel budget (``VIDEO_TOTAL_PIXELS``) shared by all frames in the cap rule.
    video_total_pixels: int = DEFAULT_VIDEO_TOTAL_PIXELS
    #: Image minimum pixels (``MIN_PIXELS``).
    image_min_pixels: int = 4 * 28 * 28
    #: Image maximum pixels (Video-R1's edited ``MAX_PIXELS``).
    image_max_pixels: int = 256 * 28 * 28
    #: Video decoder tried first; the other one is the fallback.
    video_backend: VideoBackend = "decord"
    #: Frame and image sides are resized to multiples of this: the model family's patch x merge
    #: (28 for Qwen2.5-VL, 32 for Qwen3-VL: ``ModelFamily.size_factor``), e.g.
    #: ``get_preset("train", size_factor=32)``.
    size_factor: int = IMAGE_FACTOR

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        if not 1 <= self.min_frames <= self.max_frames:
            raise ValueError(f"need 1 <= min_frames <= max_frames, got {self.min_frames}, {self.max_frames}")
        if self.max_frames < FRAME_FACTOR:
            raise ValueError(f"max_frames must be >= {FRAME_FACTOR}, got {self.max_frames}")
        if self.nframes is not None and self.nframes < FRAME_FACTOR:
            raise ValueError(f"nframes must be >= {FRAME_FACTOR}, got {self.nframes}")
        if not 0 < self.video_min_pixels <= self.video_max_pixels:
            raise ValueError(
                f"need 0 < video_min_pixels <= video_max_pixels, got {self.video_min_pixels}, "
                f"{self.video_max_pixels}"
            )
        if not 0 < self.image_min_pixels <= self.image_max_pixels:
            raise ValueError(
                f"need 0 < image_min_pixels <= image_max_pixels, got {self.image_min_pixels}, "
                f"{self.image_max_pixels}"
            )
        if self.video_total_pixels <= 0:
            raise ValueError(f"video_total_pixels must be > 0, got {self.video_total_pixels}")
        if self.size_factor <= 0 or self.size_factor % 2:
            raise ValueError(f"size_factor must be a positive even number, got {self.size_factor}")
        if self.video_backend not in VIDEO_BACKENDS:
            raise ValueError(f"video_backend must be one of {VIDEO_BACKENDS}, got {self.video_backend!r}")

    def frame_max_pixels(self, nframes: int) -> float:
        """Video-R1's per-frame pixel cap for a video sampled to ``nframes`` frames.

        ``max(min(VIDEO_MAX_PIXELS, VIDEO_TOTAL_PIXELS / n * 2), int(VIDEO_MIN_PIXELS * 1.05))``, kept
        unrounded as in the original (the middle term is a float when the total budget binds).
        """
        return max(
            min(self.video_max_pixels, self.video_total_pixels / nframes * FRAME_FACTOR),
            int(self.video_min_pixels * 1.05),
        )

    def sampling_item(self) -> dict[str, Any]:
        """The frame-count keys of a qwen-vl-utils video message (input of ``smart_nframes``)."""
        if self.nframes is not None:
            return {"nframes": self.nframes}
        return {"fps": self.fps, "min_frames": self.min_frames, "max_frames": self.max_frames}

    def video_item(self, video: str | os.PathLike[str], nframes: int | None = None) -> dict[str, Any]:
        """A qwen-vl-utils 0.0.14 video message item that reproduces this preset.

        Useful for code that calls ``qwen_vl_utils.process_vision_info`` directly. The cap depends on the
        sampled count; it is computed for ``nframes`` when given, else for the largest count the preset
        can produce (identical unless the total budget binds, i.e. above ~900 frames). A
        ``video_max_pixels`` above 768*28*28 cannot be expressed this way (0.0.14 clamps to it);
        :func:`load_video` has no such limit.
        """
        n = nframes if nframes is not None else (self.nframes or self.max_frames)
        return {
            "type": "video",
            "video": os.fspath(video),
            **self.sampling_item(),
            "min_pixels": self.video_min_pixels,
            "max_pixels": self.frame_max_pixels(n),
            "total_pixels": self.video_total_pixels,
        }

    def image_item(self, image: str | os.PathLike[str] | Image.Image) -> dict[str, Any]:
        """A qwen-vl-utils image message item with this preset's pixel bounds."""
        value = image if isinstance(image, Image.Image) else os.fspath(image)
        return {
            "type": "image",
            "image": value,
            "min_pixels": self.image_min_pixels,
            "max_pixels": self.image_max_pixels,
        }


PRESETS: dict[str, VisionPreset] = {
    # Training (run_grpo_video.sh / sft_video.py with the edited vision_process.py).
    "train": VisionPreset(
        name="train",
        max_frames=16,
        video_min_pixels=128 * 28 * 28,
        video_max_pixels=128 * 28 * 28,
        image_max_pixels=256 * 28 * 28,
    ),
    # Evaluation per the README/author (#11, #47): 256*28*28 per frame, 16/32/64 frames (32 default).
    "eval": VisionPreset(
        name="eval",
        max_frames=32,
        video_min_pixels=128 * 28 * 28,
        video_max_pixels=256 * 28 * 28,
        image_max_pixels=256 * 28 * 28,
    ),
    # Tests and the CPU demo: small synthetic clips keep their own size (a 56x56 frame stays 56x56:
    # it is already a multiple of 28 and 3,136 px lies in [3,136, 12,544]); up to 16 frames at 2 fps.
    "tiny": VisionPreset(
        name="tiny",
        max_frames=16,
        video_min_pixels=4 * 28 * 28,
        video_max_pixels=16 * 28 * 28,
        image_min_pixels=4 * 28 * 28,
        image_max_pixels=16 * 28 * 28,
    ),
}


def get_preset(name: str | VisionPreset = "train", **overrides: Any) -> VisionPreset:
    """A preset by name (or an existing preset), with field overrides, e.g. ``get_preset("eval", max_frames=64)``.

    ``None`` values in ``overrides`` are ignored, so optional CLI/config fields can be passed through.
    """
    if isinstance(name, VisionPreset):
        base = name
    else:
        try:
            base = PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown vision preset {name!r}; available: {sorted(PRESETS)}") from None
    overrides = {k: v for k, v in overrides.items() if v is not None}
    valid = {f.name for f in dataclasses.fields(VisionPreset)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise TypeError(f"unknown VisionPreset field(s) {unknown}; valid: {sorted(valid)}")
    return dataclasses.replace(base, **overrides) if overrides else base


# ----------------------------------------------------------------------------------------------------
# Sampling and sizing (shared by both backends)


class _ReadFailure(Exception):
    """A backend's failure, with the MediaError kind it implies."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def sample_frame_indices(preset: VisionPreset, total_frames: int, video_fps: float) -> list[int]:
    """Indices of the frames to keep: qwen-vl-utils' ``smart_nframes`` count spread by ``linspace``.

    Raises ``_ReadFailure("too_short")`` when the video has too few frames (qwen-vl-utils raises too).
    """
    try:
        n = qvu.smart_nframes(preset.sampling_item(), total_frames=total_frames, video_fps=video_fps)
    except ValueError as err:
        raise _ReadFailure("too_short", f"cannot sample {total_frames} frame(s): {err}") from err
    return torch.linspace(0, total_frames - 1, n).round().long().tolist()


def frame_size(preset: VisionPreset, height: int, width: int, nframes: int) -> tuple[int, int]:
    """Resized ``(height, width)`` of every frame: ``smart_resize`` within the preset's per-frame bounds."""
    return qvu.smart_resize(
        height,
        width,
        factor=preset.size_factor,
        min_pixels=preset.video_min_pixels,
        max_pixels=preset.frame_max_pixels(nframes),
    )


# ----------------------------------------------------------------------------------------------------
# Backends: each returns (uint8 frames (T, C, H, W) at source size, indices, total frames, native fps)


def _read_decord(path: Path, preset: VisionPreset) -> tuple[torch.Tensor, list[int], int, float]:
    """decord: random access by index. It indexes every packet at open, so cut files fail there."""
    try:
        import decord
    except ImportError as err:
        raise _ReadFailure("unreadable", f"decord is not installed ({err})") from err
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    except Exception as err:  # decord raises DECORDError/RuntimeError with C++ context
        raise _ReadFailure("unreadable", f"cannot open: {_short(err)}") from err
    try:
        total = len(reader)
        fps = float(reader.get_avg_fps() or 0.0)
        if total <= 0:
            raise _ReadFailure("no_frames", "the video stream has no frames")
        if fps <= 0:
            raise _ReadFailure("unreadable", "the video stream has no frame rate")
        indices = sample_frame_indices(preset, total, fps)
        try:
            array = reader.get_batch(indices).asnumpy()
        except Exception as err:
            raise _ReadFailure(
                "truncated", f"declared {total} frames, decoding failed: {_short(err)}"
            ) from err
    finally:
        del reader
    frames = torch.from_numpy(array).permute(0, 3, 1, 2).contiguous()
    return frames, indices, total, fps


def _read_pyav(path: Path, preset: VisionPreset) -> tuple[torch.Tensor, list[int], int, float]:
    """PyAV: decode sequentially, keep the sampled frames, and require every declared frame to decode.

    The frame count is the container's declaration (``nb_frames``, as decord uses), or the number of
    video packets when the container does not declare one (e.g. Matroska). The last sampled index is
    always the last frame, so the whole stream is decoded anyway and a short read is detected for free.
    """
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise _ReadFailure("no_frames", "no video stream")
            stream = container.streams.video[0]
            total = int(stream.frames or 0)
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if total <= 0:
                total = sum(1 for packet in container.demux(stream) if packet.size)
    except _ReadFailure:
        raise
    except Exception as err:
        raise _ReadFailure("unreadable", f"cannot open: {_short(err)}") from err
    if total <= 0:
        raise _ReadFailure("no_frames", "the video stream has no frames")
    if fps <= 0:
        raise _ReadFailure("unreadable", "the video stream has no frame rate")
    indices = sample_frame_indices(preset, total, fps)
    slot_of = {frame_index: slot for slot, frame_index in enumerate(indices)}
    kept: list[Any] = [None] * len(indices)
    decoded = 0
    failure: Exception | None = None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                slot = slot_of.get(decoded)
                if slot is not None:
                    kept[slot] = frame.to_ndarray(format="rgb24")
                decoded += 1
                if decoded >= total:
                    break
    except Exception as err:  # PyAV raises InvalidDataError etc. from avcodec_send_packet on cut data
        failure = err
    if decoded < total:
        kind = "no_frames" if decoded == 0 else "truncated"
        detail = f": {_short(failure)}" if failure is not None else " (stream ended early)"
        raise _ReadFailure(kind, f"decoded {decoded} of {total} declared frames{detail}")
    frames = torch.from_numpy(np.stack(kept)).permute(0, 3, 1, 2).contiguous()
    return frames, indices, total, fps


def _short(err: BaseException | None, limit: int = 300) -> str:
    text = f"{type(err).__name__}: {err}".strip() if err is not None else ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_READERS = {"decord": _read_decord, "pyav": _read_pyav}


def _combined_kind(kinds: list[str]) -> str:
    """The most specific kind any backend reported ("unreadable" only if nothing more precise)."""
    for kind in ("no_frames", "truncated", "too_short"):
        if kind in kinds:
            return kind
    return "unreadable"


# ----------------------------------------------------------------------------------------------------
# Public loaders


def load_video(
    path: str | os.PathLike[str],
    preset: str | VisionPreset = "train",
    *,
    max_frames: int | None = None,
    fps: float | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    backend: VideoBackend | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Decode, sample and resize a video like Video-R1's edited qwen-vl-utils.

    Args:
        path: video file (a ``file://`` prefix is accepted).
        preset: preset name or :class:`VisionPreset`; keyword overrides replace its fields
            (``min_pixels``/``max_pixels`` are the per-frame ``video_min_pixels``/``video_max_pixels``
            that enter the cap rule, as the edited constants did).
        backend: ``"decord"`` or ``"pyav"`` to try first (default: the preset's, decord); the other is
            tried if it fails.

    Returns:
        ``frames``: ``uint8`` tensor ``(T, C, H, W)``, RGB, ``T`` even, ``H``/``W`` multiples of 28
        (``frames.float()`` equals qwen-vl-utils' float output).
        ``metadata``: ``path``, ``backend`` (the one that read the file), ``backend_errors`` (failures of
        backends tried before it), ``preset``, ``video_fps`` (native), ``total_num_frames``,
        ``frames_indices``, ``nframes``, ``sample_fps`` (= nframes / total * video_fps, the spacing of the
        kept frames), ``duration`` (s), ``height``/``width`` (of the returned frames) and
        ``source_height``/``source_width``. Turn it into the processor's metadata with
        :func:`to_video_metadata` / :func:`processor_video_kwargs`.

    Raises:
        MediaError: missing/empty file, or no backend could use it (the message names every backend and
            its error; ``kind`` says whether it looked unreadable, truncated, frameless or too short).
    """
    chosen = get_preset(
        preset, max_frames=max_frames, fps=fps, video_min_pixels=min_pixels, video_max_pixels=max_pixels
    )
    first = backend or chosen.video_backend
    if first not in VIDEO_BACKENDS:
        raise ValueError(f"backend must be one of {VIDEO_BACKENDS}, got {first!r}")
    file_path = check_media_file(path)

    errors: dict[str, str] = {}
    failures: list[_ReadFailure] = []
    for name in (first, *[b for b in VIDEO_BACKENDS if b != first]):
        try:
            raw, indices, total, native_fps = _READERS[name](file_path, chosen)
        except _ReadFailure as err:
            failures.append(err)
            errors[name] = str(err)
            continue
        except Exception as err:  # an unexpected backend bug must not hide the other backend
            failures.append(_ReadFailure("unreadable", _short(err)))
            errors[name] = _short(err)
            continue
        if errors:
            logger.warning("video %s: %s failed (%s); read with %s", file_path, first, errors, name)
        break
    else:
        kind = _combined_kind([f.kind for f in failures])
        reason = "; ".join(f"{name}: {message}" for name, message in errors.items())
        truncation = mp4_truncation_reason(file_path) if kind == "unreadable" else None
        if truncation is not None:
            kind, reason = "truncated", f"{truncation} ({reason})"
        raise MediaError(f"no video backend could read it - {reason}", file_path, None, kind, errors)

    source_height, source_width = raw.shape[-2:]
    try:
        height, width = frame_size(chosen, source_height, source_width, len(indices))
        frames = tv_functional.resize(
            raw, [height, width], interpolation=InterpolationMode.BICUBIC, antialias=True
        )
    except Exception as err:  # qwen-vl-utils refuses extreme aspect ratios (ValueError), among others
        raise MediaError(
            f"cannot resize {source_width}x{source_height} frames with the {chosen.name} preset: {_short(err)}",
            file_path,
            kind="unreadable",
        ) from err
    metadata = {
        "path": str(file_path),
        "backend": name,
        "backend_errors": errors,
        "preset": chosen.name,
        "video_fps": native_fps,
        "total_num_frames": total,
        "frames_indices": indices,
        "nframes": len(indices),
        "sample_fps": len(indices) / max(total, 1e-6) * native_fps,
        "duration": total / native_fps,
        "height": height,
        "width": width,
        "source_height": int(source_height),
        "source_width": int(source_width),
    }
    return frames, metadata


def load_image(
    path: str | os.PathLike[str],
    preset: str | VisionPreset = "train",
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> Image.Image:
    """Open an image as RGB and resize it with qwen-vl-utils' rules within the preset's image bounds.

    The file is decoded here (so failures become :class:`MediaError` with a kind and the handle is
    closed), then qwen-vl-utils' ``fetch_image`` converts to RGB and resizes it to multiples of 28 with
    ``min_pixels <= H*W <= max_pixels`` (up to ``smart_resize`` rounding).
    """
    chosen = get_preset(preset, image_min_pixels=min_pixels, image_max_pixels=max_pixels)
    file_path = check_media_file(path)
    try:
        with Image.open(file_path) as opened:
            opened.load()
            image = opened.copy()
    except Image.DecompressionBombError as err:
        raise MediaError(f"image too large: {_short(err)}", file_path, kind="unreadable") from err
    except OSError as err:  # UnidentifiedImageError is an OSError too
        kind = "truncated" if "truncated" in str(err).lower() else "unreadable"
        raise MediaError(f"cannot decode image: {_short(err)}", file_path, kind=kind) from err
    except Exception as err:
        raise MediaError(f"cannot decode image: {_short(err)}", file_path, kind="unreadable") from err
    try:
        return qvu.fetch_image(chosen.image_item(image), image_patch_size=chosen.size_factor // 2)
    except Exception as err:  # qwen-vl-utils refuses extreme aspect ratios (ValueError), among others
        raise MediaError(
            f"cannot resize the {image.width}x{image.height} image with the {chosen.name} preset: {_short(err)}",
            file_path,
            kind="unreadable",
        ) from err


# ----------------------------------------------------------------------------------------------------
# Processor inputs (transformers 5.x Qwen2.5-VL)


def to_video_metadata(metadata: dict[str, Any], temporal_rope: TemporalRope = "sampled_fps") -> Any:
    """The ``transformers.video_utils.VideoMetadata`` the Qwen2.5-VL processor expects for one video.

    The processor sets ``second_per_grid_ts = temporal_patch_size / metadata.sampled_fps`` where
    ``sampled_fps = len(frames_indices) / total_num_frames * fps``.

    - ``"sampled_fps"``: the real metadata, so ``second_per_grid_ts`` is the true time covered by one
      temporal patch (2 / sample_fps s; 2.75 s for 16 frames of the 22 s sample video).
    - ``"fixed_2fps"``: Video-R1's training behaviour. It passed no fps, and transformers 4.49 then
      assumed 2 fps, i.e. ``second_per_grid_ts = 1.0`` whatever the real spacing. This describes the
      frames as consecutive frames of a 2 fps video (fps 2, indices ``0..T-1``) so that
      ``sampled_fps == 2``. (transformers 5.x without metadata would assume 24 fps -> 1/12 s.)
    """
    from transformers.video_utils import VideoMetadata

    if temporal_rope not in TEMPORAL_ROPE_MODES:
        raise ValueError(f"temporal_rope must be one of {TEMPORAL_ROPE_MODES}, got {temporal_rope!r}")
    nframes = len(metadata["frames_indices"])
    if temporal_rope == "fixed_2fps":
        return VideoMetadata(
            total_num_frames=nframes,
            fps=2.0,
            width=metadata.get("width"),
            height=metadata.get("height"),
            duration=nframes / 2.0,
            video_backend=metadata.get("backend"),
            frames_indices=list(range(nframes)),
        )
    return VideoMetadata(
        total_num_frames=int(metadata["total_num_frames"]),
        fps=float(metadata["video_fps"]),
        width=metadata.get("width"),
        height=metadata.get("height"),
        duration=metadata.get("duration"),
        video_backend=metadata.get("backend"),
        frames_indices=[int(i) for i in metadata["frames_indices"]],
    )


def processor_video_kwargs(
    metadata_list: list[dict[str, Any]], temporal_rope: TemporalRope = "sampled_fps"
) -> dict[str, Any]:
    """Keyword arguments for ``processor(text=..., videos=[frames, ...], **kwargs)``.

    Returns ``{"videos_kwargs": {...}}`` (video-only, so image settings are untouched) with:

    - ``video_metadata``: one :func:`to_video_metadata` per video, in the same order as ``videos``;
      it fixes ``second_per_grid_ts`` (see ``temporal_rope`` there).
    - ``do_sample_frames=False``: the frames are already sampled; the processor must not pick again.
    - ``do_resize=False``: the frames already have qwen-vl-utils' size (multiples of 28). The processor's
      own bounds differ (transformers' class default minimum is 128*28*28 per frame), so letting it
      resize could rescale a 224x420 training frame and change the token count.
    - ``cap_pixels_per_frame=True``: irrelevant once resizing is off, but silences transformers'
      per-call warning about the qwen-vl-utils cap.
    """
    return {
        "videos_kwargs": {
            "video_metadata": [to_video_metadata(md, temporal_rope) for md in metadata_list],
            "do_sample_frames": False,
            "do_resize": False,
            "cap_pixels_per_frame": True,
        }
    }
