"""The demo's pipeline: one seed (model, data, base evaluation, SFT, RL arms, evaluations) and ``run_demo``.

See :mod:`video_r1.demo` for the stages and the recipe choices.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from video_r1.data.frame_cache import FrameCache
from video_r1.demo.evaluate import stage_eval
from video_r1.demo.recipe import DemoRecipe, load_recipe
from video_r1.demo.report import (
    Clock,
    ablation_report,
    plot_seed,
    render_markdown,
    seed_report,
    write_report,
)
from video_r1.errors import UserError

#: The direction task's think sentence in the synthetic generator, and its ``cot_style: short`` form.
_DIRECTION_THINK = re.compile(
    r"is (?:on the|in the) (left|right|middle) in the first frame and (?:on the|in the) (left|right|middle) "
    r"in the last frame, so it moves (left|right)"
)
SHORT_THINK = "<think>First frame: {0}. Last frame: {1}. So it moves {2}.</think>"
#: RL arms of :func:`run_seed`: ``grpo`` is T-GRPO (the recipe's ``grpo`` section), ``grpo_no_temporal`` the
#: same recipe with ``temporal: false`` (plain GRPO). ``--ablation`` runs both from one SFT checkpoint.
RL_ARMS = ("grpo_no_temporal", "grpo")


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


def _trainer_kwargs(
    section: Mapping[str, Any], seed: int, output_dir: Path, progress: bool
) -> dict[str, Any]:
    kwargs = {**_TRAINER_FIXED, "seed": seed, "output_dir": str(output_dir), "disable_tqdm": not progress}
    kwargs.update(section)
    return kwargs


def _write_data(recipe: Mapping[str, Any], seed: int, out: Path, progress: bool) -> dict[str, Path]:
    from video_r1.data.synthetic import make_synthetic

    data_cfg = dict(recipe["data"])
    cot_style = data_cfg.pop("cot_style", "short")
    if "background" in data_cfg:
        data_cfg["background"] = tuple(data_cfg["background"])
    paths = make_synthetic(out / "data", seed=seed, progress=progress, **data_cfg)
    if cot_style != "generator":
        paths["cot"] = _short_cot_file(paths["cot"], out / "data" / "cot_demo.json")
    return paths


def run_seed(
    recipe: Mapping[str, Any],
    seed: int,
    out: Path,
    *,
    arms: Sequence[str] = ("grpo",),
    progress: bool = True,
    banner_prefix: str = "",
) -> dict[str, Any]:
    """The pipeline for one seed: model, data, base evaluation, SFT, evaluation, then every RL arm
    (``"grpo"`` = T-GRPO, ``"grpo_no_temporal"`` = the same recipe with ``temporal: false``) started from the
    same SFT checkpoint, each evaluated. Every video is decoded once (one :class:`FrameCache` for the run).

    Returns ``stages`` (per stage: accuracies, format rates, per-question ``scores``), ``logs`` (trainer log
    histories: ``sft`` and one per arm), ``seconds`` (wall and CPU per stage), ``frame_cache`` statistics,
    the model's ``parameters`` and the ``cot_style``.
    """
    import torch
    from transformers import AutoProcessor

    from video_r1.data.records import load_records
    from video_r1.models.family import FAMILIES, load_model
    from video_r1.testing.tiny_families import build_tiny
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer

    unknown = sorted(set(arms) - set(RL_ARMS))
    if unknown:
        raise ValueError(f"unknown RL arm(s) {unknown}; expected some of {list(RL_ARMS)}")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    seconds: dict[str, dict[str, float]] = {}
    total = 4 + len(arms)
    step = iter(range(1, total + 1))

    def banner(text: str) -> None:
        _banner(next(step), total, f"{banner_prefix}{text}")

    # model + data -----------------------------------------------------------------------------------
    model_family = recipe.get("model_family", "qwen2_5_vl")
    banner(f"building the offline {FAMILIES[model_family].name} checkpoint")
    clock = Clock()
    init_path = build_tiny(model_family, out / "model_init", seed=seed, **recipe["model"])
    n_params = sum(p.numel() for p in load_model(str(init_path), dtype=torch.float32).parameters())
    print(f"{init_path}: {n_params / 1e6:.2f}M parameters", flush=True)
    seconds["model"] = clock.seconds()

    banner("writing the synthetic frame-order dataset")
    clock = Clock()
    paths = _write_data(recipe, seed, out, progress)
    test_records = [dict(r) for r in load_records(paths["test"])]
    limit = recipe["eval"].get("limit")
    if limit:
        test_records = test_records[: int(limit)]
    cot_records = load_records(paths["cot"], require_process=True, seed=seed)
    rl_records = load_records(paths["train"], seed=seed)
    print(
        f"SFT (CoT) {len(cot_records)} questions, RL {len(rl_records)} questions, held-out test "
        f"{len(test_records)} questions ({paths['root']})",
        flush=True,
    )
    seconds["data"] = clock.seconds()
    # One cache for the whole run: SFT epochs, RL steps and every evaluation reuse the decoded frames.
    cache = FrameCache()
    eval_cfg = recipe["eval"]

    stages: dict[str, dict[str, Any]] = {}
    logs: dict[str, list[dict[str, Any]]] = {}

    # base -------------------------------------------------------------------------------------------
    banner("evaluating the untrained model (base)")
    clock = Clock()
    processor = AutoProcessor.from_pretrained(init_path)
    base_model = load_model(str(init_path), dtype=torch.float32)
    stages["base"] = stage_eval(base_model, processor, test_records, eval_cfg, "base", progress, cache)
    del base_model
    seconds["base_eval"] = clock.seconds()

    # SFT --------------------------------------------------------------------------------------------
    stop_cfg = recipe.get("sft_stop") or {}
    cap = recipe["sft"].get("max_steps", "?")
    banner(
        f"SFT cold start (until {stop_cfg['target_accuracy']} on RL-split questions, at most {cap} steps), then "
        "evaluation"
        if stop_cfg
        else f"SFT cold start ({cap} steps), then evaluation"
    )
    clock = Clock()
    sft_dir = out / "sft"
    sft_args = VideoSFTConfig(
        **_trainer_kwargs(recipe["sft"], seed, sft_dir, progress), model_init_kwargs={"dtype": "float32"}
    )
    sft_trainer = VideoSFTTrainer(
        model=str(init_path), args=sft_args, train_dataset=cot_records, media_loader=cache
    )
    stopper = None
    if stop_cfg:
        from video_r1.demo.sft_stop import SFTTargetStop

        questions = int(stop_cfg.get("questions", 100))
        stopper = SFTTargetStop(
            [dict(r) for r in rl_records.select(range(min(questions, len(rl_records))))],
            sft_trainer.processing_class,
            target_accuracy=float(stop_cfg["target_accuracy"]),
            every=int(stop_cfg.get("every", 10)),
            min_steps=int(stop_cfg.get("min_steps", 0)),
            max_new_tokens=int(stop_cfg.get("max_new_tokens", eval_cfg.get("max_new_tokens", 32))),
            variant=eval_cfg.get("variant", "train"),
            frame_cache=cache,
        )
        sft_trainer.add_callback(stopper)
    sft_trainer.train()
    sft_trainer.model.config.use_cache = True
    sft_trainer.save_model(str(sft_dir))
    sft_trainer.processing_class.save_pretrained(str(sft_dir))
    seconds["sft"] = clock.seconds()
    clock = Clock()
    stages["sft"] = stage_eval(
        sft_trainer.model, sft_trainer.processing_class, test_records, eval_cfg, "sft", progress, cache
    )
    logs["sft"] = list(sft_trainer.state.log_history)
    sft_steps = int(sft_trainer.state.global_step)
    seconds["sft_eval"] = clock.seconds()
    del sft_trainer

    # RL arms from the same SFT checkpoint -----------------------------------------------------------
    for arm in arms:
        temporal = arm == "grpo"
        name = "T-GRPO" if temporal else "GRPO (temporal: false)"
        banner(f"{name} from the SFT model ({recipe['grpo'].get('max_steps', '?')} steps), then evaluation")
        clock = Clock()
        rl_dir = out / arm
        rl_args = TGRPOConfig(
            **_trainer_kwargs({**recipe["grpo"], "temporal": temporal}, seed, rl_dir, progress),
            model_init_kwargs={"dtype": "float32"},
        )
        rl_trainer = TGRPOTrainer(
            model=str(sft_dir), args=rl_args, train_dataset=rl_records, media_loader=cache
        )
        rl_trainer.train()
        rl_trainer.save_model(str(rl_dir))
        rl_trainer.processing_class.save_pretrained(str(rl_dir))
        seconds[arm] = clock.seconds()
        clock = Clock()
        stages[arm] = stage_eval(
            rl_trainer.model, rl_trainer.processing_class, test_records, eval_cfg, arm, progress, cache
        )
        logs[arm] = list(rl_trainer.state.log_history)
        seconds[f"{arm}_eval"] = clock.seconds()
        del rl_trainer

    return {
        "seed": seed,
        "stages": stages,
        "logs": logs,
        "seconds": seconds,
        "frame_cache": cache.stats(),
        "parameters": n_params,
        "cot_style": recipe["data"].get("cot_style", "short"),
        "sft_steps": sft_steps,
        "sft_stop": stopper.summary(sft_steps) if stopper is not None else None,
    }


#: What a demo run writes into its output directory (what ``overwrite_output_dir`` deletes, nothing else).
_OUTPUTS = ("model_init", "data", "sft", *RL_ARMS, "report.json", "report.md", "ablation_curves.png")
_OUTPUT_PATTERNS = ("seed*", "curves*.png", "sft_curves.png")


def previous_outputs(out: Path) -> list[Path]:
    """The entries of ``out`` a previous demo run wrote."""
    if not out.is_dir():
        return []
    found = {out / name for name in _OUTPUTS if (out / name).exists()}
    for pattern in _OUTPUT_PATTERNS:
        found.update(out.glob(pattern))
    return sorted(found)


def prepare_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse an output directory holding a previous demo run, or (``overwrite``) delete that run's entries."""
    previous = previous_outputs(out)
    if previous and not overwrite:
        names = ", ".join(p.name for p in previous[:6]) + (", ..." if len(previous) > 6 else "")
        raise UserError(
            f"{out} already holds a demo run ({names}); pass --overwrite_output_dir true to replace it, or "
            "choose another --output_dir"
        )
    for path in previous:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def run_demo(
    output_dir: str | Path,
    config: str | Path | DemoRecipe | None = None,
    *,
    quick: bool = False,
    seed: int | None = None,
    progress: bool = True,
    ablation: bool = False,
    seeds: Sequence[int] | None = None,
    overwrite_output_dir: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """Run the demo (see :mod:`video_r1.demo`) and return the report it writes to ``output_dir``.

    ``config``: a recipe file, a :class:`DemoRecipe` (``source`` names where it came from) or ``None`` for
    the packaged ``demo_cpu.yaml``. Default: one seed (``seed``, else the recipe's), base -> SFT -> T-GRPO.
    With ``ablation``: for each of ``seeds`` (default: the recipe's ``ablation_seeds``) the same pipeline
    plus a GRPO arm (``temporal: false``) from the same SFT checkpoint, each seed in ``output_dir/seed<N>/``
    with its own report; the top-level report holds the ablation table, ``stages`` averaged over the seeds
    and ``ablation_curves.png`` (the RL curves of both arms). An ``output_dir`` holding an earlier demo run
    is refused unless ``overwrite_output_dir``.
    """
    import torch

    clock = Clock()
    recipe = load_recipe(config, quick=quick, source=source)
    DemoRecipe(**{k: v for k, v in recipe.items() if k != "source"}).check_trainer_sections()
    if seed is not None:
        recipe["seed"] = seed
    threads = recipe.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    out = Path(output_dir)
    prepare_output_dir(out, overwrite_output_dir)

    if not ablation:
        run = run_seed(recipe, int(recipe["seed"]), out, arms=("grpo",), progress=progress)
        plot_seed(run, out, ("grpo",))
        report = seed_report(recipe, run, quick, clock)
        write_report(report, out)
        print("\n" + render_markdown(report), flush=True)
        print(f"report: {out / 'report.json'}, {out / 'report.md'}, {out / 'curves.png'}", file=sys.stderr)
        return report

    seeds = [int(s) for s in (seeds if seeds is not None else recipe["ablation_seeds"])]
    if not seeds:
        raise ValueError("--ablation needs at least one seed")
    runs = []
    for index, value in enumerate(seeds):
        seed_clock = Clock()
        seed_out = out / f"seed{value}"
        prefix = f"seed {value} ({index + 1}/{len(seeds)}): "
        run = run_seed(recipe, value, seed_out, arms=RL_ARMS, progress=progress, banner_prefix=prefix)
        plot_seed(run, seed_out, RL_ARMS)
        write_report(seed_report(recipe, run, quick, seed_clock), seed_out)
        runs.append(run)
    report = ablation_report(recipe, runs, quick, clock, out)
    write_report(report, out)
    print("\n" + render_markdown(report), flush=True)
    print(
        f"report: {out / 'report.json'}, {out / 'report.md'}, {out / report['ablation']['curves']}",
        file=sys.stderr,
    )
    return report
