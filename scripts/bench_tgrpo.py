"""T-GRPO performance, measured side by side in one run on CPU: vision reuse, T-GRPO vs GRPO, data wait, memory.

    .venv/bin/python scripts/bench_tgrpo.py [--repeats 5] [--steps 4] [--generations 8] [--synthetic]
    .venv/bin/python scripts/bench_tgrpo.py --smoke    # every part at toy sizes in seconds (scripts/test.sh)

The model is the tiny offline Qwen2.5-VL with a vision-heavy size override (vision tower 128 wide, 4 deep);
the video is ../shared/media/video1.mp4 (22 s, 640x360) under the ``train`` vision preset (16 frames at
~100k px, ~1k video tokens, the paper's training setting) when it exists, else a synthetic clip. Measurements:

(a) ``logprob_*``: one log-prob pass (what TRL runs for the policy, old policy and reference) over 2 prompts
    x G completions, with ``reuse_vision_features`` on and off: media encoded by the vision tower per pass
    and the median pass time. Target: media per pass = distinct media (not x G), time ratio <= 0.5.
(b) ``step_*``: training-step time of T-GRPO and plain GRPO on the same data, model and seed (TRL's own
    ``step_time``, first step dropped), and the share of the GRPO step spent generating. With G/2 shuffled
    completions per video prompt the ratio's floor is 1 + 0.5 x generation share; target within 5% of it.
(c) ``data_wait_*``: fraction of training wall time spent waiting for the next batch (decoding happens in
    DataLoader workers) with 0 and 2 workers. Target with 2 workers: <= 5%.
(d) ``peak_rss_*``: peak resident memory of a fresh process running T-GRPO steps, reuse on and off.

Runs alternate between the compared settings so machine noise hits both alike; values are medians over
``--repeats``. Prints one JSON line per measurement (``{"bench": ..., "value": ..., "unit": ...}``) and a
table at the end.

``--smoke`` runs every part once at toy sizes (the default tiny model, a small synthetic clip built here, the
``tiny`` preset, G=2, 2 steps, 8 new tokens) so that CI notices when a change breaks the benchmark; it checks
that every measurement was taken and that vision reuse encodes each distinct video once (never a timing),
and its figures mean nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEO = REPO.parent / "shared" / "media" / "video1.mp4"
VISION_HEAVY = dict(vision_hidden_size=128, vision_depth=4, vision_num_heads=4, vision_intermediate_size=512)


def emit(name: str, value: float, unit: str, results: dict) -> None:
    results[name] = (value, unit)
    print(json.dumps({"bench": name, "value": round(value, 4), "unit": unit}), flush=True)


def prepare(tmp: Path, synthetic: bool, smoke: bool = False) -> tuple[Path, Path, str, str]:
    """(checkpoint, records JSON, preset, description of the video)."""
    from video_r1.data.synthetic import make_synthetic
    from video_r1.testing.tiny import build_tiny_checkpoint

    if smoke:
        ckpt = Path(build_tiny_checkpoint(tmp / "tiny"))
        paths = make_synthetic(
            tmp / "data", num_train=8, num_test=2, seed=0, image_fraction=0.0, progress=False
        )
        return ckpt, Path(paths["train"]), "tiny", "synthetic 8-frame 56x56 clips (smoke: toy sizes)"
    ckpt = Path(build_tiny_checkpoint(tmp / "tiny", **VISION_HEAVY))
    if synthetic or not SHARED_VIDEO.is_file():
        paths = make_synthetic(
            tmp / "data", num_train=32, num_test=2, seed=0, image_fraction=0.0, size=224, progress=False
        )
        return ckpt, Path(paths["train"]), "train", "synthetic 8-frame 224x224 clips"
    records = [
        {
            "problem_id": i,
            "problem": f"Question {i}: what happens first in the video?",
            "data_type": "video",
            "problem_type": "multiple choice",
            "options": ["A. left", "B. right"],
            "solution": f"<answer>{'AB'[i % 2]}</answer>",
            "path": str(SHARED_VIDEO),
            "data_source": "bench",
        }
        for i in range(32)
    ]
    data = tmp / "video1.json"
    data.write_text(json.dumps(records))
    return ckpt, data, "train", "../shared/media/video1.mp4 (16 frames, train preset)"


#: New tokens per completion (``--completion_length``; the smoke uses fewer).
COMPLETION = 32


def make_trainer(ckpt, dataset, out, generations, preset, **overrides):
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoGRPOTrainer

    values = dict(
        output_dir=str(out),
        per_device_train_batch_size=2 * generations,
        num_generations=generations,
        max_completion_length=COMPLETION,
        max_steps=4,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        vision_preset=preset,
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        seed=0,
        disable_tqdm=True,
        dataloader_num_workers=2,
    )
    values.update(overrides)
    trainer_class = TGRPOTrainer if values.get("temporal", True) else VideoGRPOTrainer  # as `video-r1 grpo`
    return trainer_class(model=str(ckpt), args=TGRPOConfig(**values), train_dataset=dataset)


# ---------------------------------------------------------------------------------------------- (a)
def logprob_batch(trainer, generations):
    import torch

    rows = [trainer.train_dataset[0]] * generations + [trainer.train_dataset[1]] * generations
    rollout = trainer._prepare_rollout(rows)
    completions = torch.randint(100, 300, (len(rows), COMPLETION), generator=torch.Generator().manual_seed(0))
    width = max(len(ids) for ids in rollout.prompt_ids)
    prompt = torch.full((len(rows), width), trainer.processing_class.tokenizer.pad_token_id)
    mask = torch.zeros((len(rows), width + COMPLETION), dtype=torch.long)
    for i, ids in enumerate(rollout.prompt_ids):
        prompt[i, width - len(ids) :] = torch.tensor(ids)
        mask[i, width - len(ids) :] = 1
    return torch.cat([prompt, completions], dim=1), mask, rollout.vision


def bench_logprob(ckpt, dataset, tmp, generations, preset, repeats, results):
    import torch

    trainer = make_trainer(ckpt, dataset, tmp / "lp", generations, preset)
    ids, mask, vision = logprob_batch(trainer, generations)
    encoded: list[int] = []
    trainer.model.model.visual.register_forward_hook(
        lambda m, a, kw, out: encoded.append(int(kw["grid_thw"].shape[0])), with_kwargs=True
    )
    times = {True: [], False: []}
    media = {}
    for rep in range(repeats + 1):
        for reuse in (True, False):
            trainer.args.reuse_vision_features = reuse
            encoded.clear()
            start = time.perf_counter()
            with torch.no_grad(), trainer._vision_rows(vision):
                trainer._get_per_token_logps_and_entropies(
                    trainer.model, ids, mask, COMPLETION, batch_size=generations
                )
            if rep:  # the first round is warm-up
                times[reuse].append(time.perf_counter() - start)
            media[reuse] = sum(encoded)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    emit("logprob_media_encoded_reuse", media[True], "media/pass", results)
    emit("logprob_media_encoded_repeat", media[False], "media/pass", results)
    emit("logprob_pass_time_reuse", on, "s", results)
    emit("logprob_pass_time_repeat", off, "s", results)
    emit("logprob_pass_time_ratio", on / off, "ratio", results)


# ---------------------------------------------------------------------------------------------- (b), (c)
def timed_run(ckpt, dataset, out, generations, preset, steps, **overrides):
    """(step times after warm-up, generation seconds per step, data-wait fraction of the run)."""
    trainer = make_trainer(ckpt, dataset, out, generations, preset, max_steps=steps, **overrides)
    generation, waits = [], []
    real_generate, real_fetch = trainer._generate_single_turn, trainer.get_batch_samples

    def generate(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_generate(*args, **kwargs)
        finally:
            generation.append(time.perf_counter() - start)

    def fetch(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_fetch(*args, **kwargs)
        finally:
            waits.append(time.perf_counter() - start)

    trainer._generate_single_turn, trainer.get_batch_samples = generate, fetch
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    step_times = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
    # first step and first fetch are warm-up (worker start, first decode)
    return step_times[1:], generation[1:], sum(waits[1:]) / max(wall - waits[0], 1e-9)


def bench_steps(ckpt, dataset, tmp, generations, preset, steps, repeats, results):
    times = {"grpo": [], "tgrpo": []}
    gen_share = []
    for rep in range(repeats):
        for mode in ("grpo", "tgrpo"):
            step, gen, _ = timed_run(
                ckpt, dataset, tmp / f"{mode}{rep}", generations, preset, steps, temporal=mode == "tgrpo"
            )
            times[mode] += step
            if mode == "grpo":
                gen_share += [g / s for g, s in zip(gen, step)]
    grpo, tgrpo, share = (statistics.median(v) for v in (times["grpo"], times["tgrpo"], gen_share))
    emit("step_time_grpo", grpo, "s", results)
    emit("step_time_tgrpo", tgrpo, "s", results)
    emit("step_time_ratio_tgrpo_over_grpo", tgrpo / grpo, "ratio", results)
    emit("generation_share_grpo", share, "fraction", results)
    emit("step_time_ratio_floor", 1 + 0.5 * share, "ratio", results)


def bench_data_wait(ckpt, dataset, tmp, generations, preset, steps, repeats, results):
    fractions = {0: [], 2: []}
    for rep in range(repeats):
        for workers in (0, 2):
            _, _, wait = timed_run(
                ckpt,
                dataset,
                tmp / f"w{workers}_{rep}",
                generations,
                preset,
                steps,
                dataloader_num_workers=workers,
            )
            fractions[workers].append(wait)
    emit("data_wait_fraction_0_workers", statistics.median(fractions[0]), "fraction", results)
    emit("data_wait_fraction_2_workers", statistics.median(fractions[2]), "fraction", results)


# ---------------------------------------------------------------------------------------------- (d)
def child_rss(args) -> None:
    """Run in a fresh process: T-GRPO steps, then print the peak RSS in MiB."""
    from video_r1.data.records import load_records

    dataset = load_records(args.child_data)
    trainer = make_trainer(
        args.child_ckpt,
        dataset,
        Path(args.child_data).parent / f"rss_{args.child_reuse}",
        args.generations,
        args.child_preset,
        max_steps=2,
        reuse_vision_features=args.child_reuse == "on",
        dataloader_num_workers=0,
    )
    trainer.train()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bench_rss(ckpt, data, preset, generations, results, parallel=False):
    """One fresh process per setting. ``parallel`` (the smoke, ~1 GiB each) starts both at once to save time;
    full runs go one by one: two multi-GiB children at once can run a shared machine out of memory (an OOM
    kill of the reuse-off child was seen with two benches running)."""

    def start(reuse):
        return subprocess.Popen(
            [sys.executable, __file__, "--child-rss", "--child-reuse", reuse, "--child-ckpt", str(ckpt)]
            + ["--child-data", str(data), "--child-preset", preset, "--generations", str(generations)]
            + ["--completion_length", str(COMPLETION)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        )

    def finish(reuse, child):
        out, err = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(
                f"peak-RSS child (reuse {reuse}) failed with exit {child.returncode}:\n{err[-3000:]}"
            )
        emit(f"peak_rss_reuse_{reuse}", float(out.strip().splitlines()[-1]), "MiB", results)

    if parallel:
        children = {reuse: start(reuse) for reuse in ("on", "off")}
        for reuse, child in children.items():
            finish(reuse, child)
    else:
        for reuse in ("on", "off"):
            finish(reuse, start(reuse))


def main() -> None:
    global COMPLETION
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="alternating runs per compared setting (default 5)"
    )
    parser.add_argument(
        "--steps", type=int, default=4, help="training steps per run, first is warm-up (default 4)"
    )
    parser.add_argument("--generations", type=int, default=8, help="G; T-GRPO adds G/2 shuffled (default 8)")
    parser.add_argument(
        "--synthetic", action="store_true", help="use a synthetic clip even if video1.mp4 exists"
    )
    parser.add_argument(
        "--only", default="logprob,steps,data,rss", help="comma list of parts to run (default: all four)"
    )
    parser.add_argument(
        "--completion_length",
        type=int,
        default=COMPLETION,
        help=f"new tokens per completion (default {COMPLETION})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every part once at toy sizes, in seconds, checking that it runs (CI); the figures mean nothing",
    )
    parser.add_argument("--child-rss", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-reuse", help=argparse.SUPPRESS)
    parser.add_argument("--child-ckpt", help=argparse.SUPPRESS)
    parser.add_argument("--child-data", help=argparse.SUPPRESS)
    parser.add_argument("--child-preset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    COMPLETION = args.completion_length
    if args.smoke:
        args.repeats, args.steps, args.generations, COMPLETION = 1, 2, 2, 8
        # toy tensors gain nothing from a second thread; on a busy CI machine it only spins
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    logging.disable(logging.WARNING)
    if args.child_rss:
        with contextlib.redirect_stdout(sys.stderr):
            import video_r1.trainers  # noqa: F401  (import noise goes to stderr)
        child_rss(args)
        return

    from video_r1.data.records import load_records

    parts = set(args.only.split(","))
    results: dict[str, tuple[float, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt, data, preset, what = prepare(tmp, args.synthetic, args.smoke)
        print(f"# tiny Qwen2.5-VL {VISION_HEAVY}, G={args.generations}, video: {what}", flush=True)
        dataset = load_records(data)
        if "logprob" in parts:
            bench_logprob(ckpt, dataset, tmp, args.generations, preset, args.repeats, results)
        if "steps" in parts:
            bench_steps(ckpt, dataset, tmp, args.generations, preset, args.steps, args.repeats, results)
        if "data" in parts:
            data_repeats = 1 if args.smoke else max(2, args.repeats // 2)
            bench_data_wait(ckpt, dataset, tmp, args.generations, preset, args.steps, data_repeats, results)
        if "rss" in parts:
            bench_rss(ckpt, data, preset, args.generations, results, parallel=args.smoke)

    def val(name, fmt="{:.3f}"):
        return fmt.format(results[name][0]) if name in results else "-"

    print("\n| measurement | target | measured |\n|---|---|---|")
    print(
        f"| media encoded per log-prob pass, reuse / repeat | distinct media (2) | "
        f"{val('logprob_media_encoded_reuse', '{:.0f}')} / {val('logprob_media_encoded_repeat', '{:.0f}')} |"
    )
    print(
        f"| log-prob pass time, reuse / repeat | ratio <= 0.5 | {val('logprob_pass_time_reuse')} s / "
        f"{val('logprob_pass_time_repeat')} s = {val('logprob_pass_time_ratio', '{:.2f}')}x |"
    )
    print(
        f"| T-GRPO / GRPO step time | within 5% of 1 + 0.5 x gen. share = {val('step_time_ratio_floor', '{:.2f}')} | "
        f"{val('step_time_tgrpo')} s / {val('step_time_grpo')} s = {val('step_time_ratio_tgrpo_over_grpo', '{:.2f}')}x "
        f"(gen. share {val('generation_share_grpo', '{:.2f}')}) |"
    )
    print(
        f"| data wait, 0 / 2 workers | <= 5% with 2 | {val('data_wait_fraction_0_workers', '{:.1%}')} / "
        f"{val('data_wait_fraction_2_workers', '{:.1%}')} |"
    )
    print(
        f"| peak RSS, reuse on / off | report | {val('peak_rss_reuse_on', '{:.0f}')} MiB / "
        f"{val('peak_rss_reuse_off', '{:.0f}')} MiB |"
    )
    if args.smoke:
        smoke_check(results, parts)


#: What each part must measure (the smoke checks that every one was taken).
PART_RESULTS = {
    "logprob": ("logprob_media_encoded_reuse", "logprob_media_encoded_repeat", "logprob_pass_time_ratio"),
    "steps": ("step_time_grpo", "step_time_tgrpo", "step_time_ratio_floor"),
    "data": ("data_wait_fraction_0_workers", "data_wait_fraction_2_workers"),
    "rss": ("peak_rss_reuse_on", "peak_rss_reuse_off"),
}


def smoke_check(results: dict, parts: set[str]) -> None:
    """Fail (exit 1) when a part measured nothing or vision reuse stopped sharing the encodes; no timings."""
    problems = [
        f"{name} was not measured"
        for part in sorted(parts)
        for name in PART_RESULTS.get(part, ())
        if name not in results or not results[name][0] == results[name][0]  # missing or NaN
    ]
    if "logprob" in parts and not problems:
        reuse, repeat = results["logprob_media_encoded_reuse"][0], results["logprob_media_encoded_repeat"][0]
        if not reuse < repeat:
            problems.append(f"vision reuse encoded {reuse:.0f} media per pass, repeat {repeat:.0f}: no reuse")
    if problems:
        sys.exit("bench_tgrpo.py --smoke: FAILED: " + "; ".join(problems))
    print("bench_tgrpo.py --smoke: ok (every part ran; the figures of a smoke run mean nothing)")


if __name__ == "__main__":
    main()
