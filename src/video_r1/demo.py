"""``video-r1 demo``: the whole Video-R1 pipeline in miniature, on CPU, without downloads.

Stages (each prints a banner and shows a progress bar):

1. build a small random-init Qwen2.5-VL checkpoint offline (:func:`video_r1.testing.tiny.build_tiny_checkpoint`,
   sizes from the recipe);
2. write the synthetic frame-order dataset (:func:`video_r1.data.synthetic.make_synthetic`): train (RL),
   CoT (SFT) and a held-out test split whose video questions are answerable only from frame order;
3. evaluate the untrained model (``base``), run the SFT cold start (:class:`~video_r1.trainers.VideoSFTTrainer`),
   evaluate (``sft``), run T-GRPO (:class:`~video_r1.trainers.TGRPOTrainer`) from the SFT weights and
   evaluate (``grpo``). Every evaluation is greedy, on the held-out split, twice: on the ordered frames and
   on the same frames permuted (frame level, seeded per sample), see :class:`ShuffledFramesHFBackend`;
4. write ``report.json``, ``report.md`` and ``curves.png`` (RL curves: accuracy reward, temporal bonus rate,
   mean reward, completion length) to the output directory.

Every size, step count and learning rate comes from a YAML recipe (``configs/demo_cpu.yaml``); its ``quick``
section is merged over the rest by ``--quick`` (a few steps per stage, the CI smoke run).

Two recipe choices are specific to the tiny scale and documented in the recipe file:

* ``data.cot_style: short`` rewrites the direction task's ``<think>`` for SFT into a compact form of the
  generator's own reasoning: "The red square is on the left in the first frame and on the right in the last
  frame, so it moves right." becomes "First frame: left. Last frame: right. So it moves right." The two
  position words are what must be read from the video; the rest is a copy. With the generator's long
  sentence (``generator``) or a fixed think sentence without these steps, the 0.7M model stayed at chance
  for 400-800 SFT steps; with the compact CoT it jumped to >0.99 after 350-700 steps depending on the
  seed (measured). Other tasks keep the generator's text.
* Evaluation uses the ``train`` prompt wording (``eval.variant``), the wording SFT and RL saw. The paper's
  evaluation wording ("between the <think> and </think> tags") is reported beside it
  (``eval.compare_variant: eval`` -> ``accuracy_eval_wording``, ordered frames); it transfers only partly
  (seed 0, measured: 0.99 with the train wording, 0.635 with the eval wording).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from video_r1.inference import HFBackend, PreparedSample

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CONFIG",
    "REPORT_STAGES",
    "SHORT_THINK",
    "short_cot",
    "ShuffledFramesHFBackend",
    "evaluate_model",
    "load_recipe",
    "permute_sample_frames",
    "run_demo",
    "sample_permutation",
]

#: The recipe used when ``--config`` is not given (the repository's ``configs/demo_cpu.yaml``).
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo_cpu.yaml"
#: Stages of the report, in pipeline order.
REPORT_STAGES = ("base", "sft", "grpo")
#: The direction task's think sentence in the synthetic generator, and its ``cot_style: short`` form.
_DIRECTION_THINK = re.compile(
    r"is (?:on the|in the) (left|right|middle) in the first frame and (?:on the|in the) (left|right|middle) "
    r"in the last frame, so it moves (left|right)"
)
SHORT_THINK = "<think>First frame: {0}. Last frame: {1}. So it moves {2}.</think>"
#: Panels of curves.png (names of :data:`video_r1.plotting.PAPER_PANELS`).
RL_PANELS = ["accuracy", "temporal", "reward", "length"]

_RECIPE_KEYS = {"seed", "model", "data", "sft", "grpo", "eval", "quick"}
_DATA_KEYS = {
    "num_train",
    "num_test",
    "num_frames",
    "fps",
    "size",
    "video_tasks",
    "image_tasks",
    "image_fraction",
    "test_image_fraction",
    "noise",
    "square_min",
    "square_max",
    "min_speed",
    "qp",
    "cot_style",
}
_EVAL_KEYS = {
    "compare_variant",
    "variant",
    "max_new_tokens",
    "batch_size",
    "shuffle_seed",
    "shuffle_unit",
    "limit",
}
_COT_STYLES = ("short", "generator")

# Settings of the trainers that are plumbing, not recipe: the demo runs on CPU, in-process, logs every step
# to the trainer state (for the curves) and saves only the final model of each stage.
_TRAINER_FIXED = {
    "use_cpu": True,
    "bf16": False,
    "fp16": False,
    "report_to": "none",
    "save_strategy": "no",
    "vision_preset": "tiny",
}


# ----------------------------------------------------------------------------------------------------
# Recipe


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_recipe(path: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Read a demo recipe (YAML) and, with ``quick``, merge its ``quick`` section over it.

    Top-level keys: ``seed``, ``model`` (:class:`~video_r1.testing.tiny.TinySize` fields), ``data``
    (:func:`~video_r1.data.synthetic.make_synthetic` arguments plus ``cot_style``), ``sft``
    (:class:`~video_r1.trainers.VideoSFTConfig` fields), ``grpo`` (:class:`~video_r1.trainers.TGRPOConfig`
    fields), ``eval`` (``variant``, ``max_new_tokens``, ``batch_size``, ``shuffle_seed``, ``shuffle_unit``,
    ``limit``) and ``quick`` (overrides of any of them). Unknown keys raise ``ValueError``.
    """
    import yaml

    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"demo recipe {path} not found (pass --config PATH)")
    recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(recipe, dict):
        raise ValueError(f"{path}: a demo recipe is a YAML mapping, got {type(recipe).__name__}")
    unknown = sorted(set(recipe) - _RECIPE_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown recipe key(s) {unknown}; expected some of {sorted(_RECIPE_KEYS)}")
    quick_section = recipe.pop("quick", None) or {}
    unknown = sorted(set(quick_section) - (_RECIPE_KEYS - {"quick"}))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown} in the quick section")
    if quick:
        recipe = _deep_merge(recipe, quick_section)
    for section in ("model", "data", "sft", "grpo", "eval"):
        recipe.setdefault(section, {})
        if not isinstance(recipe[section], dict):
            raise ValueError(f"{path}: section {section!r} must be a mapping")
    for section, valid in (("data", _DATA_KEYS), ("eval", _EVAL_KEYS)):
        unknown = sorted(set(recipe[section]) - valid)
        if unknown:
            raise ValueError(f"{path}: unknown {section} key(s) {unknown}; expected some of {sorted(valid)}")
    style = recipe["data"].get("cot_style", "short")
    if style not in _COT_STYLES:
        raise ValueError(f"{path}: data.cot_style must be one of {_COT_STYLES}, got {style!r}")
    recipe.setdefault("seed", 0)
    recipe["source"] = str(path)
    return recipe


# ----------------------------------------------------------------------------------------------------
# Shuffled-frame evaluation


def sample_permutation(num_frames: int, seed: int, key: str, unit: str = "frame"):
    """The frame order used for sample ``key``: seeded by ``(seed, key)``, never the identity.

    Uses the trainer's :func:`~video_r1.trainers.tgrpo_trainer.shuffle_permutation`, so evaluation shuffles
    exactly like T-GRPO's shuffled rollouts (``unit="frame"``: single frames, as the original).
    """
    import torch

    from video_r1.trainers.tgrpo_trainer import shuffle_permutation

    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    return shuffle_permutation(num_frames, unit, generator)


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


class ShuffledFramesHFBackend(HFBackend):
    """:class:`~video_r1.inference.HFBackend` that permutes every video's frames before generation.

    ``shuffle_seed=None`` behaves exactly like ``HFBackend``. Otherwise each prepared sample goes through
    :func:`permute_sample_frames` (frames decoded by the usual path, then permuted; prompt unchanged), so
    the model sees the same frames as in the ordered evaluation, in a seeded random order.
    """

    def __init__(self, *args: Any, shuffle_seed: int | None = 0, shuffle_unit: str = "frame", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shuffle_seed = shuffle_seed
        self.shuffle_unit = shuffle_unit

    def _prepare_batch(self, requests):
        prepared = super()._prepare_batch(requests)
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
) -> dict[str, Any]:
    """Greedy accuracy of ``model`` on ``records`` (ordered or shuffled frames) with the HF backend.

    Returns ``{"accuracy", "format_rate", "n", "n_errors", "example"}``; accuracy is
    :func:`video_r1.evaluation.scoring.score` averaged over all records (a failed sample scores 0).
    The model's train/eval mode is restored afterwards.
    """
    from video_r1.data.vision import get_preset
    from video_r1.evaluation.scoring import score
    from video_r1.inference import GenerationRequest, SamplingConfig
    from video_r1.rewards import format_reward

    was_training = model.training
    backend = ShuffledFramesHFBackend(
        str(getattr(model, "name_or_path", "model")),
        model=model,
        processor=processor,
        preset=get_preset("tiny"),
        sampling=SamplingConfig(temperature=0.0, max_new_tokens=max_new_tokens),
        batch_size=batch_size,
        device="cpu",
        shuffle_seed=shuffle_seed if shuffled else None,
        shuffle_unit=shuffle_unit,
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
    }


# ----------------------------------------------------------------------------------------------------
# Pipeline


def _banner(index: int, total: int, text: str) -> None:
    print(f"\n=== [{index}/{total}] {text} ===", flush=True)


def short_cot(process: str) -> str:
    """The ``cot_style: short`` think block of a direction record (other processes are returned unchanged)."""
    match = _DIRECTION_THINK.search(process)
    return SHORT_THINK.format(*match.groups()) if match else process


def _short_cot_file(cot_path: Path, out_path: Path) -> Path:
    records = json.loads(cot_path.read_text(encoding="utf-8"))
    for record in records:
        record["process"] = short_cot(record["process"])
    out_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out_path


def _stage_eval(model, processor, records, eval_cfg: Mapping[str, Any], stage: str, progress: bool):
    common = {
        "variant": eval_cfg.get("variant", "train"),
        "max_new_tokens": int(eval_cfg.get("max_new_tokens", 48)),
        "batch_size": int(eval_cfg.get("batch_size", 50)),
        "shuffle_seed": int(eval_cfg.get("shuffle_seed", 0)),
        "shuffle_unit": eval_cfg.get("shuffle_unit", "frame"),
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
        "example_output": ordered["example"],
    }
    print(
        f"{stage}: accuracy ordered {result['accuracy']:.3f}, shuffled {result['accuracy_shuffled']:.3f} "
        f"(n={result['n']}, format {result['format_rate']:.2f})",
        flush=True,
    )
    return result


def _rl_summary(log_history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def values(key: str) -> list[float]:
        return [float(e[key]) for e in log_history if isinstance(e.get(key), int | float) and "step" in e]

    summary: dict[str, Any] = {}
    for key in (
        "rewards/accuracy_reward/mean",
        "temporal/bonus_rate",
        "temporal/ordered_accuracy",
        "temporal/shuffled_accuracy",
        "reward",
        "completions/mean_length",
    ):
        vals = values(key)
        if vals:
            half = max(1, len(vals) // 2)
            summary[key] = {
                "first_half_mean": sum(vals[:half]) / half,
                "last_half_mean": sum(vals[half:]) / max(1, len(vals) - half) if len(vals) > 1 else vals[0],
                "steps": len(vals),
            }
    return summary


def _notes(stages: Mapping[str, Mapping[str, Any]], rl: Mapping[str, Any], quick: bool) -> list[str]:
    notes = []
    if quick:
        notes.append(
            "--quick: every stage ran for a few steps only (a smoke test); accuracies are not meaningful."
        )
    sft, grpo = stages["sft"], stages["grpo"]
    n = max(1, int(grpo.get("n", 1)))
    se = math.sqrt(0.25 / n)
    delta = grpo["accuracy"] - sft["accuracy"]
    if abs(delta) <= 2 * se:
        notes.append(
            f"T-GRPO did not change held-out accuracy beyond noise at this scale: sft {sft['accuracy']:.3f} -> "
            f"grpo {grpo['accuracy']:.3f} on ordered frames (2 standard errors = {2 * se:.3f} for n={n}); "
            f"shuffled {sft['accuracy_shuffled']:.3f} -> {grpo['accuracy_shuffled']:.3f}."
        )
    elif delta > 0:
        notes.append(
            f"T-GRPO improved held-out accuracy on ordered frames: sft {sft['accuracy']:.3f} -> grpo "
            f"{grpo['accuracy']:.3f} (2 standard errors = {2 * se:.3f} for n={n})."
        )
    else:
        notes.append(
            f"T-GRPO lowered held-out accuracy on ordered frames: sft {sft['accuracy']:.3f} -> grpo "
            f"{grpo['accuracy']:.3f} (2 standard errors = {2 * se:.3f} for n={n})."
        )
    bonus = rl.get("temporal/bonus_rate")
    acc = rl.get("rewards/accuracy_reward/mean")
    if bonus and acc:
        notes.append(
            f"During RL the accuracy reward averaged {acc['first_half_mean']:.2f} over the first half of the steps "
            f"and {acc['last_half_mean']:.2f} over the second; the T-GRPO condition (ordered group accuracy >= "
            f"mu x shuffled) held for {bonus['first_half_mean']:.2f} / {bonus['last_half_mean']:.2f} of the video "
            "groups (the bonus goes to their correct completions only). A group whose completions are all "
            "correct gets equal rewards and zero advantage, so RL on a saturated SFT model can only refine it."
        )
    last = stages["grpo"]
    met = last["accuracy"] >= 0.8 and last["accuracy_shuffled"] <= 0.65
    notes.append(
        f"Frame-order criterion (ordered >= 0.80 and shuffled <= 0.65 after the last stage, chance 0.5): "
        f"{'met' if met else 'NOT met'} ({last['accuracy']:.3f} / {last['accuracy_shuffled']:.3f})."
    )
    return notes


def render_markdown(report: Mapping[str, Any]) -> str:
    """``report.md``: the accuracy table, wall time and notes of a demo report."""
    wording = next(
        (k for k in report["stages"].get("grpo", {}) if k.startswith("accuracy_") and k.endswith("_wording")),
        None,
    )
    lines = [
        "# video-r1 demo report",
        "",
        "Held-out accuracy (greedy) on the synthetic frame-order questions (two options, chance 0.5), on the "
        "ordered frames and on the same frames shuffled"
        + (" (last column: ordered frames, the paper's evaluation prompt wording)." if wording else "."),
        "",
        "| stage | accuracy (ordered) | accuracy (shuffled) | format rate | n |"
        + (" eval wording |" if wording else ""),
        "|---|---|---|---|---|" + ("---|" if wording else ""),
    ]
    for stage in REPORT_STAGES:
        s = report["stages"][stage]
        row = (
            f"| {stage} | {s['accuracy']:.3f} | {s['accuracy_shuffled']:.3f} | {s.get('format_rate', 0):.2f} "
            f"| {s.get('n', '')} |"
        )
        if wording:
            value = s.get(wording)
            row += f" {value:.3f} |" if isinstance(value, float) else " |"
        lines.append(row)
    lines += ["", f"Wall time: {report['wall_seconds']:.0f} s"]
    settings = report.get("settings") or {}
    if settings:
        lines.append(
            f"Recipe: `{settings.get('config')}` (seed {settings.get('seed')}, quick={settings.get('quick')})"
        )
    if report.get("stage_seconds"):
        timing = ", ".join(f"{k} {v:.0f} s" for k, v in report["stage_seconds"].items())
        lines.append(f"Stage times: {timing}")
    notes = report.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _trainer_kwargs(
    section: Mapping[str, Any], seed: int, output_dir: Path, progress: bool
) -> dict[str, Any]:
    kwargs = {**_TRAINER_FIXED, "seed": seed, "output_dir": str(output_dir), "disable_tqdm": not progress}
    kwargs.update(section)
    return kwargs


def run_demo(
    output_dir: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    *,
    quick: bool = False,
    seed: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the demo pipeline (see the module docstring) and return the report it writes."""
    import torch
    from transformers import AutoProcessor

    from video_r1.data.records import load_records
    from video_r1.data.synthetic import make_synthetic
    from video_r1.models.qwen2_5_vl import load_model
    from video_r1.plotting import plot_log_history
    from video_r1.testing.tiny import build_tiny_checkpoint
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer

    start = time.perf_counter()
    recipe = load_recipe(config, quick=quick)
    if seed is not None:
        recipe["seed"] = seed
    seed = int(recipe["seed"])
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    timings: dict[str, float] = {}
    total = 5

    # 1. model -------------------------------------------------------------------------------------------
    _banner(1, total, "building the offline Qwen2.5-VL checkpoint")
    t = time.perf_counter()
    init_path = build_tiny_checkpoint(out / "model_init", seed=seed, **recipe["model"])
    n_params = sum(p.numel() for p in load_model(str(init_path), dtype=torch.float32).parameters())
    print(f"{init_path}: {n_params / 1e6:.2f}M parameters", flush=True)
    timings["model"] = time.perf_counter() - t

    # 2. data --------------------------------------------------------------------------------------------
    _banner(2, total, "writing the synthetic frame-order dataset")
    t = time.perf_counter()
    data_cfg = dict(recipe["data"])
    cot_style = data_cfg.pop("cot_style", "short")
    paths = make_synthetic(out / "data", seed=seed, progress=progress, **data_cfg)
    cot_path = (
        paths["cot"]
        if cot_style == "generator"
        else _short_cot_file(paths["cot"], out / "data" / "cot_demo.json")
    )
    test_records = [dict(r) for r in load_records(paths["test"])]
    limit = recipe["eval"].get("limit")
    if limit:
        test_records = test_records[: int(limit)]
    print(
        f"train {paths['train']}, SFT {cot_path} ({cot_style} think), test {len(test_records)} records",
        flush=True,
    )
    timings["data"] = time.perf_counter() - t

    stages: dict[str, dict[str, Any]] = {}

    # 3. base evaluation ---------------------------------------------------------------------------------
    _banner(3, total, "evaluating the untrained model (base)")
    t = time.perf_counter()
    processor = AutoProcessor.from_pretrained(init_path)
    base_model = load_model(str(init_path), dtype=torch.float32)
    stages["base"] = _stage_eval(base_model, processor, test_records, recipe["eval"], "base", progress)
    del base_model
    timings["base_eval"] = time.perf_counter() - t

    # 4. SFT ---------------------------------------------------------------------------------------------
    _banner(4, total, f"SFT cold start ({recipe['sft'].get('max_steps', '?')} steps), then evaluation")
    t = time.perf_counter()
    sft_dir = out / "sft"
    sft_args = VideoSFTConfig(
        **_trainer_kwargs(recipe["sft"], seed, sft_dir, progress), model_init_kwargs={"dtype": "float32"}
    )
    sft_trainer = VideoSFTTrainer(
        model=str(init_path),
        args=sft_args,
        train_dataset=load_records(cot_path, require_process=True, seed=seed),
    )
    sft_trainer.train()
    sft_trainer.model.config.use_cache = True
    sft_trainer.save_model(str(sft_dir))
    sft_trainer.processing_class.save_pretrained(str(sft_dir))
    timings["sft"] = time.perf_counter() - t
    t = time.perf_counter()
    stages["sft"] = _stage_eval(
        sft_trainer.model, sft_trainer.processing_class, test_records, recipe["eval"], "sft", progress
    )
    sft_log = list(sft_trainer.state.log_history)
    timings["sft_eval"] = time.perf_counter() - t
    del sft_trainer

    # 5. T-GRPO ------------------------------------------------------------------------------------------
    _banner(
        5, total, f"T-GRPO from the SFT model ({recipe['grpo'].get('max_steps', '?')} steps), then evaluation"
    )
    t = time.perf_counter()
    grpo_dir = out / "grpo"
    grpo_args = TGRPOConfig(
        **_trainer_kwargs(recipe["grpo"], seed, grpo_dir, progress), model_init_kwargs={"dtype": "float32"}
    )
    grpo_trainer = TGRPOTrainer(
        model=str(sft_dir), args=grpo_args, train_dataset=load_records(paths["train"], seed=seed)
    )
    grpo_trainer.train()
    grpo_trainer.save_model(str(grpo_dir))
    grpo_trainer.processing_class.save_pretrained(str(grpo_dir))
    timings["grpo"] = time.perf_counter() - t
    t = time.perf_counter()
    stages["grpo"] = _stage_eval(
        grpo_trainer.model, grpo_trainer.processing_class, test_records, recipe["eval"], "grpo", progress
    )
    grpo_log = list(grpo_trainer.state.log_history)
    timings["grpo_eval"] = time.perf_counter() - t
    del grpo_trainer

    # report ---------------------------------------------------------------------------------------------
    plot_log_history(
        grpo_log, out / "curves.png", panels=RL_PANELS, title=f"video-r1 demo: T-GRPO (seed {seed})"
    )
    try:
        plot_log_history(
            sft_log, out / "sft_curves.png", panels=["loss"], title=f"video-r1 demo: SFT (seed {seed})"
        )
    except ValueError:  # no loss logged (e.g. zero steps)
        pass
    rl = _rl_summary(grpo_log)
    report = {
        "stages": stages,
        "wall_seconds": time.perf_counter() - start,
        "notes": _notes(stages, rl, quick),
        "stage_seconds": timings,
        "rl_summary": rl,
        "settings": {
            "config": recipe["source"],
            "quick": quick,
            "seed": seed,
            "parameters": n_params,
            "cot_style": cot_style,
            "eval_variant": recipe["eval"].get("variant", "train"),
            "chance": 0.5,
        },
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    print("\n" + render_markdown(report), flush=True)
    print(f"report: {out / 'report.json'}, {out / 'report.md'}, {out / 'curves.png'}", file=sys.stderr)
    return report
