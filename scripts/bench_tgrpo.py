"""Step time of T-GRPO against plain GRPO on the same tiny batch, measured side by side in one run.

    .venv/bin/python scripts/bench_tgrpo.py [--steps 8] [--repeats 3]

Both trainers see the same data (video prompts from the synthetic dataset), the same model and seed; runs
alternate (GRPO, T-GRPO, GRPO, ...) so machine noise hits both alike. Step time is TRL's own ``step_time``
metric; the first step of every run is dropped as warm-up. Prints one JSON line per measurement
(``{"bench": ..., "value": ..., "unit": ...}``) and a table. The floor of the ratio is about
1 + (shuffled / ordered generations) x (generation share of the step) = 1 + 0.5 x share with G/2 shuffled.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path


def run_once(ckpt, dataset, out, temporal, steps, generations):
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer

    args = TGRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=2 * generations,
        num_generations=generations,
        max_completion_length=32,
        max_steps=steps,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        vision_preset="tiny",
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        seed=0,
        temporal=temporal,
        disable_tqdm=True,
    )
    trainer = TGRPOTrainer(model=str(ckpt), args=args, train_dataset=dataset)
    trainer.train()
    times = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=8, help="training steps per run (first one is warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per mode, alternating")
    parser.add_argument("--generations", type=int, default=8, help="num_generations (G); G/2 shuffled")
    args = parser.parse_args()

    from video_r1.data.records import load_records
    from video_r1.data.synthetic import make_synthetic
    from video_r1.testing.tiny import build_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = build_tiny_checkpoint(tmp / "tiny")
        paths = make_synthetic(
            tmp / "data", num_train=64, num_test=2, seed=0, image_fraction=0.0, progress=False
        )
        dataset = load_records(paths["train"])
        times = {"grpo": [], "tgrpo": []}
        for r in range(args.repeats):
            for mode in ("grpo", "tgrpo"):
                times[mode] += run_once(
                    ckpt, dataset, tmp / f"{mode}{r}", mode == "tgrpo", args.steps, args.generations
                )
    grpo, tgrpo = statistics.median(times["grpo"]), statistics.median(times["tgrpo"])
    rows = [
        ("grpo_step_time", grpo, "s"),
        ("tgrpo_step_time", tgrpo, "s"),
        ("tgrpo_over_grpo_step_time", tgrpo / grpo, "ratio"),
    ]
    for name, value, unit in rows:
        print(json.dumps({"bench": name, "value": round(value, 4), "unit": unit}))
    print("\n| measurement | value |\n|---|---|")
    print(f"| GRPO step (median of {len(times['grpo'])}) | {grpo:.3f} s |")
    print(f"| T-GRPO step (median of {len(times['tgrpo'])}) | {tgrpo:.3f} s |")
    print(f"| T-GRPO / GRPO | {tgrpo / grpo:.2f}x |")


if __name__ == "__main__":
    main()
