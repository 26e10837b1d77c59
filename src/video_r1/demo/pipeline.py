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
#: RL arms of the default recipe's ablation (:data:`~video_r1.demo.recipe.DEFAULT_ARMS`): ``grpo`` is
#: T-GRPO (the recipe's ``grpo`` section), ``grpo_no_temporal`` the same with ``temporal: false`` (plain
#: GRPO). A recipe's ``arms`` may name others; ``--ablation`` runs them all from one SFT checkpoint.
RL_ARMS = ("grpo_no_temporal", "grpo")
#: The arm of a single (non-ablation) run: the recipe's ``grpo`` section as it is.
SINGLE_ARM = {"grpo": {}}


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


def resolve_arms(
    recipe: Mapping[str, Any], arms: Mapping[str, Mapping[str, Any]] | Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``arms`` as name -> TGRPOConfig overrides (names looked up in the recipe's ``arms``; ``label`` keys
    dropped)."""
    if isinstance(arms, Mapping):
        chosen = {name: dict(over) for name, over in arms.items()}
    else:
        known = dict(recipe.get("arms") or {})
        known.setdefault("grpo", {})
        unknown = [name for name in arms if name not in known]
        if unknown:
            raise ValueError(f"unknown RL arm(s) {unknown}; expected some of {list(known)}")
        chosen = {name: dict(known[name] or {}) for name in arms}
    return {name: {k: v for k, v in over.items() if k != "label"} for name, over in chosen.items()}


def arm_labels(recipe: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The label of each arm: the recipe's ``arms.<name>.label``, else T-GRPO for a lone ``grpo``, else
    the name."""
    known = recipe.get("arms") or {}
    return {
        name: str((known[name] or {}).get("label") or name)
        if name in known
        else ("T-GRPO" if name == "grpo" else name)
        for name in names
    }


def arm_title(arm: str, overrides: Mapping[str, Any], recipe: Mapping[str, Any]) -> str:
    """``label (overrides)`` for banners, e.g. ``GRPO (temporal: false)``."""
    if arm == "grpo" and not overrides:
        return "T-GRPO"  # a single run, or an arm that is the recipe's grpo section as it is
    label = arm_labels(recipe, [arm])[arm]
    detail = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in overrides.items())
    return f"{label} ({detail})" if detail else label


def run_seed(
    recipe: Mapping[str, Any],
    seed: int,
    out: Path,
    *,
    arms: Mapping[str, Mapping[str, Any]] | Sequence[str] = ("grpo",),
    progress: bool = True,
    banner_prefix: str = "",
) -> dict[str, Any]:
    """The pipeline for one seed: model, data, base evaluation, SFT, evaluation, then every RL arm started
    from the same SFT checkpoint, each evaluated. Every video is decoded once (one :class:`FrameCache`).

    ``arms``: arm name -> TGRPOConfig overrides of the recipe's ``grpo`` section, or names of the recipe's
    ``arms`` (``"grpo"``, if the recipe's arms do not name it, is the ``grpo`` section as it is).

    Returns ``stages`` (per stage: accuracies, format rates, per-question ``scores``), ``logs`` (trainer log
    histories: ``sft`` and one per arm), ``seconds`` (wall and CPU per stage), ``frame_cache`` statistics,
    the model's ``parameters`` and the ``cot_style``.
    """
    import torch
    from transformers import AutoProcessor

    from video_r1.data.records import load_records
    from video_r1.demo.log import use_compact_log
    from video_r1.models.family import FAMILIES, load_model
    from video_r1.testing.tiny_families import build_tiny
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer

    arms = resolve_arms(recipe, arms)
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
    use_compact_log(sft_trainer, "sft", progress)
    sft_trainer.train()
    sft_trainer.model.config.use_cache = True
    sft_trainer.save_model(str(sft_dir))
    sft_trainer.save_state()  # trainer_state.json: what `video-r1 plot --run <out>/sft` reads
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
    for arm, overrides in arms.items():
        section = {**recipe["grpo"], **overrides}
        name = arm_title(arm, overrides, recipe)
        banner(f"{name} from the SFT model ({section.get('max_steps', '?')} steps), then evaluation")
        clock = Clock()
        rl_dir = out / arm
        rl_args = TGRPOConfig(
            **_trainer_kwargs(section, seed, rl_dir, progress), model_init_kwargs={"dtype": "float32"}
        )
        rl_trainer = TGRPOTrainer(
            model=str(sft_dir), args=rl_args, train_dataset=rl_records, media_loader=cache
        )
        use_compact_log(rl_trainer, arm, progress)
        rl_trainer.train()
        rl_trainer.save_model(str(rl_dir))
        rl_trainer.save_state()
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


def _ablation_seed(
    recipe: Mapping[str, Any],
    seed: int,
    seed_out: Path,
    arms: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, str],
    quick: bool,
    progress: bool,
    prefix: str,
    single_thread: bool,
) -> dict[str, Any]:
    """One seed of ``--ablation`` (in this process or a worker): its run, curves and report."""
    if single_thread:
        import torch

        torch.set_num_threads(1)
    seed_clock = Clock()
    run = run_seed(recipe, seed, seed_out, arms=arms, progress=progress, banner_prefix=prefix)
    plot_seed(run, seed_out, labels)
    write_report(seed_report(recipe, run, quick, seed_clock, labels), seed_out)
    return run


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
    run_arms: Sequence[str] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Run the demo (see :mod:`video_r1.demo`) and return the report it writes to ``output_dir``.

    ``config``: a recipe file, a packaged recipe's name (``"cpu"``, ``"shortcut"``), a :class:`DemoRecipe`
    (``source`` names where it came from) or ``None`` for the packaged ``demo_cpu.yaml``. Default: one seed
    (``seed``, else the recipe's), base -> SFT -> T-GRPO (the recipe's ``grpo`` section). With ``ablation``:
    for each of ``seeds`` (default: the recipe's ``ablation_seeds``) the same pipeline with every arm of the
    recipe's ``arms`` (or those named in ``run_arms``) from the same SFT checkpoint, each seed in
    ``output_dir/seed<N>/`` with its own report; the top-level report holds the ablation table, the arms'
    comparison with the first arm (paired by seed), ``stages`` averaged over the seeds and
    ``ablation_curves.png`` (the RL curves of every arm). An ``output_dir`` holding an earlier demo run is
    refused unless ``overwrite_output_dir``. ``jobs`` > 1 runs the seeds of an ablation in that many processes
    (one torch thread each); the results are the same as sequentially.
    """
    import torch

    clock = Clock()
    recipe = load_recipe(config, quick=quick, source=source)
    parsed = DemoRecipe(**{k: v for k, v in recipe.items() if k != "source"})
    arms = parsed.arm_overrides(run_arms) if ablation else dict(SINGLE_ARM)
    parsed.check_trainer_sections(list(arms) if ablation else ())
    if seed is not None:
        recipe["seed"] = seed
    threads = recipe.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    out = Path(output_dir)
    prepare_output_dir(out, overwrite_output_dir)

    if not ablation:
        run = run_seed(recipe, int(recipe["seed"]), out, arms=arms, progress=progress)
        plot_seed(run, out, {"grpo": "T-GRPO"})
        report = seed_report(recipe, run, quick, clock)
        write_report(report, out)
        print("\n" + render_markdown(report), flush=True)
        print(f"report: {out / 'report.json'}, {out / 'report.md'}, {out / 'curves.png'}", file=sys.stderr)
        return report

    seeds = [int(s) for s in (seeds if seeds is not None else recipe["ablation_seeds"])]
    if not seeds:
        raise ValueError("--ablation needs at least one seed")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    labels = arm_labels(recipe, list(arms))
    tasks = [
        (
            recipe,
            value,
            out / f"seed{value}",
            arms,
            labels,
            quick,
            progress and jobs == 1,
            f"seed {value} ({index + 1}/{len(seeds)}): ",
            jobs > 1,
        )
        for index, value in enumerate(seeds)
    ]
    if jobs == 1:
        runs = [_ablation_seed(*task) for task in tasks]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context(
            "spawn"
        )  # a clean interpreter per worker (no forked torch state)
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
            runs = list(pool.map(_ablation_seed, *zip(*tasks, strict=True)))
    report = ablation_report(recipe, runs, quick, clock, out, labels, arms)
    write_report(report, out)
    print("\n" + render_markdown(report), flush=True)
    print(
        f"report: {out / 'report.json'}, {out / 'report.md'}, {out / report['ablation']['curves']}",
        file=sys.stderr,
    )
    return report
