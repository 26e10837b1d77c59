"""``video-r1 demo``: the whole pipeline in miniature on CPU (tiny model, synthetic data, SFT, T-GRPO, eval).

See :mod:`video_r1.demo`. The recipe is the command's ``--config`` file (default: the packaged
``demo_cpu.yaml``): its top-level keys are the fields of :class:`video_r1.demo.recipe.DemoRecipe`, and flags
such as ``--seed`` override them::

    video-r1 demo --output_dir runs/demo
    video-r1 demo --output_dir runs/ablation --ablation
    video-r1 demo --output_dir runs/demo_quick --quick
    video-r1 demo --output_dir runs/shortcut --recipe shortcut --ablation   # issue 22's arms, 5 seeds
"""

from __future__ import annotations

from dataclasses import dataclass, field

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.errors import UsageError


@dataclass
class DemoArguments:
    """How ``video-r1 demo`` runs (the recipe, :class:`~video_r1.demo.recipe.DemoRecipe`, says what)."""

    output_dir: str = field(
        default="runs/demo",
        metadata={"help": "Directory for the model, data, checkpoints and report (created)."},
    )
    quick: bool = field(
        default=False,
        metadata={
            "help": "Merge the recipe's quick_overrides: every stage for a few steps (a smoke test; "
            "accuracies are not meaningful)."
        },
    )
    ablation: bool = field(
        default=False,
        metadata={
            "help": "The paper's ablation in miniature: for each of --ablation_seeds, SFT once, then every RL "
            "arm of the recipe's arms section from the same SFT checkpoint (default recipe: GRPO (temporal: "
            "false) and T-GRPO). Writes the table (base / SFT / one row per arm; ordered and shuffled accuracy "
            "and their gap, mean and spread over seeds) and the arms compared with the first one, paired by "
            "seed, to report.json/report.md and every arm's RL curves to ablation_curves.png; each seed's run "
            "goes to OUTPUT_DIR/seed<N>/."
        },
    )
    recipe: str | None = field(
        default=None,
        metadata={
            "help": "A packaged recipe by name instead of --config: cpu (demo_cpu.yaml, the default) or shortcut "
            "(demo_shortcut.yaml: the shortcut-cue task of issue 22 whose --ablation runs GRPO, T-GRPO and its "
            "variants on 5 seeds)."
        },
    )
    run_arms: list[str] | None = field(
        default=None,
        metadata={
            "help": "With --ablation: run only these of the recipe's arms (names of its arms section, run in "
            "the recipe's order; the first is the baseline). Default: every arm."
        },
    )
    jobs: int = field(
        default=1,
        metadata={
            "help": "With --ablation: seeds run in this many parallel processes, each with one torch thread "
            "(the tiny model uses one core poorly; on 2 cores, --jobs 2 or more finishes sooner). Same "
            "pipeline per seed as --jobs 1; with one thread per process the floating-point sums, and so the "
            "sampled completions, can differ from a run on more threads."
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace an earlier demo run in --output_dir (deletes what the demo wrote there). Without "
            "it such a folder is refused."
        },
    )
    no_progress: bool = field(default=False, metadata={"help": "Do not show progress bars."})


PROG = "video-r1 demo"
HELP = "run the whole pipeline in miniature on CPU: tiny model, synthetic data, SFT, T-GRPO, evaluation"
DESCRIPTION = (
    "Build a small offline Qwen2.5-VL, write the synthetic frame-order dataset, evaluate the untrained model, "
    "run the SFT cold start and T-GRPO, evaluating the held-out split after each stage on ordered and on "
    "shuffled frames. Writes report.json, report.md and curves.png (RL curves) to OUTPUT_DIR. No downloads; "
    "about 3 minutes on 2 CPU cores (--quick: under a minute; --ablation: about 12 minutes). --config is the "
    "recipe (default: the packaged demo_cpu.yaml, also at configs/demo_cpu.yaml); its keys are the settings "
    "below from --seed on, and flags override them."
)


def _recipe_type():
    from video_r1.demo.recipe import DemoRecipe

    return DemoRecipe


def build_parser():
    return _build(PROG, [DemoArguments, _recipe_type()], DESCRIPTION)


def main(argv: list[str]) -> int:
    import logging
    import os

    from video_r1.demo.recipe import DEFAULT_CONFIG, RECIPES

    argv = list(argv)
    if "--seed" in argv and "--ablation" in argv:
        raise UsageError("--ablation runs --ablation_seeds (not --seed)")
    if ("--seeds" in argv or "--ablation_seeds" in argv) and "--ablation" not in argv:
        raise UsageError("--ablation_seeds (--seeds) is for --ablation; use --seed for a single run")
    if "--jobs" in argv and "--ablation" not in argv:
        raise UsageError("--jobs runs the seeds of --ablation in parallel; a single run has one seed")
    if "--run_arms" in argv and "--ablation" not in argv:
        raise UsageError(
            "--run_arms selects arms of --ablation; a single run trains the recipe's grpo section"
        )
    source = None
    if "--help" not in argv and "-h" not in argv:
        if "--recipe" in argv:
            if "--config" in argv:
                raise UsageError("give --recipe NAME or --config FILE, not both")
            index = argv.index("--recipe")
            name = argv[index + 1] if index + 1 < len(argv) else ""
            if name not in RECIPES:
                raise UsageError(f"--recipe {name!r}: expected one of {', '.join(RECIPES)}")
            source = str(RECIPES[name])
            argv = ["--config", source, *argv]
        elif "--config" in argv:
            source = argv[argv.index("--config") + 1] if argv.index("--config") + 1 < len(argv) else None
        else:
            source = str(DEFAULT_CONFIG)
            argv = ["--config", source, *argv]
    args, recipe = parse_command(
        PROG,
        [DemoArguments, _recipe_type()],
        argv,
        description=DESCRIPTION,
        repeatable=["--ablation_seeds", "--run_arms"],
    )

    try:  # sft / grpo keys (and the arms named) are the trainers' config fields: refused before any work
        checked = recipe.with_quick() if args.quick else recipe
        arms = checked.arm_overrides(args.run_arms) if args.run_arms is not None or args.ablation else {}
        checked.check_trainer_sections(list(arms))
    except ValueError as err:
        raise UsageError(f"{source or 'the recipe'}: {err}") from None

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING)

    from video_r1.demo import run_demo

    run_demo(
        args.output_dir,
        recipe,
        quick=args.quick,
        progress=not args.no_progress,
        ablation=args.ablation,
        overwrite_output_dir=args.overwrite_output_dir,
        source=source,
        run_arms=args.run_arms,
        jobs=args.jobs,
    )
    return 0
