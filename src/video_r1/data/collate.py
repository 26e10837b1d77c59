"""Mixed image+video batches: decode in DataLoader workers, once per sample, and build processor inputs.

Dataflow for RL (and anything else that feeds a ``datasets.Dataset`` to a TRL trainer)::

    load_records(...)  ->  with_media(dataset, preset, policy)  ->  DataLoader workers call MediaTransform
    -> rows carry "prompt" (conversation with media placeholders) + "media" (decoded frames or image)
    -> build_processor_inputs(processor, texts, media)  ->  input_ids, pixel_values(_videos), grids, ...

``datasets`` applies a ``with_transform`` callable inside ``__getitems__``, i.e. in the DataLoader worker
that fetches the batch, so decoding runs in ``dataloader_num_workers`` processes. TRL's ``RepeatSampler``
fetches each prompt ``num_generations`` times in a row; :class:`MediaTransform` decodes each distinct
sample of a fetched batch once and hands the same decoded object to all of its rows, and the trainer can
reuse those frames for the shuffled copy instead of decoding again.

Bad media follows :class:`~video_r1.data.media.BadMediaPolicy`: with ``"error"`` the worker raises a
``MediaError`` naming the record and file; with ``"skip"`` the record is dropped (logged to
``skipped_media.jsonl`` and listed in the row's ``skipped_media`` field) and its slot is filled by the next
record of the dataset whose media decodes - a whole record (question, answer and media together), never
another record's media under this record's question as the original did.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from video_r1.data.media import BadMediaPolicy, LoadedMedia, load_media_for_record
from video_r1.data.vision import TemporalRope, VisionPreset, get_preset, processor_video_kwargs
from video_r1.errors import UserError
from video_r1.prompts import build_conversation

#: Column added by :func:`with_media` so a transform can find the next record when one is skipped.
INDEX_COLUMN = "sample_index"


@dataclass
class MediaTransform:
    """A ``datasets`` transform that adds ``prompt``, ``media`` and ``skipped_media`` to every row.

    ``source`` is the untransformed dataset (with :data:`INDEX_COLUMN`), used to fetch a replacement record
    when a record's media is skipped. ``variant`` picks the prompt wording (``train`` for RL). ``loader``
    decodes one record (signature of :func:`~video_r1.data.media.load_media_for_record`, the default), e.g.
    a :class:`~video_r1.data.frame_cache.FrameCache` shared by several stages of a run.
    """

    preset: VisionPreset
    policy: BadMediaPolicy
    source: Any = None
    variant: str = "train"
    video_kwargs: dict[str, Any] = field(default_factory=dict)
    image_kwargs: dict[str, Any] = field(default_factory=dict)
    loader: Callable[..., LoadedMedia | None] = load_media_for_record

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        columns = list(batch)
        rows = [dict(zip(columns, values, strict=True)) for values in zip(*batch.values(), strict=True)]
        decoded: dict[Any, tuple[dict[str, Any], LoadedMedia, list[Any]]] = {}
        out_rows = []
        for row in rows:
            key = row.get(INDEX_COLUMN, (row["problem_id"], row.get("media_path")))
            if key not in decoded:
                decoded[key] = self._decode(row)
            record, media, skipped = decoded[key]
            out_rows.append(
                {
                    **record,
                    "prompt": build_conversation(record, self.variant),
                    "media": media_to_dict(media),
                    "skipped_media": list(skipped),
                }
            )
        return {name: [r[name] for r in out_rows] for name in out_rows[0]} if out_rows else batch

    def _decode(self, row: dict[str, Any]) -> tuple[dict[str, Any], LoadedMedia, list[Any]]:
        skipped: list[Any] = []
        record = row
        for _ in range(len(self.source) if self.source is not None else 1):
            media = self.loader(
                record,
                self.preset,
                self.policy,
                video_kwargs=self.video_kwargs,
                image_kwargs=self.image_kwargs,
            )
            if media is not None:
                return record, media, skipped
            skipped.append(record["problem_id"])
            if self.source is None:
                break
            next_index = (record[INDEX_COLUMN] + 1) % len(self.source)
            record = self.source[next_index]
        raise UserError(
            f"on_bad_media='skip': no record with readable media found after skipping {len(skipped)} record(s) "
            f"starting at problem_id={row['problem_id']} ({row.get('media_path')})"
        )


def media_to_dict(media: LoadedMedia) -> dict[str, Any]:
    """Plain-dict form of a decoded media item (what rows carry; picklable across worker processes)."""
    if media.data_type == "video":
        return {
            "type": "video",
            "frames": media.frames,
            "video_metadata": media.video_metadata,
            "path": media.path,
            "decoded_in_pid": os.getpid(),
        }
    return {"type": "image", "image": media.image, "path": media.path, "decoded_in_pid": os.getpid()}


def with_media(
    dataset,
    preset: str | VisionPreset = "train",
    policy: BadMediaPolicy | None = None,
    *,
    variant: str = "train",
    video_kwargs: dict[str, Any] | None = None,
    image_kwargs: dict[str, Any] | None = None,
    loader: Callable[..., LoadedMedia | None] | None = None,
):
    """Return ``dataset`` (from :func:`~video_r1.data.records.load_records`) with decoding on access.

    Each accessed row gains ``prompt`` (the original's conversation for ``variant``, media placeholder
    first), ``media`` (``{"type": "video", "frames": uint8 (T,C,H,W), "video_metadata": {...}}`` or
    ``{"type": "image", "image": PIL.Image}``) and ``skipped_media`` (problem ids dropped to fill the slot).
    ``loader`` replaces :func:`~video_r1.data.media.load_media_for_record` (same signature), e.g. a
    :class:`~video_r1.data.frame_cache.FrameCache`; default: decode on every access.
    """
    policy = policy or BadMediaPolicy()
    if INDEX_COLUMN not in dataset.column_names:
        dataset = dataset.add_column(INDEX_COLUMN, list(range(len(dataset))))
    transform = MediaTransform(
        preset=get_preset(preset),
        policy=policy,
        source=dataset,
        variant=variant,
        video_kwargs=dict(video_kwargs or {}),
        image_kwargs=dict(image_kwargs or {}),
        loader=loader or load_media_for_record,
    )
    return dataset.with_transform(transform)


def split_media(media: Sequence[dict[str, Any]]) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """(images, video frame tensors, video metadata) in batch order, the order the processor consumes them."""
    images, videos, metadata = [], [], []
    for item in media:
        if item["type"] == "video":
            videos.append(item["frames"])
            metadata.append(item["video_metadata"])
        elif item["type"] == "image":
            images.append(item["image"])
        else:
            raise ValueError(f"unknown media type {item['type']!r}")
    return images, videos, metadata


def build_processor_inputs(
    processor,
    texts: Sequence[str],
    media: Sequence[dict[str, Any]],
    *,
    temporal_rope: TemporalRope = "sampled_fps",
    **kwargs: Any,
):
    """Run the Qwen2.5-VL processor on chat-templated ``texts`` with their (mixed) media, one item per text.

    Videos carry their real sampling metadata so ``second_per_grid_ts`` (temporal M-RoPE) reflects the
    true frame spacing (``temporal_rope="fixed_2fps"`` reproduces the original's training behaviour).
    Extra ``kwargs`` (e.g. ``padding=True``, ``return_tensors="pt"``, ``padding_side="left"``) go to the
    processor.
    """
    if len(texts) != len(media):
        raise ValueError(f"{len(texts)} texts but {len(media)} media items")
    images, videos, metadata = split_media(media)
    call: dict[str, Any] = {"text": list(texts), **kwargs}
    if images:
        call["images"] = images
    if videos:
        call["videos"] = videos
        call.update(processor_video_kwargs(metadata, temporal_rope))
    return processor(**call)
