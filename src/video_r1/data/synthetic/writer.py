"""The dataset writer: :func:`make_synthetic` renders every split and writes its JSON files and media.

Each record's random generator is seeded by ``(seed, problem_id)`` and each split's plan (which task and
label each record gets) by ``(seed, split)``, so the same arguments always give byte-identical files.
:func:`check_settings` is the writer's validation on its own (``video-r1 make-synthetic`` runs it while
parsing its flags, before anything is written).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from video_r1.data.synthetic.media import _write_image, encode_video
from video_r1.data.synthetic.render import generate_sample
from video_r1.data.synthetic.spec import IMAGE_TASKS, VIDEO_TASKS, SyntheticSpec


def _plan_split(
    num: int,
    video_tasks: Sequence[str],
    image_tasks: Sequence[str],
    image_fraction: float,
    rng: np.random.Generator,
) -> list[tuple[str, int]]:
    """(task, label) for each record of a split: tasks round-robin, labels exactly balanced per task."""
    num_image = round(num * image_fraction) if image_tasks else 0
    if not video_tasks:
        num_image = num
    tasks = [video_tasks[i % len(video_tasks)] for i in range(num - num_image)]
    tasks += [image_tasks[i % len(image_tasks)] for i in range(num_image)]
    order = rng.permutation(len(tasks))
    tasks = [tasks[i] for i in order]
    labels_per_task = {
        task: list(rng.permutation(np.arange(count) % 2)) for task, count in sorted(Counter(tasks).items())
    }
    return [(task, int(labels_per_task[task].pop())) for task in tasks]


def _plan_cues(plan: Sequence[tuple[str, int]], agreement: float, rng: np.random.Generator) -> list[bool]:
    """Whether each record's shortcut cue agrees with its answer: exactly ``round(agreement x n)`` of the
    ``n`` direction records of each answer agree (so the cue's two values stay balanced), at random places;
    other tasks carry no cue (their flag is unused)."""
    agrees = [True] * len(plan)
    for label in (0, 1):
        indices = [i for i, (task, lab) in enumerate(plan) if task == "direction" and lab == label]
        keep = round(agreement * len(indices))
        for rank, position in enumerate(rng.permutation(len(indices))):
            agrees[indices[int(position)]] = rank < keep
    return agrees


def check_settings(
    spec: SyntheticSpec,
    *,
    num_train: int,
    num_test: int,
    video_tasks: Sequence[str],
    image_tasks: Sequence[str],
    image_fraction: float,
    test_image_fraction: float | None,
    num_cot: int | None,
    cot_overrides: Mapping[str, Any] | None,
    test_cue_agreement: float = 0.5,
) -> SyntheticSpec:
    """Raise ``ValueError`` for any setting :func:`make_synthetic` refuses; return the CoT split's spec.

    The arguments mean what they mean for :func:`make_synthetic` (``spec`` holds its rendering arguments);
    the CoT spec is ``spec`` with ``cot_overrides`` applied (``spec`` itself without them).
    """
    spec.validate()
    if spec.shortcut_cue is not None:
        if "direction" not in video_tasks:
            raise ValueError(
                f"shortcut_cue={spec.shortcut_cue!r} is a cue of the direction task; add it to video_tasks"
            )
        if not 0.0 <= test_cue_agreement <= 1.0:
            raise ValueError(f"test_cue_agreement={test_cue_agreement}: must be in [0, 1]")
    for task in video_tasks:
        if task not in VIDEO_TASKS:
            raise ValueError(f"unknown video task {task!r}; expected some of {VIDEO_TASKS}")
    for task in image_tasks:
        if task not in IMAGE_TASKS:
            raise ValueError(f"unknown image task {task!r}; expected some of {IMAGE_TASKS}")
    test_image_fraction = image_fraction if test_image_fraction is None else test_image_fraction
    for name, fraction in (("image_fraction", image_fraction), ("test_image_fraction", test_image_fraction)):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{name}={fraction}: must be in [0, 1]")
        if fraction > 0 and not image_tasks:
            raise ValueError(f"{name}={fraction} but no image_tasks were given")
        if fraction < 1 and not video_tasks:
            raise ValueError(f"{name}={fraction} needs video_tasks (or set it to 1.0)")
    if num_train < 0 or num_test < 0:
        raise ValueError(f"num_train={num_train}, num_test={num_test}: must be >= 0")
    if num_cot is not None and num_cot < 0:
        raise ValueError(f"num_cot={num_cot}: must be >= 0 (or None: the training records)")
    if cot_overrides and num_cot is None:
        raise ValueError("cot_overrides needs num_cot (a CoT split of its own)")
    cot_spec = spec
    if cot_overrides:
        valid = {f.name for f in fields(SyntheticSpec)}
        unknown = sorted(set(cot_overrides) - valid)
        if unknown:
            raise ValueError(f"cot_overrides: unknown field(s) {unknown}; expected some of {sorted(valid)}")
        overrides = dict(cot_overrides)
        for key in ("background", "colours"):
            if overrides.get(key) is not None:
                overrides[key] = tuple(overrides[key])
        cot_spec = replace(spec, **overrides)
        try:
            cot_spec.validate()
        except ValueError as err:
            raise ValueError(f"cot_overrides: {err}") from None
    return cot_spec


def make_synthetic(
    output_dir: str | Path,
    num_train: int = 200,
    num_test: int = 100,
    seed: int = 0,
    *,
    num_frames: int = 8,
    fps: float = 2.0,
    size: int = 56,
    image_size: int | None = None,
    video_tasks: Sequence[str] = VIDEO_TASKS,
    image_tasks: Sequence[str] = IMAGE_TASKS,
    image_fraction: float = 0.25,
    test_image_fraction: float | None = None,
    noise: float = 4.0,
    square_min: int = 10,
    square_max: int = 14,
    min_speed: float = 4.5,
    qp: int = 12,
    max_speed: float | None = None,
    background: tuple[float, float] = (20.0, 60.0),
    colours: Sequence[str] | None = None,
    shortcut_cue: str | None = None,
    cue_agreement: float = 0.9,
    test_cue_agreement: float = 0.5,
    num_cot: int | None = None,
    cot_overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Write the synthetic dataset under ``output_dir`` and return the paths of what was written.

    Returns ``{"root", "train", "cot", "test", "videos", "images"}``. ``train.json`` is the RL file
    (video and image records mixed; ``image_fraction`` of them images), ``test.json`` a held-out split
    (``test_image_fraction``, default the same fraction) whose problem ids - and hence per-sample seeds -
    follow the training ids. ``cot.json`` (SFT, with a short ``process``) holds, by default, the training
    records themselves; with ``num_cot`` it is a split of its own: ``num_cot`` further questions (ids after
    the test ids, mixed like the training split) rendered with ``cot_overrides`` replacing fields of
    :class:`SyntheticSpec` (e.g. ``{"min_speed": 4.0}`` for an SFT set of fast clips only).

    ``shortcut_cue`` (one of :data:`~video_r1.data.synthetic.spec.SHORTCUT_CUES`; default None, no cue)
    gives the direction task a spurious static cue: in train.json (and cot.json) exactly
    ``round(cue_agreement x n)`` of the n direction questions of each answer carry a cue that points to the
    answer, in test.json ``test_cue_agreement`` of them (0.5: the cue says nothing; 0.0: it always points
    the wrong way); each direction record then has a ``cue_agrees`` field. ``cot_overrides`` may set
    ``cue_agreement`` for a CoT split of its own. Record paths are
    ``./videos/<id>.mp4`` / ``./images/<id>.png`` relative to the JSON files' folder. The same arguments
    always produce identical JSON and media bytes.
    """
    from tqdm import tqdm

    spec = SyntheticSpec(
        num_frames,
        fps,
        size,
        image_size,
        noise,
        square_min,
        square_max,
        min_speed,
        qp,
        max_speed,
        tuple(background),
        tuple(colours) if colours is not None else None,
        shortcut_cue,
        cue_agreement,
    )
    video_tasks, image_tasks = tuple(video_tasks), tuple(image_tasks)
    cot_spec = check_settings(
        spec,
        num_train=num_train,
        num_test=num_test,
        video_tasks=video_tasks,
        image_tasks=image_tasks,
        image_fraction=image_fraction,
        test_image_fraction=test_image_fraction,
        num_cot=num_cot,
        cot_overrides=cot_overrides,
        test_cue_agreement=test_cue_agreement,
    )
    test_image_fraction = image_fraction if test_image_fraction is None else test_image_fraction

    root = Path(output_dir)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(parents=True, exist_ok=True)
    splits = {
        "train": (0, num_train, image_fraction, spec),
        "test": (num_train, num_test, test_image_fraction, replace(spec, cue_agreement=test_cue_agreement)),
    }
    if num_cot is not None:
        splits["cot"] = (num_train + num_test, num_cot, image_fraction, cot_spec)
    total = sum(split[1] for split in splits.values())
    records: dict[str, list[dict[str, Any]]] = {"train": [], "cot": [], "test": []}
    with tqdm(total=total, desc="synthetic", unit="sample", disable=not progress) as bar:
        for split_index, (split, (first_id, num, fraction, split_spec)) in enumerate(splits.items()):
            plan = _plan_split(
                num, video_tasks, image_tasks, fraction, np.random.default_rng([seed, 1, split_index])
            )
            agrees = [True] * len(plan)
            if split_spec.shortcut_cue is not None:
                agrees = _plan_cues(
                    plan, split_spec.cue_agreement, np.random.default_rng([seed, 2, split_index])
                )
            for offset, ((task, label), agree) in enumerate(zip(plan, agrees, strict=True)):
                problem_id = first_id + offset
                rng = np.random.default_rng([seed, 0, problem_id])
                sample = generate_sample(task, label, rng, split_spec, cue_agrees=agree)
                if sample.data_type == "video":
                    relative = f"videos/{problem_id:05d}.mp4"
                    encode_video(sample.pixels, root / relative, fps=split_spec.fps, qp=split_spec.qp)
                else:
                    relative = f"images/{problem_id:05d}.png"
                    _write_image(sample.pixels, root / relative)
                if split != "cot":
                    records[split].append(sample.record(problem_id, f"./{relative}", with_process=False))
                if split == "cot" or (split == "train" and num_cot is None):
                    records["cot"].append(sample.record(problem_id, f"./{relative}", with_process=True))
                bar.update(1)

    paths: dict[str, Path] = {"root": root, "videos": root / "videos", "images": root / "images"}
    for name, rows in records.items():
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
