"""Decode each media file once per run: an in-memory cache of decoded, preset-sized frames.

The CPU demo trains and evaluates on a few thousand tiny synthetic clips. Without a cache, every SFT epoch,
every RL step and every evaluation pass decodes the same MP4 again (H.264 decode, frame sampling and the
preset's resize), which was about a third of the demo's time. :class:`FrameCache` keeps the result of
:func:`video_r1.data.media.load_media_for_record` - ``uint8`` frames ``(T, C, H, W)`` already sampled and
resized by the vision preset, plus their sampling metadata - keyed by the media file, the preset and the
decoder arguments, and hands the same object back on every later request.

It is a drop-in replacement for ``load_media_for_record`` (same signature), so it plugs into
:func:`video_r1.data.collate.with_media` (``loader=``), into the trainers (``media_loader=``) and into any
evaluation code that decodes records. Share one cache among every stage of a run (SFT, RL, evaluation).

Contract:

* a hit returns the cached frames tensor itself (no copy): callers must not modify it in place. Every
  consumer in this project copies before changing frames (T-GRPO's shuffled copy indexes ``frames[perm]``,
  the processor converts to float);
* media that fails to decode is not cached: the bad-media policy applies to each request, exactly as
  without the cache (an error names the record; ``skip`` logs every skipped request);
* the cache lives in the process that calls it. DataLoader worker processes get a copy at fork time, so
  :meth:`FrameCache.prefill` decodes everything up front (then workers only hit), or use
  ``dataloader_num_workers: 0``. A pickled cache carries no frames (``datasets`` fingerprints a transform
  by pickling it, and a spawned worker would otherwise receive every frame): it unpickles empty and
  decodes again on demand.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Any

from video_r1.data.media import (
    BadMediaPolicy,
    LoadedMedia,
    OnBadMedia,
    load_media_for_record,
    record_media_path,
)
from video_r1.data.vision import VisionPreset, get_preset

__all__ = ["FrameCache"]


def _freeze(kwargs: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((kwargs or {}).items()))


class FrameCache:
    """Decoded media of one run, keyed by ``(file, data type, preset, decoder kwargs)``.

    ``decodes`` counts the media actually decoded by this cache (misses), ``hits`` the requests served from
    memory; :meth:`stats` reports both. Use :meth:`load_media_for_record` wherever
    :func:`video_r1.data.media.load_media_for_record` would be called.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[Any, ...], LoadedMedia] = {}
        self.decodes = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._items)

    def __getstate__(self) -> dict[str, Any]:
        # Frames stay in this process (see the module docstring); the identity keeps fingerprints distinct.
        return {"_items": {}, "decodes": 0, "hits": 0, "_origin": id(self)}

    def _key(
        self,
        record: Mapping[str, Any],
        preset: VisionPreset,
        video_kwargs: Mapping[str, Any] | None,
        image_kwargs: Mapping[str, Any] | None,
    ) -> tuple[Any, ...]:
        path = record_media_path(dict(record))
        data_type = record.get("data_type")
        kwargs = video_kwargs if data_type == "video" else image_kwargs
        return (os.path.realpath(path) if path else None, data_type, preset, _freeze(kwargs))

    def load_media_for_record(
        self,
        record: dict[str, Any],
        preset: str | VisionPreset = "train",
        policy: BadMediaPolicy | OnBadMedia | None = None,
        *,
        video_kwargs: dict[str, Any] | None = None,
        image_kwargs: dict[str, Any] | None = None,
    ) -> LoadedMedia | None:
        """:func:`video_r1.data.media.load_media_for_record`, decoding each file at most once.

        The returned :class:`~video_r1.data.media.LoadedMedia` carries the requesting record's
        ``problem_id`` (two records may share a file).
        """
        chosen = get_preset(preset)
        key = self._key(record, chosen, video_kwargs, image_kwargs)
        cached = self._items.get(key)
        if cached is not None:
            self.hits += 1
            problem_id = record.get("problem_id")
            return (
                cached
                if cached.problem_id == problem_id
                else dataclasses.replace(cached, problem_id=problem_id)
            )
        media = load_media_for_record(
            record, chosen, policy, video_kwargs=video_kwargs, image_kwargs=image_kwargs
        )
        if media is not None:
            self.decodes += 1
            self._items[key] = media
        return media

    # ``FrameCache`` itself can be passed where a loader function is expected.
    __call__ = load_media_for_record

    def prefill(
        self,
        records: Iterable[Mapping[str, Any]],
        preset: str | VisionPreset = "train",
        policy: BadMediaPolicy | OnBadMedia | None = None,
        *,
        video_kwargs: dict[str, Any] | None = None,
        image_kwargs: dict[str, Any] | None = None,
        progress: bool | str = True,
    ) -> int:
        """Decode every record's media now (a progress bar per item); returns how many were decoded.

        Records already in the cache are not decoded again.
        """
        from tqdm.auto import tqdm

        records = list(records)
        before = self.decodes
        bar = tqdm(
            records,
            desc=progress if isinstance(progress, str) else "decoding media",
            unit="file",
            disable=not progress,
            dynamic_ncols=True,
        )
        for record in bar:
            self.load_media_for_record(
                dict(record), preset, policy, video_kwargs=video_kwargs, image_kwargs=image_kwargs
            )
        return self.decodes - before

    def stats(self) -> dict[str, int]:
        """``{"items", "decodes", "hits"}``: cached media, decodes (misses) and requests served from memory."""
        return {"items": len(self._items), "decodes": self.decodes, "hits": self.hits}
