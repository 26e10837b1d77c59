"""Media I/O of the synthetic dataset: intra-only H.264 MP4 videos, lossless PNG images, and decoding.

The encoder settings are part of the dataset's guarantee that shuffled frames carry no information (see
:mod:`video_r1.data.synthetic`): every frame is a keyframe at a constant quantiser, encoded by one thread,
so each decoded frame depends on that frame alone and the bytes depend on nothing but the pixels.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def encode_video(frames: np.ndarray, path: str | Path, fps: float = 2.0, qp: int = 12) -> Path:
    """Write ``(T, H, W, 3)`` uint8 RGB frames as intra-only constant-QP H.264 (yuv420p) in MP4.

    Intra-only + constant quantiser + one thread makes each decoded frame depend on that frame alone and
    the file depend on nothing but the pixels (see :mod:`video_r1.data.synthetic` for why order must not
    leak).
    """
    import av

    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    _, height, width, _ = frames.shape
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {
            "qp": str(qp),
            "preset": "medium",
            "x264-params": "keyint=1:min-keyint=1:scenecut=0:bframes=0:threads=1",
        }
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_video(path: str | Path, backend: str = "decord") -> np.ndarray:
    """All frames of ``path`` as ``(T, H, W, 3)`` uint8 RGB, read with ``decord`` or ``pyav``."""
    if backend == "decord":
        import decord

        reader = decord.VideoReader(str(path), num_threads=1)
        return reader.get_batch(list(range(len(reader)))).asnumpy()
    if backend == "pyav":
        import av

        with av.open(str(path)) as container:
            return np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    raise ValueError(f"unknown video backend {backend!r}; expected 'decord' or 'pyav'")


def _write_image(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    # No timestamps or text chunks are written, so the PNG bytes depend only on the pixels.
    Image.fromarray(image, mode="RGB").save(path, format="PNG", optimize=False, compress_level=6)
