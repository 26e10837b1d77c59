"""Bad input of every kind through the real ``video-r1`` entry point: one clear line, the right exit code,
nothing lost, duplicated or silently replaced.

Each case builds its inputs in a fresh folder, runs ``video_r1.cli.main.main(argv)`` in-process and checks:
exit code 2 for a usage error (a flag, a value, the --config file) or 1 for a data / path / run error; the
last line on stderr is ``video-r1 <cmd>: error: ...`` and names the file, record or flag in question; no
traceback; and the files under ``guarded/`` (a finished run, earlier results) are byte for byte unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from video_r1.cli.main import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@dataclass
class Ctx:
    tmp: Path
    tiny: Path
    data: dict

    @property
    def guarded(self) -> Path:
        return self.tmp / "guarded"

    def records(self, name: str = "train") -> list[dict]:
        return json.loads(Path(self.data[name]).read_text())

    def write(self, name: str, content, root: Path | None = None) -> Path:
        """A file in the synthetic data folder (so relative media paths resolve), JSON unless a str."""
        path = (root or Path(self.data["root"])) / f"bad_{self.tmp.name}_{name}"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    def grpo(self, *extra, dataset=None, model=None, out=None) -> list[str]:
        return [
            "grpo", "--config", str(CONFIGS / "grpo_tiny_cpu.yaml"),
            "--model_name_or_path", str(model or self.tiny), "--dataset_name", str(dataset or self.data["train"]),
            "--output_dir", str(out or self.tmp / "out"), "--max_steps", "1", *extra,
        ]  # fmt: skip

    def sft(self, *extra, dataset=None, model=None, out=None) -> list[str]:
        return [
            "sft", "--config", str(CONFIGS / "sft_tiny_cpu.yaml"),
            "--model_name_or_path", str(model or self.tiny), "--dataset_name", str(dataset or self.data["cot"]),
            "--output_dir", str(out or self.tmp / "out"), "--max_steps", "1", *extra,
        ]  # fmt: skip

    def eval(self, *extra, bench=None, out=None, model=None) -> list[str]:
        return [
            "eval", "--model_name_or_path", str(model or self.tiny), "--backend", "hf", "--device", "cpu",
            "--benchmark_file", f"synth={bench or self.data['test']}", "--limit", "2", "--max_frames", "8",
            "--max_new_tokens", "4", "--no_progress", "--output_dir", str(out or self.tmp / "eval"), *extra,
        ]  # fmt: skip

    def annotate(self, *extra, dataset=None, out=None, model=None) -> list[str]:
        return [
            "annotate", "--model_name_or_path", str(model or self.tiny), "--backend", "hf", "--device", "cpu",
            "--dataset_name", str(dataset or self.data["train"]), "--output_dir", str(out or self.tmp / "ann"),
            "--vision_preset", "tiny", "--limit", "2", "--max_new_tokens", "4", "--no_progress", *extra,
        ]  # fmt: skip


def _record(ctx: Ctx, **changes) -> list[dict]:
    records = ctx.records()[:3]
    records[1] = {**records[1], **changes}
    return records


def _without(ctx: Ctx, field: str, name: str = "train") -> list[dict]:
    records = ctx.records(name)[:3]
    del records[1][field]
    return records


def _climbing(ctx: Ctx, name: str) -> list[dict]:
    records = ctx.records(name)[:3]
    records[1]["path"] = "./../x.mp4"
    return records


def _finished_run(ctx: Ctx) -> Path:
    out = ctx.guarded / "run"
    out.mkdir(parents=True)
    (out / "model.safetensors").write_bytes(b"weights of the first run")
    (out / "trainer_state.json").write_text('{"global_step": 7}')
    (out / "checkpoint-7").mkdir()
    return out


def _model_only_checkpoint(ctx: Ctx) -> Path:
    checkpoint = ctx.guarded / "run" / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 3}')
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    return checkpoint


def _foreign_results(ctx: Ctx) -> Path:
    out = ctx.guarded / "eval"
    out.mkdir(parents=True)
    (out / "synth_8f.jsonl").write_text(json.dumps({"key": "0", "output": "x"}) + "\n")
    (out / "synth_8f.settings.json").write_text(json.dumps({"model": "another-model", "temperature": 0.1}))
    return out


def _corrupt_results(ctx: Ctx) -> Path:
    out = ctx.guarded / "eval"
    out.mkdir(parents=True)
    (out / "synth_8f.jsonl").write_text('{"key": "0"}\n{broken\n{"key": "1"}\n')
    return out


def _foreign_annotation(ctx: Ctx) -> Path:
    out = ctx.guarded / "ann"
    out.mkdir(parents=True)
    (out / "raw.jsonl").write_text(json.dumps({"key": "not-a-record-of-this-file"}) + "\n")
    return out


def _gpt2(ctx: Ctx) -> Path:
    folder = ctx.tmp / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    return folder


def _adapter(ctx: Ctx) -> Path:
    folder = ctx.tmp / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(ctx.tiny)}))
    return folder


def _config_only(ctx: Ctx) -> Path:
    """A folder with a Qwen2.5-VL config.json and nothing else (no weights, no processor)."""
    folder = ctx.tmp / "config_only"
    folder.mkdir()
    (folder / "config.json").write_text((ctx.tiny / "config.json").read_text())
    return folder


def _a_file(ctx: Ctx) -> Path:
    path = ctx.tmp / "a_file.txt"
    path.write_text("not a folder")
    return path


def _config(ctx: Ctx, text: str) -> str:
    path = ctx.tmp / "settings.yaml"
    path.write_text(text)
    return str(path)


@dataclass
class Case:
    argv: Callable[[Ctx], list[str]]
    code: int
    says: tuple[str, ...]


CASES: dict[str, Case] = {
    # ---- the command line and the --config file (exit 2) -----------------------------------------------
    "unknown command": Case(lambda c: ["evaluate"], 2, ("unknown command 'evaluate'",)),
    "grpo unknown flag": Case(lambda c: c.grpo("--temporal_alpah", "0.3"), 2, ("--temporal_alpah",)),
    "eval unknown flag": Case(lambda c: c.eval("--frames", "8"), 2, ("--frames",)),
    "annotate unknown flag": Case(lambda c: c.annotate("--reward", "0.5"), 2, ("--reward",)),
    "plot unknown flag": Case(lambda c: ["plot", "--run", str(c.tmp), "--png", "x"], 2, ("--png",)),
    "make-tiny bad int": Case(
        lambda c: ["make-tiny", "--output_dir", "x", "--hidden_size", "big"], 2, ("big",)
    ),
    "grpo bad choice": Case(lambda c: c.grpo("--temporal_rope", "linear"), 2, ("temporal_rope",)),
    "eval bad choice": Case(lambda c: c.eval("--backend", "tgi"), 2, ("--backend", "tgi")),
    "annotate bad preset": Case(lambda c: c.annotate("--vision_preset", "huge"), 2, ("huge",)),
    "grpo bad vision preset": Case(lambda c: c.grpo("--vision_preset", "huge"), 2, ("huge",)),
    "grpo bad on_bad_media": Case(lambda c: c.grpo("--on_bad_media", "ignore"), 2, ("on_bad_media",)),
    "grpo negative temporal_alpha": Case(lambda c: c.grpo("--temporal_alpha", "-5"), 2, ("temporal_alpha",)),
    "grpo negative temporal_mu": Case(lambda c: c.grpo("--temporal_mu", "-1"), 2, ("temporal_mu",)),
    "grpo one generation": Case(
        lambda c: c.grpo("--num_generations", "1"), 2, ("num_generations must be >= 2",)
    ),
    "grpo zero generations": Case(
        lambda c: c.grpo("--num_generations", "0"), 2, ("num_generations must be >= 2",)
    ),
    "grpo shuffled > G": Case(
        lambda c: c.grpo("--shuffled_num_generations", "9"), 2, ("shuffled_num_generations",)
    ),
    "grpo bad shuffle unit": Case(lambda c: c.grpo("--shuffle_unit", "clip"), 2, ("shuffle_unit",)),
    "grpo threshold 1.5": Case(lambda c: c.grpo("--correct_threshold", "1.5"), 2, ("correct_threshold",)),
    "grpo zero temperature": Case(lambda c: c.grpo("--temperature", "0"), 2, ("temperature must be > 0",)),
    "grpo trains nothing": Case(
        lambda c: c.grpo("--max_steps", "-5", "--num_train_epochs", "0"), 2, ("max_steps must be > 0",)
    ),
    "sft zero epochs": Case(
        lambda c: c.sft("--max_steps", "-1", "--num_train_epochs", "0"), 2, ("would train nothing",)
    ),
    "grpo negative lr": Case(lambda c: c.grpo("--learning_rate", "-1e-6"), 2, ("learning_rate",)),
    "grpo len_min > len_max": Case(lambda c: c.grpo("--len_min", "30", "--len_max", "10"), 2, ("len_min",)),
    "grpo no accuracy reward": Case(lambda c: c.grpo("--reward_funcs", "format"), 2, ("accuracy",)),
    "grpo prompts_per_step 0": Case(lambda c: c.grpo("--prompts_per_step", "0"), 2, ("prompts_per_step",)),
    "grpo qlora": Case(lambda c: c.grpo("--load_in_4bit", "true"), 2, ("QLoRA",)),
    "sft packing with video": Case(lambda c: c.sft("--packing", "true"), 2, ("packing",)),
    "sft bad loss_masking": Case(lambda c: c.sft("--loss_masking", "all"), 2, ("loss_masking",)),
    "sft zero answer weight": Case(
        lambda c: c.sft("--answer_loss_weight", "0", "--loss_type", "nll"), 2, ("answer_loss_weight",)
    ),
    "sft assistant_only_loss": Case(lambda c: c.sft("--assistant_only_loss", "true"), 2, ("loss_masking",)),
    "grpo missing dataset flag": Case(
        lambda c: [
            "grpo",
            "--model_name_or_path",
            str(c.tiny),
            "--output_dir",
            str(c.tmp / "o"),
            "--use_cpu",
            "true",
            "--bf16",
            "false",
        ],
        2,
        ("--dataset_name",),
    ),
    "annotate missing input": Case(
        lambda c: ["annotate", "--output_dir", str(c.tmp / "o")], 2, ("--dataset_name",)
    ),
    "annotate min_reward 5": Case(lambda c: c.annotate("--min_reward", "5"), 2, ("min_reward",)),
    "annotate device with vllm": Case(lambda c: c.annotate("--backend", "vllm"), 2, ("device",)),
    "eval missing model": Case(
        lambda c: ["eval", "--benchmark_file", f"synth={c.data['test']}"], 2, ("--model_name_or_path",)
    ),
    "eval odd frames": Case(lambda c: c.eval("--max_frames", "15"), 2, ("max_frames",)),
    "eval unknown benchmark": Case(lambda c: c.eval("--benchmarks", "vsibenchh"), 2, ("vsibenchh",)),
    "eval malformed benchmark_file": Case(
        lambda c: ["eval", "--model_name_or_path", str(c.tiny), "--benchmark_file", "synth"],
        2,
        ("NAME=PATH",),
    ),
    "eval error fraction 2": Case(lambda c: c.eval("--max_error_fraction", "2"), 2, ("max_error_fraction",)),
    "eval top_p 0": Case(lambda c: c.eval("--top_p", "0"), 2, ("top_p",)),
    "eval negative temperature": Case(lambda c: c.eval("--temperature", "-1"), 2, ("temperature",)),
    "eval check_decode alone": Case(lambda c: c.eval("--check_decode"), 2, ("--check",)),
    "eval batch 0": Case(lambda c: c.eval("--batch_size", "0"), 2, ("batch_size",)),
    "plot unknown metric": Case(
        lambda c: ["plot", "--run", str(c.tmp), "--metrics", "accuracy,bogus"], 2, ("bogus",)
    ),
    "merge-lora missing adapter": Case(lambda c: ["merge-lora"], 2, ("--adapter",)),
    "config file missing": Case(lambda c: c.eval("--config", str(c.tmp / "nope.yaml")), 2, ("nope.yaml",)),
    "config given twice": Case(
        lambda c: c.grpo("--config", str(CONFIGS / "grpo_tiny_cpu.yaml")), 2, ("--config",)
    ),
    "dataset smaller than one batch": Case(
        lambda c: c.grpo(dataset=c.write("one.json", c.records()[:1])), 1, ("fewer than one batch",)
    ),
    "config YAML syntax": Case(lambda c: c.eval("--config", _config(c, "temperature: [0.1\n")), 2, ("YAML",)),
    "config unknown key": Case(
        lambda c: c.eval("--config", _config(c, "temprature: 0.1\n")), 2, ("temprature",)
    ),
    "config not a mapping": Case(
        lambda c: c.eval("--config", _config(c, "- 1\n- 2\n")), 2, ("YAML mapping",)
    ),
    "output under a file": Case(lambda c: c.eval(out=_a_file(c) / "sub"), 2, ("a_file.txt", "is a file")),
    "training output under a file": Case(lambda c: c.grpo(out=_a_file(c) / "run"), 2, ("is a file",)),
    "filters leave nothing": Case(
        lambda c: c.grpo(
            "--data_types",
            "image",
            dataset=c.write("videos.json", [r for r in c.records() if r["data_type"] == "video"]),
        ),
        2,
        ("no record left",),
    ),  # fmt: skip
    "unknown data type filter": Case(lambda c: c.grpo("--data_types", "audio"), 2, ("audio",)),
    # ---- data, media, model paths, runs (exit 1) ---------------------------------------------------------
    "dataset file missing": Case(lambda c: c.grpo(dataset=c.tmp / "nope.json"), 1, ("nope.json",)),
    "dataset invalid JSON": Case(
        lambda c: c.grpo(dataset=c.write("broken.json", "[{")), 1, ("invalid JSON",)
    ),
    "dataset empty": Case(lambda c: c.sft(dataset=c.write("empty.json", "")), 1, ("no records",)),
    "dataset wrapped in an object": Case(
        lambda c: c.grpo(dataset=c.write("wrapped.json", {"data": c.records()[:2]})), 1, ("key 'data'",)
    ),
    "record missing problem": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _without(c, "problem"))), 1, ("'problem'",)
    ),
    "record null problem": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _record(c, problem=None))), 1, ("'problem'",)
    ),
    "record int solution": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _record(c, solution=3))), 1, ("'solution'",)
    ),
    "record empty answer": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _record(c, solution="<answer></answer>"))),
        1,
        ("empty answer",),
    ),
    "record unknown problem_type": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _record(c, problem_type="essay"))), 1, ("essay",)
    ),
    "record path climbs out of the root": Case(
        lambda c: c.grpo(dataset=c.write("r.json", _record(c, path="../../../etc/passwd"))),
        1,
        (
            "r.json:1: record problem_id=",
            "'path'",
            "'../../../etc/passwd' climbs out",
            "--allow_parent_traversal",
        ),
    ),
    "sft record path climbs out of the root": Case(
        lambda c: c.sft(dataset=c.write("r.json", _climbing(c, "cot"))),
        1,
        ("r.json:1: record problem_id=", "'path'", "'./../x.mp4' climbs out", "--allow_parent_traversal"),
    ),
    "annotate record path climbs out of the root": Case(
        lambda c: c.annotate(dataset=c.write("r.json", _climbing(c, "train"))),
        1,
        ("r.json:1: record problem_id=", "'path'", "'./../x.mp4' climbs out", "--allow_parent_traversal"),
    ),
    "sft record without process": Case(
        lambda c: c.sft(dataset=c.write("r.json", _without(c, "process", "cot"))), 1, ("'process'",)
    ),
    "model folder missing": Case(
        lambda c: c.grpo(model=c.tmp / "no_model"), 1, ("no_model", "no such folder")
    ),
    "model is a file": Case(lambda c: c.sft(model=_a_file(c)), 1, ("is a file",)),
    "model folder without config": Case(lambda c: c.grpo(model=c.tmp), 1, ("without config.json",)),
    "model is not Qwen2.5-VL": Case(lambda c: c.grpo(model=_gpt2(c)), 1, ("'gpt2' model, not Qwen2.5-VL",)),
    "model Hub id offline": Case(
        lambda c: c.grpo(model="someone/not-cached-model"), 1, ("someone/not-cached-model",)
    ),
    "training from an adapter": Case(
        lambda c: c.sft(model=_adapter(c)), 1, ("LoRA adapter folder", "merge-lora")
    ),
    "output holds a run": Case(
        lambda c: c.grpo(out=_finished_run(c)), 1, ("already holds a run", "--resume_from_checkpoint last")
    ),
    "resume a model-only checkpoint": Case(
        lambda c: c.sft("--resume_from_checkpoint", str(_model_only_checkpoint(c))),
        1,
        ("holds the model only",),
    ),
    "resume last without checkpoints": Case(
        lambda c: c.sft("--resume_from_checkpoint", "last"), 1, ("no checkpoint-* folder",)
    ),
    "resume a missing checkpoint": Case(
        lambda c: c.sft("--resume_from_checkpoint", str(c.tmp / "checkpoint-9")), 1, ("checkpoint-9",)
    ),
    "missing media under error policy": Case(
        lambda c: c.grpo(
            dataset=c.write("r.json", [{**c.records()[0], "path": "./videos/missing.mp4"}, c.records()[2]])
        ),
        1,
        ("missing.mp4", "problem_id="),
    ),
    "eval benchmark file missing": Case(lambda c: c.eval(bench=c.tmp / "nope.json"), 1, ("nope.json",)),
    "eval benchmark invalid JSON": Case(
        lambda c: c.eval(bench=c.write("b.json", "{oops")), 1, ("invalid JSON",)
    ),
    "eval results of another model": Case(
        lambda c: c.eval(out=_foreign_results(c)), 1, ("synth_8f.jsonl", "other settings")
    ),
    "eval corrupt results line": Case(lambda c: c.eval(out=_corrupt_results(c)), 1, ("synth_8f.jsonl:2",)),
    "annotate outputs of another input": Case(
        lambda c: c.annotate(out=_foreign_annotation(c)), 1, ("raw.jsonl", "another input file")
    ),
    "annotate adapter with vllm": Case(
        lambda c: [
            "annotate",
            "--model_name_or_path",
            str(_adapter(c)),
            "--backend",
            "vllm",
            "--dataset_name",
            str(c.data["train"]),
            "--output_dir",
            str(c.tmp / "a"),
        ],
        1,
        ("LoRA adapter folder",),
    ),  # fmt: skip
    "eval model folder missing": Case(
        lambda c: c.eval(model=c.tmp / "runs" / "nope"), 1, ("nope", "no such folder")
    ),
    "eval model folder without config": Case(lambda c: c.eval(model=c.tmp), 1, ("without config.json",)),
    "eval model is not Qwen2.5-VL": Case(lambda c: c.eval(model=_gpt2(c)), 1, ("not Qwen2.5-VL",)),
    "eval model without processor": Case(
        lambda c: c.eval(model=_config_only(c)), 1, ("config_only", "no processor files")
    ),
    "eval model Hub id offline": Case(
        lambda c: c.eval(model="someone/not-cached-model"), 1, ("someone/not-cached-model",)
    ),
    "annotate model folder missing": Case(
        lambda c: c.annotate(model=c.tmp / "no_model"), 1, ("no_model", "no such folder")
    ),
    "annotate model is a file": Case(lambda c: c.annotate(model=_a_file(c)), 1, ("is a file",)),
    "annotate model without processor": Case(
        lambda c: c.annotate(model=_config_only(c)), 1, ("no processor files",)
    ),
    "merge-lora adapter missing": Case(
        lambda c: ["merge-lora", "--adapter", str(c.tmp / "gone"), "--output_dir", str(c.tmp / "m")],
        1,
        ("gone", "no such folder"),
    ),
    "grpo negative value as a flag": Case(
        lambda c: c.grpo("--learning_rate", "-1e-4"), 2, ("write --learning_rate=-1e-4",)
    ),
    "grpo unknown reward function": Case(
        lambda c: c.grpo("--reward_funcs", "accuracy", "acuracy_v2"),
        1,
        ("unknown reward function", "acuracy_v2"),
    ),
    "grpo reward function not importable": Case(
        lambda c: c.grpo("--reward_funcs", "accuracy", "no_such_module:f"), 1, ("no_such_module:f",)
    ),
    "sft record longer than max_length": Case(
        lambda c: c.sft("--max_length", "12"), 1, ("tokens > max_length=12", "problem_id=")
    ),
    "eval output folder cannot be created": Case(
        lambda c: c.eval(out="/proc/video-r1-no/eval"),
        1,
        ("--output_dir /proc/video-r1-no/eval", "cannot create"),
    ),
    "grpo output folder cannot be created": Case(
        lambda c: c.grpo(out="/proc/video-r1-no/run"), 1, ("cannot create the folder /proc/video-r1-no",)
    ),
    "make-synthetic absurd image size": Case(
        lambda c: [
            "make-synthetic",
            "--output_dir",
            str(c.tmp / "syn"),
            "--num_train",
            "12",
            "--num_test",
            "1",
            "--image_size",
            "280000",
        ],
        1,
        ("out of memory", "TiB"),
    ),  # fmt: skip
    "plot without a run": Case(lambda c: ["plot", "--run", str(c.tmp / "empty")], 1, ("does not exist",)),
    "merge-lora a full checkpoint": Case(
        lambda c: ["merge-lora", "--adapter", str(c.tiny), "--output_dir", str(c.tmp / "m")],
        1,
        ("not a LoRA",),
    ),
}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_table_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, tiny_checkpoint, synthetic_data, tmp_path, capsys):
    case = CASES[name]
    ctx = Ctx(tmp_path, Path(tiny_checkpoint), synthetic_data)
    ctx.guarded.mkdir()
    argv = case.argv(ctx)
    before = _digest(ctx.guarded)
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == case.code, f"{name}: exit {code}, stderr: {err[-2000:]}"
    assert lines, f"{name}: nothing on stderr"
    command = argv[0] if argv[0] != "evaluate" else None
    prefix = f"video-r1 {command}: error: " if command else "video-r1: error: "
    assert lines[-1].startswith(prefix), f"{name}: last line {lines[-1]!r}"
    assert "Traceback" not in err, f"{name}: a traceback for a user mistake"
    for fragment in case.says:
        assert fragment in lines[-1], f"{name}: {fragment!r} not in {lines[-1]!r}"
    assert _digest(ctx.guarded) == before, f"{name}: files of an earlier run changed"


def test_a_file_size_limit_while_saving_is_one_line(tmp_path):
    """EFBIG (here a ``ulimit -f`` of 200 kB while make-tiny writes its weights; safetensors reports it as
    ``os error 27``) ends like a full disk: one line, exit 1."""
    import subprocess
    import sys

    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000)); "
        "from video_r1.cli.main import main; sys.exit(main(['make-tiny', '--output_dir', sys.argv[1]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "tiny")], capture_output=True, text=True, timeout=300
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert lines[-1].startswith("video-r1 make-tiny: error: file too large: the file-size limit"), lines[-1]
    assert "Traceback" not in proc.stderr


def test_grpo_prompt_longer_than_max_prompt_length_is_one_line(
    tiny_checkpoint, synthetic_data, tmp_path, capsys
):
    ctx = Ctx(tmp_path, Path(tiny_checkpoint), synthetic_data)
    code = main(ctx.grpo("--max_prompt_length", "16"))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert lines[-1].startswith("video-r1 grpo: error: problem_id=") and "max_prompt_length=16" in lines[-1]


def test_output_dir_check_tolerates_a_folder_another_rank_made(tmp_path, monkeypatch):
    """Every rank of a torchrun job runs the output-folder check at once (CI saw rank 0 fail with 'File
    exists' when rank 1 made the folder first). A folder made by another process meanwhile is accepted and
    left in place; a file in the way is still refused."""
    import pathlib

    from video_r1.cli.main import check_output_dir
    from video_r1.errors import UserError

    target = tmp_path / "a" / "run"
    real_mkdir = pathlib.Path.mkdir

    def racing_mkdir(self, *args, **kwargs):
        real_mkdir(self, *args, **kwargs)  # the other rank wins the race ...
        raise FileExistsError(17, "File exists", str(self))  # ... and this one sees EEXIST

    monkeypatch.setattr(pathlib.Path, "mkdir", racing_mkdir)
    check_output_dir(["--output_dir", str(target)])
    assert target.is_dir(), "a folder another rank made must not be removed by this rank's check"

    monkeypatch.setattr(pathlib.Path, "mkdir", real_mkdir)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError):
        check_output_dir(["--output_dir", str(tmp_path / "file" / "run")])


def test_output_dir_check_under_a_launcher_makes_and_keeps_the_folder(tmp_path, monkeypatch):
    """Under torchrun/accelerate (WORLD_SIZE > 1) the ranks do not make-and-remove (that races across ranks
    and nodes): the folder is made and kept, and an impossible folder is still one clear error."""
    from video_r1.cli.main import check_output_dir
    from video_r1.errors import UserError

    monkeypatch.setenv("WORLD_SIZE", "2")
    target = tmp_path / "x" / "run"
    check_output_dir(["--output_dir", str(target)])
    check_output_dir(["--output_dir", str(target)])  # the second rank: already there
    assert target.is_dir()
    with pytest.raises(UserError, match="cannot create the folder"):
        check_output_dir(["--output_dir", "/proc/video-r1-no/run"])
