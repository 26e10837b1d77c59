"""The demo's held-out evaluation: greedy accuracy on ordered and on shuffled frames, and its statistics.

The shuffled control permutes the frames of each video after decoding (prompt, metadata and frame set
unchanged), with the same permutation function as T-GRPO's shuffled rollouts (:mod:`video_r1.data.shuffle`).
Media come from the run's :class:`~video_r1.data.frame_cache.FrameCache`, so each video is decoded once.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from video_r1.data.collate import media_to_dict
from video_r1.data.frame_cache import FrameCache
from video_r1.inference import (
    GenerationRequest,
    GenerationResult,
    HFBackend,
    PreparedSample,
    chat_prompt,
    format_error,
)


def sample_permutation(num_frames: int, seed: int, key: str, unit: str = "frame"):
    """The frame order used for sample ``key``: seeded by ``(seed, key)``, never the identity.

    :func:`~video_r1.data.shuffle.shuffle_permutation`, the trainer's, so evaluation shuffles exactly like
    T-GRPO's shuffled rollouts (``unit="frame"``: single frames, as the original).
    """
    from video_r1.data.shuffle import seeded_generator, shuffle_permutation

    return shuffle_permutation(num_frames, unit, seeded_generator(seed, key))


def permute_sample_frames(sample, seed: int, unit: str = "frame"):
    """A copy of a :class:`~video_r1.inference.PreparedSample` whose video frames are permuted.

    Same prompt text, same metadata (fps, frame count), same frames in the order of
    :func:`sample_permutation`; the permutation is kept in ``info["permutation"]``. Images are returned
    unchanged.
    """
    media = sample.media
    if media.get("type") != "video":
        return sample
    perm = sample_permutation(media["frames"].shape[0], seed, sample.key, unit)
    shuffled = copy.copy(sample)
    shuffled.media = {**media, "frames": media["frames"][perm]}
    shuffled.info = {**sample.info, "permutation": perm.tolist()}
    return shuffled


def prepare_cached_sample(
    request: GenerationRequest, processor, preset, frame_cache: FrameCache
) -> PreparedSample | GenerationResult:
    """:func:`video_r1.inference.prepare_sample` with the media taken from ``frame_cache`` (decoded once)."""
    record = request.record
    try:
        text = chat_prompt(processor, record, request.variant)
        media = media_to_dict(frame_cache.load_media_for_record(record, preset, "error"))
    except Exception as err:  # per-sample, as prepare_sample
        return GenerationResult(key=request.key, output=None, error=format_error(err))
    sample_fps = float(media["video_metadata"]["sample_fps"]) if media["type"] == "video" else None
    info = {"problem_id": record.get("problem_id"), "path": media.get("path")}
    return PreparedSample(key=request.key, text=text, media=media, sample_fps=sample_fps, info=info)


class ShuffledFramesHFBackend(HFBackend):
    """:class:`~video_r1.inference.HFBackend` that permutes every video's frames before generation.

    ``shuffle_seed=None`` behaves exactly like ``HFBackend``. Otherwise each prepared sample goes through
    :func:`permute_sample_frames` (frames decoded by the usual path, then permuted; prompt unchanged), so
    the model sees the same frames as in the ordered evaluation, in a seeded random order. With
    ``frame_cache`` (a :class:`~video_r1.data.frame_cache.FrameCache`) media come from the cache, so a file
    is decoded once however many evaluations read it.
    """

    def __init__(
        self,
        *args: Any,
        shuffle_seed: int | None = 0,
        shuffle_unit: str = "frame",
        frame_cache: FrameCache | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.shuffle_seed = shuffle_seed
        self.shuffle_unit = shuffle_unit
        self.frame_cache = frame_cache

    def _prepare_batch(self, requests):
        if self.frame_cache is None:
            prepared = super()._prepare_batch(requests)
        else:
            prepared = [
                prepare_cached_sample(r, self.processor, self.preset, self.frame_cache) for r in requests
            ]
        if self.shuffle_seed is None:
            return prepared
        return [
            permute_sample_frames(p, self.shuffle_seed, self.shuffle_unit)
            if isinstance(p, PreparedSample)
            else p
            for p in prepared
        ]


def evaluate_model(
    model,
    processor,
    records: Sequence[Mapping[str, Any]],
    *,
    shuffled: bool,
    variant: str = "train",
    max_new_tokens: int = 48,
    batch_size: int = 50,
    shuffle_seed: int = 0,
    shuffle_unit: str = "frame",
    progress: bool | str = True,
    frame_cache: FrameCache | None = None,
    return_outputs: bool = False,
) -> dict[str, Any]:
    """Greedy accuracy of ``model`` on ``records`` (ordered or shuffled frames) with the HF backend.

    Returns ``{"accuracy", "format_rate", "n", "n_errors", "example"}``; accuracy is
    :func:`video_r1.evaluation.scoring.score` averaged over all records (a failed sample scores 0).
    The model's train/eval mode is restored afterwards.
    """
    from video_r1.data.vision import get_preset
    from video_r1.evaluation.scoring import score
    from video_r1.inference import BackendOptions, SamplingConfig
    from video_r1.rewards import format_reward

    was_training = model.training
    backend = ShuffledFramesHFBackend(
        str(getattr(model, "name_or_path", "model")),
        BackendOptions(
            preset=get_preset("tiny"),
            sampling=SamplingConfig(temperature=0.0, max_new_tokens=max_new_tokens),
            batch_size=batch_size,
        ),
        model=model,
        processor=processor,
        device="cpu",
        shuffle_seed=shuffle_seed if shuffled else None,
        shuffle_unit=shuffle_unit,
        frame_cache=frame_cache,
    )
    try:
        requests = [GenerationRequest(f"{r['problem_id']}", dict(r), variant=variant) for r in records]
        results = list(backend.iter_generate(requests, progress=progress))
    finally:
        backend.close()
        model.train(was_training)
    outputs = [r.output or "" for r in results]
    scores = [
        score(out, rec["solution"], rec["problem_type"]) if res.error is None else 0.0
        for out, res, rec in zip(outputs, results, records, strict=True)
    ]
    n = len(records)
    return {
        "accuracy": sum(scores) / n if n else 0.0,
        "format_rate": sum(format_reward(outputs)) / n if n else 0.0,
        "n": n,
        "n_errors": sum(r.error is not None for r in results),
        "example": outputs[0] if outputs else None,
        "scores": scores,
        **({"outputs": outputs} if return_outputs else {}),
    }


# ----------------------------------------------------------------------------------------------------
# Statistics of a held-out evaluation


def standard_error(n: int, p: float = 0.5) -> float:
    """Standard error of an accuracy measured on ``n`` questions (``p=0.5``: the largest, used for the
    demo's criteria: 0.035 for n=200)."""
    return math.sqrt(p * (1 - p) / max(1, n))


def paired_difference(before: Sequence[float], after: Sequence[float]) -> dict[str, float]:
    """Accuracy change between two evaluations of the same questions, with its paired standard error.

    ``before``/``after`` are per-question scores (0/1). Only questions whose outcome changed carry
    information: with ``gained`` / ``lost`` such questions out of ``n``, the change is
    ``(gained - lost) / n`` and its standard error ``sqrt(gained + lost - (gained - lost)^2 / n) / n``
    (the paired, McNemar-style estimate; smaller than the unpaired one when most answers stay the same).
    """
    if len(before) != len(after):
        raise ValueError(f"{len(before)} scores before but {len(after)} after")
    n = len(before)
    gained = sum(1 for a, b in zip(before, after, strict=True) if b > a)
    lost = sum(1 for a, b in zip(before, after, strict=True) if b < a)
    delta = (gained - lost) / n if n else 0.0
    se = math.sqrt(max(0.0, gained + lost - (gained - lost) ** 2 / n)) / n if n else 0.0
    return {"delta": delta, "paired_se": se, "gained": gained, "lost": lost, "n": n}


def rl_gain(sft: Mapping[str, Any], rl: Mapping[str, Any]) -> dict[str, Any]:
    """How an RL stage changed ordered accuracy relative to SFT, against the demo's criterion.

    The criterion (issue 17): the RL stage beats SFT by more than two standard errors of the held-out
    evaluation, taking the largest standard error (p = 0.5) of n questions (0.0354 for n = 200). The
    paired standard error of the same change is reported beside it.
    """
    n = int(rl.get("n") or sft.get("n") or 1)
    se = standard_error(n)
    out: dict[str, Any] = {"delta": rl["accuracy"] - sft["accuracy"], "se": se, "threshold": 2 * se}
    if sft.get("scores") is not None and rl.get("scores") is not None:
        paired = paired_difference(sft["scores"], rl["scores"])
        out.update(paired_se=paired["paired_se"], gained=paired["gained"], lost=paired["lost"])
    out["beats_sft"] = out["delta"] > 2 * se
    return out


def cue_split(
    records: Sequence[Mapping[str, Any]], scores: Sequence[float], shuffled_scores: Sequence[float]
) -> dict[str, Any]:
    """Accuracy on the records whose shortcut cue agrees with the answer and on those whose cue does not
    (the synthetic ``cue_agrees`` field; ``{}`` when no record has one), ordered and shuffled.

    A model that answers from the cue scores ~1 on the first and ~0 on the second whatever the frame order;
    one that reads the order scores the same on both (on ordered frames).
    """
    flags = [record.get("cue_agrees") for record in records]
    if all(flag is None for flag in flags):
        return {}
    out: dict[str, Any] = {}
    for suffix, values in (("", scores), ("_shuffled", shuffled_scores)):
        for flag, name in ((True, "agrees"), (False, "disagrees")):
            picked = [v for v, f in zip(values, flags, strict=True) if f is flag]
            out[f"accuracy{suffix}_cue_{name}"] = sum(picked) / len(picked) if picked else None
    out["n_cue_agrees"] = sum(flag is True for flag in flags)
    out["n_cue_disagrees"] = sum(flag is False for flag in flags)
    return out


def stage_eval(
    model,
    processor,
    records,
    eval_cfg: Mapping[str, Any],
    stage: str,
    progress: bool,
    frame_cache: FrameCache | None = None,
):
    common = {
        "variant": eval_cfg.get("variant", "train"),
        "max_new_tokens": int(eval_cfg.get("max_new_tokens", 48)),
        "batch_size": int(eval_cfg.get("batch_size", 50)),
        "shuffle_seed": int(eval_cfg.get("shuffle_seed", 0)),
        "shuffle_unit": eval_cfg.get("shuffle_unit", "frame"),
        "frame_cache": frame_cache,
    }
    ordered = evaluate_model(
        model,
        processor,
        records,
        shuffled=False,
        progress=f"eval {stage} ordered" if progress else False,
        **common,
    )
    shuffled = evaluate_model(
        model,
        processor,
        records,
        shuffled=True,
        progress=f"eval {stage} shuffled" if progress else False,
        **common,
    )
    compare = eval_cfg.get("compare_variant")
    extra = {}
    if compare and compare != common["variant"]:
        other = evaluate_model(
            model,
            processor,
            records,
            shuffled=False,
            progress=f"eval {stage} ordered ({compare} wording)" if progress else False,
            **{**common, "variant": compare},
        )
        extra[f"accuracy_{compare}_wording"] = other["accuracy"]
    result = {
        "accuracy": ordered["accuracy"],
        "accuracy_shuffled": shuffled["accuracy"],
        "format_rate": ordered["format_rate"],
        "format_rate_shuffled": shuffled["format_rate"],
        "n": ordered["n"],
        "n_errors": ordered["n_errors"] + shuffled["n_errors"],
        **extra,
        **cue_split(records, ordered["scores"], shuffled["scores"]),
        "example_output": ordered["example"],
        "scores": ordered["scores"],
    }
    cue = ""
    if result.get("accuracy_cue_agrees") is not None and result.get("accuracy_cue_disagrees") is not None:
        cue = (
            f"; ordered on cue-agreeing {result['accuracy_cue_agrees']:.3f}, cue-disagreeing "
            f"{result['accuracy_cue_disagrees']:.3f}"
        )
    print(
        f"{stage}: accuracy ordered {result['accuracy']:.3f}, shuffled {result['accuracy_shuffled']:.3f} "
        f"(n={result['n']}, format {result['format_rate']:.2f}){cue}",
        flush=True,
    )
    return result
