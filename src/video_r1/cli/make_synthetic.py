"""``video-r1 make-synthetic --output_dir DIR``: write the synthetic frame-order dataset.

The dataset (see ``video_r1.data.synthetic``) is what the CPU demo trains and evaluates on: its video
questions are answerable only from frame order, so T-GRPO's ordered-vs-shuffled contrast has something to
measure. Generation needs no network and takes about a second per few hundred samples.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter


def register(subparsers: argparse._SubParsersAction) -> None:
    from video_r1.data.synthetic import IMAGE_TASKS, VIDEO_TASKS

    parser = subparsers.add_parser(
        "make-synthetic",
        help="write the synthetic frame-order video/image dataset (Video-R1 record format)",
        description=(
            "Write train.json (RL records, videos and images mixed), cot.json (the same records with a short "
            "<think> process for SFT) and test.json (held-out ids) plus videos/*.mp4 and images/*.png under "
            "OUTPUT_DIR. Video questions are two-option multiple choice answerable only from frame order "
            "(shuffled frames give chance, 0.5). The same arguments always give identical files."
        ),
    )
    parser.add_argument("--output_dir", required=True, help="directory to write the dataset to (created)")
    parser.add_argument(
        "--num_train", type=int, default=200, help="records in train.json/cot.json (default: 200)"
    )
    parser.add_argument("--num_test", type=int, default=100, help="records in test.json (default: 100)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed; same seed gives identical files (default: 0)"
    )
    parser.add_argument("--num_frames", type=int, default=8, help="frames per video (default: 8)")
    parser.add_argument(
        "--fps", type=float, default=2.0, help="video frame rate written to the mp4 (default: 2)"
    )
    parser.add_argument(
        "--size", type=int, default=56, help="video frame side in px, multiple of 28 (default: 56)"
    )
    parser.add_argument(
        "--image_size", type=int, default=None, help="image side in px, multiple of 28 (default: --size)"
    )
    parser.add_argument(
        "--video_tasks",
        nargs="*",
        choices=VIDEO_TASKS,
        default=list(VIDEO_TASKS),
        help=f"video tasks to include (default: all of {' '.join(VIDEO_TASKS)}); 'direction' is the easiest",
    )
    parser.add_argument(
        "--image_tasks",
        nargs="*",
        choices=IMAGE_TASKS,
        default=list(IMAGE_TASKS),
        help=f"image tasks to include (default: all of {' '.join(IMAGE_TASKS)})",
    )
    parser.add_argument(
        "--image_fraction",
        type=float,
        default=0.25,
        help="fraction of image records in each split (default: 0.25)",
    )
    parser.add_argument(
        "--test_image_fraction",
        type=float,
        default=None,
        help="fraction of image records in test.json (default: --image_fraction; 0 for a video-only test set)",
    )
    parser.add_argument(
        "--noise", type=float, default=4.0, help="std of the per-pixel background noise, 0..10 (default: 4)"
    )
    parser.add_argument(
        "--square_min", type=int, default=10, help="smallest moving-square side in px (default: 10)"
    )
    parser.add_argument(
        "--square_max", type=int, default=14, help="largest moving-square side in px (default: 14)"
    )
    parser.add_argument(
        "--min_speed",
        type=float,
        default=4.5,
        help="slowest motion of the direction task, px/frame (default: 4.5)",
    )
    parser.add_argument("--qp", type=int, default=12, help="H.264 constant quantiser, 0..51 (default: 12)")
    parser.add_argument("--no_progress", action="store_true", help="do not show a progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from video_r1.data.synthetic import make_synthetic

    start = time.perf_counter()
    paths = make_synthetic(
        args.output_dir,
        num_train=args.num_train,
        num_test=args.num_test,
        seed=args.seed,
        num_frames=args.num_frames,
        fps=args.fps,
        size=args.size,
        image_size=args.image_size,
        video_tasks=args.video_tasks,
        image_tasks=args.image_tasks,
        image_fraction=args.image_fraction,
        test_image_fraction=args.test_image_fraction,
        noise=args.noise,
        square_min=args.square_min,
        square_max=args.square_max,
        min_speed=args.min_speed,
        qp=args.qp,
        progress=not args.no_progress,
    )
    elapsed = time.perf_counter() - start
    print(f"synthetic dataset written to {paths['root']} in {elapsed:.1f} s")
    for name in ("train", "cot", "test"):
        records = json.loads(paths[name].read_text(encoding="utf-8"))
        counts = Counter(record["data_source"].removeprefix("synthetic/") for record in records)
        summary = ", ".join(f"{task} {count}" for task, count in sorted(counts.items()))
        print(f"  {paths[name]}: {len(records)} records ({summary})")
    return 0
