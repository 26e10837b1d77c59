"""``video_r1.generation.GenerationArguments``: the settings eval and annotate share, and their checks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from video_r1.annotate import AnnotateConfig
from video_r1.evaluation.config import EvalConfig
from video_r1.generation import GenerationArguments


def test_defaults_follow_each_original_script():
    ev = EvalConfig(model_name_or_path="m")
    an = AnnotateConfig(dataset_name="x.json", output_dir="o")
    assert (ev.temperature, ev.top_p, ev.max_new_tokens, ev.seed, ev.max_model_len) == (
        0.1,
        0.001,
        1024,
        42,
        16384,
    )
    assert (an.temperature, an.top_p, an.max_new_tokens, an.max_model_len) == (1.0, 0.95, 512, 8192)
    assert an.model_name_or_path == "Qwen/Qwen2.5-VL-72B-Instruct" and an.batch_size == 32
    assert ev.prompt_limit() == 16384 - 1024 and an.prompt_limit() == 8192 - 512
    assert EvalConfig(model_name_or_path="m", max_prompt_length=100).prompt_limit() == 100


def test_the_backend_gets_the_prompt_limit(monkeypatch):
    from video_r1 import inference

    built = {}

    def fake_load_backend(name, model, options, **kwargs):
        built.update(kwargs, name=name, model=model, sampling=options.sampling)
        return SimpleNamespace()

    monkeypatch.setattr(inference, "load_backend", fake_load_backend)
    backend = EvalConfig(model_name_or_path="m", backend="hf").load_backend("eval", 4)
    assert backend.max_prompt_length == 16384 - 1024
    assert built["name"] == "hf" and built["sampling"].temperature == 0.1 and "max_model_len" not in built
    EvalConfig(model_name_or_path="m").load_backend("eval", 64)
    assert built["max_model_len"] == 16384 and built["gpu_memory_utilization"] == 0.8


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"temperature": -1}, "temperature must be >= 0"),
        ({"top_p": 0}, "top_p must be in"),
        ({"top_p": 1.5}, "top_p must be in"),
        ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization must be in"),
        ({"tensor_parallel_size": 0}, "tensor_parallel_size must be >= 1"),
        ({"max_prompt_length": 0}, "max_prompt_length must be >= 1"),
        ({"device": "cpu"}, "device applies to the hf backend only"),
        ({"backend": "tgi"}, "backend must be one of"),
    ],
)
def test_out_of_range_settings_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        GenerationArguments(**fields)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"min_reward": 5}, r"min_reward must be in \[0, 1\)"),
        ({"min_reward": -0.1}, r"min_reward must be in \[0, 1\)"),
        ({"max_frames": 1}, "max_frames must be >= 2"),
        ({"limit": 0}, "limit must be >= 1"),
        ({"dataset_name": None}, "--dataset_name"),
        ({"output_dir": None}, "--output_dir is required"),
    ],
)
def test_annotate_checks(fields, message):
    values = {"dataset_name": "x.json", "output_dir": "o", **fields}
    with pytest.raises(ValueError, match=message):
        AnnotateConfig(**values)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"max_frames": [15]}, "max_frames must be even"),
        ({"max_frames": [0]}, "max_frames must be even"),
        ({"benchmarks": ["nosuch"]}, "unknown benchmark"),
        ({"benchmarks": ["mvbench,mvbench"]}, "twice"),
        ({"benchmark_file": ["oops"]}, "expected NAME=PATH"),
        ({"max_error_fraction": 2.0}, r"max_error_fraction must be in \[0, 1\]"),
        ({"limit": 0}, "limit must be >= 1"),
        ({"check_decode": True}, "check_decode needs --check"),
        ({"check": True, "convert_media": True}, "do not combine"),
    ],
)
def test_eval_checks(fields, message):
    with pytest.raises(ValueError, match=message):
        EvalConfig(model_name_or_path="m", **fields)


def test_eval_benchmarks_accept_spaces_and_commas():
    assert EvalConfig(benchmarks=["mvbench,mmvu", "vsibench"]).benchmarks == ["mvbench", "mmvu", "vsibench"]
