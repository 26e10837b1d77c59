"""``results.json`` and ``results.md``: the run's numbers, paper-comparable first, official beside them.

The runner hands over the run's settings and, per benchmark and frame count, the summary it aggregated;
this module only formats them (it imports nothing from the runner).

``results.md`` sections:

1. **Paper-comparable** (the headline): benchmarks as columns in the paper's order (VSI-Bench, VideoMMMU,
   MMVU, MVBench, TempCompass, VideoMME, then custom benchmarks), one row per frame count, percent with one
   decimal; with ``--compare original`` the published Video-R1-7B row for the same frame count follows each
   of ours. A benchmark that failed (too many error samples) shows ``failed``, never a number.
2. **Official metrics**: per benchmark and frame count the number of scored and errored samples, the
   paper-comparable score and the official one with what it is; then the official breakdowns (VSI-Bench per
   category with both per-sample rules, MVBench per task, VideoMME per duration).
3. **Details**: n, scored, errors, mean_acc, mean_mra and score of the paper-comparable aggregation, notes.
4. **Failures** (if any) and **Settings**.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from video_r1.evaluation.benchmarks import BENCHMARK_NAMES, PUBLISHED, Benchmark, published_for_frames
from video_r1.resumable import atomic_write_json, atomic_write_text

__all__ = ["build_results", "format_percent", "render_markdown", "write_reports"]

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
FAILED = "failed"


def format_percent(value: float | None) -> str:
    """``0.3581`` -> ``"35.8"``; None -> ``"-"``."""
    return "-" if value is None else f"{100 * value:.1f}"


def _ordered(names: Sequence[str]) -> list[str]:
    registry = [name for name in BENCHMARK_NAMES if name in names]
    return registry + [name for name in names if name not in BENCHMARK_NAMES]


def build_results(
    settings: Mapping[str, Any],
    benches: Sequence[Benchmark],
    summaries: Mapping[str, Mapping[int, Mapping[str, Any]]],
) -> dict[str, Any]:
    """The ``results.json`` content: ``settings``, per benchmark (registry name) and frame count the
    summaries, and ``failures`` (one message per failed benchmark and frame count)."""
    benchmarks: dict[str, Any] = {}
    failures: list[str] = []
    for name in _ordered([bench.name for bench in benches]):
        bench = next(b for b in benches if b.name == name)
        frames = {str(count): dict(summary) for count, summary in summaries[name].items()}
        benchmarks[name] = {
            "display": bench.display,
            "headline": bench.headline,
            "official_metric": bench.official,
            "frames": frames,
        }
        failures += [entry["failure"] for entry in frames.values() if entry.get("failure")]
    return {"settings": dict(settings), "benchmarks": benchmarks, "failures": failures}


def _model_label(settings: Mapping[str, Any]) -> str:
    model = settings.get("model") or "model"
    return Path(model).name or str(model)


def _cell(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "-"
    if entry.get("status") == FAILED:
        return FAILED
    return format_percent(entry["score"])


def _headline_table(results: Mapping[str, Any], compare: str | None) -> list[str]:
    settings, benchmarks = results["settings"], results["benchmarks"]
    names = list(benchmarks)
    frames_list = [int(frames) for frames in settings["frames"]]
    model = _model_label(settings)
    lines = ["## Paper-comparable scores (the original eval_bench.py rules)", ""]
    header = ["Model", "Frames"] + [benchmarks[name]["display"] for name in names]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * 2 + ["---:"] * len(names)) + "|")
    published_used = []
    for frames in frames_list:
        cells = [model, str(frames)] + [_cell(benchmarks[name]["frames"].get(str(frames))) for name in names]
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
        "Scores in percent, comparable with the paper: VSI-Bench = (mean_acc + mean_mra) / 2 as reported by "
        "the Video-R1 authors (issue #121); every other benchmark = mean accuracy. VideoMME without "
        "subtitles; MMVU = its multiple-choice subset. Error samples count as 0 (as in the original); "
        f"'{FAILED}' = too many error samples, no score (see Failures)."
    )
    if compare == "original":
        if published_used:
            lines.append("")
            lines.append("Published rows (docs/original-behaviour.md §9):")
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
    return lines


def _escape(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _official_cells(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(official score cell, what it is)."""
    official = entry.get("official")
    if official is None:
        return "-", "none for this benchmark"
    if entry.get("status") == FAILED:
        return FAILED, _escape(official["aggregation"])
    if official["score"] is None:
        reason = official["notes"][0] if official["notes"] else "not computed"
        return "n/a", _escape(reason)
    what = official["aggregation"]
    if official.get("per_sample"):
        what += f"; per sample: {official['per_sample']}"
    return format_percent(official["score"]), _escape(what)


def _official_section(results: Mapping[str, Any]) -> list[str]:
    benchmarks = results["benchmarks"]
    lines = ["## Official metrics, beside the paper-comparable ones", ""]
    lines.append("| Benchmark | Frames | scored | errors | paper-comparable | official | official metric |")
    lines.append("|---|---|---:|---:|---:|---:|---|")
    breakdowns: list[str] = []
    for bench in benchmarks.values():
        for frames, entry in bench["frames"].items():
            official_cell, what = _official_cells(entry)
            lines.append(
                f"| {bench['display']} | {frames} | {entry['n_scored']} | {entry['n_errors']} | "
                f"{_cell(entry)} | {official_cell} | {what} |"
            )
            breakdowns += _breakdown(bench["display"], frames, entry.get("official"))
    lines.append("")
    lines.append(
        "Paper-comparable = the original's per-sample rules and aggregation (the headline above). Official = "
        "the benchmark's own aggregation (and, for VSI-Bench, its own per-sample rules), for comparison "
        "with numbers computed by the benchmarks' evaluation code; it is not the number the paper reports."
    )
    return lines + breakdowns


def _breakdown(display: str, frames: str, official: Mapping[str, Any] | None) -> list[str]:
    if not official or not official.get("breakdown"):
        return []
    breakdown = official["breakdown"]
    two_rules = any("mean_original_rules" in entry for entry in breakdown.values())
    kind = {
        "VSI-Bench official": "category",
        "MVBench official": "task",
        "Video-MME official": "duration",
    }.get(official["metric"], "group")
    lines = ["", f"### {display}, {frames} frames: {official['metric']} per {kind}", ""]
    if two_rules:
        lines.append(f"| {kind} | n | official rules | original rules |")
        lines.append("|---|---:|---:|---:|")
    else:
        lines.append(f"| {kind} | n | accuracy |")
        lines.append("|---|---:|---:|")

    def row(label: str, entry: Mapping[str, Any]) -> str:
        cells = [label, str(entry["n"]), format_percent(entry["mean"])]
        if two_rules:
            cells.append(format_percent(entry.get("mean_original_rules")))
        return "| " + " | ".join(cells) + " |"

    for label, entry in breakdown.items():
        lines.append(row(label, entry))
        for part, part_entry in (entry.get("parts") or {}).items():
            lines.append(row(f"&nbsp;&nbsp;{part}", part_entry))
    if kind == "category":
        lines.append("")
        lines.append(
            "object_rel_direction = mean of its easy/medium/hard means; the official score = mean of the "
            "category rows."
        )
    return lines


def _details_section(results: Mapping[str, Any]) -> list[str]:
    benchmarks = results["benchmarks"]
    lines = ["## Details (paper-comparable aggregation)", ""]
    lines.append("| Benchmark | Frames | n | scored | errors | mean_acc | mean_mra | score |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    notes: list[str] = []
    for bench in benchmarks.values():
        for frames, entry in bench["frames"].items():
            lines.append(
                f"| {bench['display']} | {frames} | {entry['n']} | {entry['n_scored']} | {entry['n_errors']} | "
                f"{format_percent(entry['mean_acc'])} | {format_percent(entry['mean_mra'])} | {_cell(entry)} |"
            )
            notes += [f"{bench['display']} {frames}f: {note}" for note in entry.get("notes", [])]
            official = entry.get("official") or {}
            notes += [f"{bench['display']} {frames}f, official: {note}" for note in official.get("notes", [])]
    if notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in notes]
    return lines


def render_markdown(results: Mapping[str, Any], compare: str | None = None) -> str:
    """The ``results.md`` text (see the module docstring)."""
    settings = results["settings"]
    frames_list = [int(frames) for frames in settings["frames"]]
    lines = [f"# Video-R1 evaluation: {_model_label(settings)}", ""]
    lines += _headline_table(results, compare)
    lines += [""] + _official_section(results)
    lines += [""] + _details_section(results)
    if results.get("failures"):
        lines += ["", "## Failures", ""]
        lines += [f"- {failure}" for failure in results["failures"]]
        lines.append(
            "- the error of each sample is in the 'error' field of its .jsonl line; fix the cause (e.g. "
            "`video-r1 eval --check`) and rerun with --retry_errors"
        )

    lines += ["", "## Settings", ""]
    for key in ("model", "backend", "dtype", "batch_size", "temperature", "top_p", "max_new_tokens", "seed"):
        lines.append(f"- {key}: {settings.get(key)}")
    lines.append(
        f"- vision: preset {settings.get('preset', 'eval')}, {'/'.join(map(str, frames_list))} frames max at 2 "
        f"fps, {_pixels(settings)}, prompt variant eval; "
        f"temporal_rope {settings.get('temporal_rope')}; video backend {settings.get('video_backend')}"
    )
    if settings.get("max_error_fraction") is not None:
        lines.append(f"- max_error_fraction: {settings['max_error_fraction']:g}")
    if settings.get("limit") is not None:
        lines.append(f"- limit: first {settings['limit']} samples per benchmark (smoke test, not comparable)")
    return "\n".join(lines) + "\n"


def _pixels(settings: dict) -> str:
    """``256*28*28 px per frame (min 128*28*28)`` from the recorded preset settings."""
    presets = list((settings.get("preset_settings") or {}).values())
    if not presets:
        return "256*28*28 px per frame (min 128*28*28)"

    def tokens(px: int) -> str:
        return f"{px // 784}*28*28" if px % 784 == 0 else str(px)

    first = presets[0]
    return f"{tokens(first['video_max_pixels'])} px per frame (min {tokens(first['video_min_pixels'])})"


def write_reports(
    results: Mapping[str, Any], output_dir: str | os.PathLike[str], compare: str | None = None
) -> str:
    """Write ``results.json`` and ``results.md`` into ``output_dir``, print the markdown and return it."""
    out = Path(output_dir)
    atomic_write_json(out / RESULTS_JSON, results)
    markdown = render_markdown(results, compare=compare)
    atomic_write_text(out / RESULTS_MD, markdown)
    print(markdown)
    return markdown
