"""``results.json`` and ``results.md``: the run's numbers in the paper's layout.

``results.md`` has one table with the benchmarks as columns (paper order: VSI-Bench, VideoMMMU, MMVU,
MVBench, TempCompass, VideoMME, then custom benchmarks) and one row per frame count, scores in percent with
one decimal; with ``--compare original`` the published Video-R1-7B row for the same frame count follows each
of ours. A second table lists, per benchmark and frame count, n, errors, mean_acc, mean_mra, the headline
score and (VSI-Bench) the official per-task average.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from video_r1.evaluation.benchmarks import BENCHMARK_NAMES, PUBLISHED, Benchmark, published_for_frames

__all__ = ["build_results", "format_percent", "render_markdown", "write_reports"]

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"


def format_percent(value: float | None) -> str:
    """``0.3581`` -> ``"35.8"``; None -> ``"-"``."""
    return "-" if value is None else f"{100 * value:.1f}"


def _ordered(names: Sequence[str]) -> list[str]:
    registry = [name for name in BENCHMARK_NAMES if name in names]
    return registry + [name for name in names if name not in BENCHMARK_NAMES]


def build_results(
    config: Any, benches: Sequence[Benchmark], summaries: Mapping[str, Mapping[int, Mapping[str, Any]]]
) -> dict[str, Any]:
    """The ``results.json`` content: settings, then per benchmark (display name) and frame count the aggregates."""
    from video_r1.evaluation.runner import run_settings

    settings = run_settings(config)
    settings.update(
        frames=list(config.max_frames),
        preset="eval",
        preset_settings={str(frames): run_settings(config, frames)["preset"] for frames in config.max_frames},
        limit=config.limit,
        eval_dir=None if config.eval_dir is None else str(Path(config.eval_dir).resolve()),
    )
    benchmarks: dict[str, Any] = {}
    for name in _ordered([bench.name for bench in benches]):
        bench = next(b for b in benches if b.name == name)
        benchmarks[name] = {
            "display": bench.display,
            "headline": bench.headline,
            "frames": {str(frames): dict(summary) for frames, summary in summaries[name].items()},
        }
    return {"settings": settings, "benchmarks": benchmarks}


def _model_label(settings: Mapping[str, Any]) -> str:
    model = settings.get("model") or "model"
    return Path(model).name or str(model)


def render_markdown(results: Mapping[str, Any], compare: str | None = None) -> str:
    """The ``results.md`` text (see the module docstring)."""
    settings = results["settings"]
    benchmarks = results["benchmarks"]
    names = list(benchmarks)
    frames_list = [int(frames) for frames in settings["frames"]]
    model = _model_label(settings)
    lines = [f"# Video-R1 evaluation: {model}", ""]

    header = ["Model", "Frames"] + [benchmarks[name]["display"] for name in names]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * len(names)) + "|")
    published_used = []
    for frames in frames_list:
        cells = [model, str(frames)]
        for name in names:
            entry = benchmarks[name]["frames"].get(str(frames))
            cells.append(format_percent(entry["score"]) if entry else "-")
        lines.append("| " + " | ".join(cells) + " |")
        if compare == "original":
            row = published_for_frames(frames)
            if row is not None and any(name in row.scores for name in names):
                published_used.append(row)
                cells = ["Video-R1-7B (published)", str(frames)]
                cells += [f"{row.scores[name]:.1f}" if name in row.scores else "-" for name in names]
                lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Scores in percent. VSI-Bench = (mean_acc + mean_mra) / 2 as reported by the Video-R1 authors "
        "(issue #121); every other benchmark = mean accuracy. VideoMME without subtitles; MMVU = its "
        "multiple-choice subset."
    )
    if compare == "original":
        if published_used:
            lines.append("")
            lines.append("Published rows (reference notes, section 9):")
            for row in published_used:
                lines.append(f"- {row.label}: {row.source}")
        missing = [frames for frames in frames_list if published_for_frames(frames) is None]
        if not any(name in BENCHMARK_NAMES for name in names):
            lines.append("")
            lines.append("No published numbers for these benchmarks (only the six of the paper have them).")
        elif missing:
            lines.append("")
            published_frames = sorted({row.frames for row in PUBLISHED if row.frames is not None})
            lines.append(
                f"No published row for {', '.join(map(str, missing))} frames (published: "
                f"{', '.join(map(str, published_frames))})."
            )

    lines += ["", "## Details", ""]
    lines.append("| Benchmark | Frames | n | errors | mean_acc | mean_mra | score | VSI-Bench official |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    notes: list[str] = []
    for name in names:
        for frames, entry in benchmarks[name]["frames"].items():
            official = format_percent(entry.get("vsibench_official")) if "vsibench_official" in entry else ""
            lines.append(
                f"| {benchmarks[name]['display']} | {frames} | {entry['n']} | {entry['n_errors']} | "
                f"{format_percent(entry['mean_acc'])} | {format_percent(entry['mean_mra'])} | "
                f"{format_percent(entry['score'])} | {official} |"
            )
            notes += [f"{benchmarks[name]['display']} {frames}f: {note}" for note in entry.get("notes", [])]
    if notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in notes]

    lines += ["", "## Settings", ""]
    for key in ("model", "backend", "dtype", "batch_size", "temperature", "top_p", "max_new_tokens", "seed"):
        lines.append(f"- {key}: {settings.get(key)}")
    lines.append(
        f"- vision: preset eval, {'/'.join(map(str, frames_list))} frames max at 2 fps, "
        "256*28*28 px per frame (min 128*28*28), prompt variant eval; "
        f"temporal_rope {settings.get('temporal_rope')}; video backend {settings.get('video_backend')}"
    )
    if settings.get("limit") is not None:
        lines.append(f"- limit: first {settings['limit']} samples per benchmark (smoke test, not comparable)")
    return "\n".join(lines) + "\n"


def write_reports(
    results: Mapping[str, Any], output_dir: str | os.PathLike[str], compare: str | None = None
) -> str:
    """Write ``results.json`` and ``results.md`` into ``output_dir``, print the markdown and return it."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_JSON).write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    markdown = render_markdown(results, compare=compare)
    (out / RESULTS_MD).write_text(markdown, encoding="utf-8")
    print(markdown)
    return markdown
