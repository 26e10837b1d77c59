"""LoRA (PEFT) on both trainers, tiny checkpoint, CPU: what trains, the reference model, the shared-vision paths
under the PEFT wrapper, the released M-RoPE and resuming from a LoRA checkpoint."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, PeftModel
from safetensors.torch import load_file
from trl.trainer.utils import add_fused_lm_head

from video_r1.data.records import load_records
from video_r1.data.synthetic import make_synthetic
from video_r1.models.qwen2_5_vl import (
    LORA_TEXT_TARGET_MODULES,
    load_model,
    processor_path,
    uses_released_mrope,
)
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.rewards.accuracy import completion_text
from video_r1.testing.configs import tiny_cpu_args
from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer
from video_r1.trainers.lora import with_default_targets

REPO = Path(__file__).resolve().parents[2]
G = 2  # completions per prompt
TEXT_PROJECTIONS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def varied_reward(completions, **kwargs):
    """Spread inside every group, so that advantages (and gradients) are non-zero."""
    return [len(completion_text(c)) / 10.0 for c in completions]


def _lora(**overrides):
    # no target_modules: the trainers fill in the text-model default
    values = dict(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM")
    values.update(overrides)
    return LoraConfig(**values)


def _grpo_config(tmp_path, **overrides):
    values = dict(per_device_train_batch_size=2 * G, num_generations=G, max_steps=2, beta=0.04)
    values.update(overrides)
    return tiny_cpu_args(TGRPOConfig, str(tmp_path / "out"), **values)


def _grpo(tiny_checkpoint, dataset, args, peft_config=None):
    return TGRPOTrainer(
        model=str(tiny_checkpoint),
        reward_funcs=[accuracy_reward, format_reward, varied_reward],
        args=args,
        train_dataset=dataset,
        peft_config=_lora() if peft_config is None else peft_config,
    )


@pytest.fixture(scope="module")
def records(synthetic_data):
    return load_records(synthetic_data["train"])


@pytest.fixture(scope="module")
def mixed_pair(records):
    """One video record and one image record: a generation batch of 2 prompts holds both."""
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _adapter(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}


def _base(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}


def _perturb_adapter(model, scale=0.5, seed=1):
    """Non-zero lora_B weights (PEFT initialises them to 0, where the adapter does nothing)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale)


# ------------------------------------------------------------------------------------------------------
# Targets


def test_default_targets_are_the_text_projections_only(tiny_checkpoint):
    model = load_model(str(tiny_checkpoint))
    names = [n for n, _ in model.named_modules()]
    matched = {n for n in names if re.fullmatch(LORA_TEXT_TARGET_MODULES, n)}
    layers = model.config.text_config.num_hidden_layers
    assert len(matched) == layers * len(TEXT_PROJECTIONS)
    assert {n.rsplit(".", 1)[1] for n in matched} == TEXT_PROJECTIONS
    assert all(n.startswith("model.language_model.layers.") for n in matched)
    # the vision tower has modules of the same short names: a name list would have caught them
    assert any(n.startswith("model.visual") and n.endswith("mlp.gate_proj") for n in names)

    config = _lora()
    assert with_default_targets(config).target_modules == LORA_TEXT_TARGET_MODULES
    assert config.target_modules is None  # the caller's object is not changed
    explicit = _lora(target_modules=["q_proj", "v_proj"])
    assert with_default_targets(explicit).target_modules == {"q_proj", "v_proj"}


# ------------------------------------------------------------------------------------------------------
# T-GRPO


def test_grpo_lora_trains_only_the_text_adapter(tiny_checkpoint, mixed_pair, tmp_path, stock_mrope):
    trainer = _grpo(tiny_checkpoint, mixed_pair, _grpo_config(tmp_path))
    assert isinstance(trainer.model, PeftModel)
    assert trainer.ref_model is None  # beta > 0 under PEFT: no second model (see the reference test)
    assert uses_released_mrope(trainer.model)  # installed by the trainer (the fixture had undone it)
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n and ".language_model.layers." in n for n in trainable)
    layers = trainer.model.config.text_config.num_hidden_layers
    assert len(trainable) == layers * len(TEXT_PROJECTIONS) * 2  # lora_A and lora_B per projection

    base_before, adapter_before = _base(trainer.model), _adapter(trainer.model)
    trainer.train()
    assert trainer.state.global_step == 2
    base_after, adapter_after = _base(trainer.model), _adapter(trainer.model)
    assert base_after.keys() == base_before.keys()
    for name, value in base_before.items():  # vision tower included
        assert torch.equal(value, base_after[name]), name
    # step 1 moves every lora_B (from 0); step 2 then moves every lora_A
    assert all(not torch.equal(v, adapter_after[n]) for n, v in adapter_before.items())
    assert trainer.state.log_history[1]["kl"] > 0  # the policy has left the base model


def _rollout_rows(trainer):
    return [trainer.train_dataset[0]] * G + [trainer.train_dataset[1]] * G


def _sequence(output):
    ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
    mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
    return ids, mask, output["completion_ids"].size(1)


def test_reference_is_the_base_model_with_the_adapter_disabled(tiny_checkpoint, mixed_pair, tmp_path):
    trainer = _grpo(tiny_checkpoint, mixed_pair, _grpo_config(tmp_path))
    _perturb_adapter(trainer.model)
    trainer.model.train()
    output = trainer._generate_and_score_completions(_rollout_rows(trainer))
    ref = output["ref_per_token_logps"]
    ids, mask, keep = _sequence(output)
    completion_mask = output["completion_mask"].bool()

    base = load_model(str(tiny_checkpoint)).eval()  # an independent copy of the initial weights
    add_fused_lm_head(base, temperature=trainer.temperature)  # what TRL does to the models it scores with
    with torch.no_grad(), trainer._vision_rows(output["vision"]):
        base_logps, _, _ = trainer._get_per_token_logps_and_entropies(base, ids, mask, keep)
        policy_logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, keep)
    torch.testing.assert_close(ref[completion_mask], base_logps[completion_mask], atol=1e-5, rtol=0)
    # ... and not the policy's (the perturbed adapter changes the log-probs)
    assert (ref - policy_logps)[completion_mask].abs().max() > 1e-2


def _count_vision_encodes(trainer) -> tuple[list[int], object]:
    encoded: list[int] = []
    visual = trainer._vision_model(trainer.model).visual
    hook = visual.register_forward_hook(
        lambda module, args, kwargs, out: encoded.append(int(kwargs["grid_thw"].shape[0])), with_kwargs=True
    )
    return encoded, hook


def test_shared_vision_forward_and_prefill_reach_the_base_model_under_peft(
    tiny_checkpoint, mixed_pair, tmp_path
):
    trainer = _grpo(
        tiny_checkpoint,
        mixed_pair,
        _grpo_config(tmp_path, shuffled_num_generations=2, max_completion_length=5),
    )
    _perturb_adapter(trainer.model)
    trainer.generation_config.do_sample = False  # greedy: the paths must produce the same tokens
    trainer.model.train()
    rows = _rollout_rows(trainer)
    encoded, hook = _count_vision_encodes(trainer)
    try:
        # log-probs: shared (one encode per distinct media) == repeated (one per row), adapter gradients too
        output = trainer._generate_and_score_completions(rows)
        ids, mask, keep = _sequence(output)
        results = {}
        for reuse in (True, False):
            trainer.args.reuse_vision_features = reuse
            trainer.model.zero_grad()
            encoded.clear()
            with trainer._vision_rows(output["vision"]):
                logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, keep)
            logps.sum().backward()
            grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
            results[reuse] = (logps.detach(), grads, sum(encoded))
        torch.testing.assert_close(results[True][0], results[False][0], atol=1e-5, rtol=0)
        assert results[True][1].keys() == results[False][1].keys() and results[True][1]
        assert all("lora_" in n for n in results[True][1])
        for name, grad in results[True][1].items():
            torch.testing.assert_close(grad, results[False][1][name], atol=1e-4, rtol=0, msg=name)
        assert (results[True][2], results[False][2]) == (2, 2 * G)  # video + image once; every row

        # generation prefill: same greedy tokens, each media encoded once, and the adapter is active in it
        generated = {}
        for reuse, adapter in ((True, True), (False, True), (True, False)):
            trainer.args.reuse_vision_features = reuse
            trainer._rollout = trainer._prepare_rollout(rows)
            prompt_ids, _, fields = trainer._tokenize_prompts([row["prompt"] for row in rows])
            encoded.clear()
            with (
                torch.no_grad(),
                trainer.model.disable_adapter() if not adapter else contextlib.nullcontext(),
            ):
                completions, _ = trainer._generate_single_turn(prompt_ids, None, fields, G)
            generated[reuse, adapter] = (
                completions,
                trainer._rollout.shuffled.completion_ids,
                sum(encoded),
            )
            trainer._rollout = None
    finally:
        hook.remove()
    assert len(generated[True, True][1]) == 2  # the video prompt's shuffled rows, same call
    assert generated[True, True][:2] == generated[False, True][:2]
    assert generated[True, True][2] == 3  # ordered video, shuffled video, image: once each
    assert generated[False, True][2] == 2 * G + 2
    assert generated[True, True][:2] != generated[True, False][:2]  # the adapter changed the rollout
    base_model = trainer.model.get_base_model()
    assert "generate" not in vars(base_model)  # the prefill wrapper is removed after the call


def test_grpo_lora_resume_restores_the_adapter(tiny_checkpoint, records, tmp_path):
    dataset = records.select(range(8))
    full = _grpo(
        tiny_checkpoint,
        dataset,
        _grpo_config(tmp_path / "full", max_steps=3, save_strategy="steps", save_steps=1),
    )
    full.train()
    checkpoint = tmp_path / "full" / "out" / "checkpoint-1"
    assert (checkpoint / "adapter_model.safetensors").is_file()
    assert not (checkpoint / "model.safetensors").exists()  # a LoRA checkpoint holds the adapter only
    full_losses = {h["step"]: h["loss"] for h in full.state.log_history if "loss" in h}
    assert len(set(full_losses.values())) > 1

    resumed = _grpo(tiny_checkpoint, dataset, _grpo_config(tmp_path / "resumed", max_steps=3))
    saved = load_file(checkpoint / "adapter_model.safetensors")
    initial = _adapter(resumed.model)
    # the fresh adapter differs from the checkpoint's, so continuing from it would show below
    assert any(not torch.equal(initial[k.replace(".weight", ".default.weight")], v) for k, v in saved.items())
    resumed.train(resume_from_checkpoint=str(checkpoint))
    resumed_losses = {h["step"]: h["loss"] for h in resumed.state.log_history if "loss" in h}
    assert sorted(resumed_losses) == [1, 2, 3] and resumed.state.global_step == 3
    for step in (2, 3):  # trained after resuming, from the restored adapter and optimizer state
        assert resumed_losses[step] == pytest.approx(full_losses[step], abs=1e-6)
    full_params = dict(full.model.named_parameters())
    assert all(torch.allclose(p, full_params[n], atol=1e-6) for n, p in resumed.model.named_parameters())


def test_training_from_an_adapter_folder_is_refused(tiny_checkpoint, mixed_pair, tmp_path):
    adapter = tmp_path / "adapter"
    from peft import get_peft_model

    get_peft_model(load_model(str(tiny_checkpoint)), with_default_targets(_lora())).save_pretrained(adapter)
    with pytest.raises(ValueError, match="LoRA adapter folder.*video-r1 merge-lora"):
        _grpo(adapter, mixed_pair, _grpo_config(tmp_path))
    with pytest.raises(ValueError, match="LoRA adapter folder.*video-r1 merge-lora"):
        VideoSFTTrainer(model=str(adapter), args=_sft_config(tmp_path), train_dataset=mixed_pair)

    # an adapter folder without a processor takes its base model's; a base that moved is named
    assert processor_path(adapter) == str(tiny_checkpoint)
    config_file = adapter / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config["base_model_name_or_path"] = str(tmp_path / "moved")
    config_file.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"LoRA adapter of {tmp_path / 'moved'}, which does not exist"):
        load_model(str(adapter))


def test_vllm_colocate_rollouts_get_the_merged_weights(tiny_checkpoint, mixed_pair, tmp_path, monkeypatch):
    """TRL's colocate path under LoRA (engine core stood in for): the synced weights are base + adapter merged,
    under the base model's names, and the base weights are left bit-identical (TRL's in-place merge/unmerge
    would not: see the bf16 test below)."""
    from transformers import AutoTokenizer

    from video_r1.testing.colocate import StandInEngine, colocate_trainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    engine = StandInEngine(
        [tokenizer.encode(t) + [tokenizer.eos_token_id] for t in ("a", "bb b", "<answer>A")]
    )
    synced: dict[str, torch.Tensor] = {}
    engine.load_weights = lambda weights: synced.update({n: t.detach().clone() for n, t in weights})
    args = _grpo_config(
        tmp_path, max_steps=1, vllm_importance_sampling_correction=False, use_vllm=True, vllm_mode="colocate"
    )
    trainer = colocate_trainer(
        monkeypatch,
        str(tiny_checkpoint),
        mixed_pair,
        engine,
        reward_funcs=[accuracy_reward, format_reward, varied_reward],
        peft_config=_lora(),
        args=args,
    )
    assert isinstance(trainer.model, PeftModel)
    _perturb_adapter(trainer.model)
    adapter = _adapter(trainer.model)
    base_before = _base(trainer.model)
    trainer.train()

    base = load_model(str(tiny_checkpoint))
    fix = trainer.vllm_generation._fix_param_name_to_vllm
    assert set(synced) == {fix(n) for n, _ in base.named_parameters()}  # the base model's names, no lora_*
    scaling = trainer.model.peft_config["default"].lora_alpha / trainer.model.peft_config["default"].r
    for name, weight in base.named_parameters():
        module = name.removesuffix(".weight")
        lora_a = adapter.get(f"base_model.model.{module}.lora_A.default.weight")
        expected = weight.detach()
        if lora_a is not None:  # a LoRA target: W + scale * B @ A, with the adapter of the rollout
            expected = (
                expected + scaling * adapter[f"base_model.model.{module}.lora_B.default.weight"] @ lora_a
            )
        torch.testing.assert_close(synced[fix(name)], expected, atol=1e-6, rtol=0, msg=name)
    # the base weights are untouched by the sync (no in-place merge/unmerge round trip) and by the step
    after = _base(trainer.model)
    assert all(torch.equal(v, after[n]) for n, v in base_before.items())
    assert engine.calls == 1 and math.isfinite(trainer.state.log_history[0]["loss"])


def test_bf16_weight_sync_leaves_the_base_untouched_where_an_in_place_merge_drifts(
    tiny_checkpoint, mixed_pair, tmp_path, monkeypatch
):
    from trl.generation.vllm_generation import VLLMGeneration

    from video_r1.testing.colocate import StandInEngine, colocate_trainer

    engine = StandInEngine([[0]])
    synced: dict[str, torch.Tensor] = {}
    engine.load_weights = lambda weights: synced.update({n: t.detach().clone() for n, t in weights})
    trainer = colocate_trainer(
        monkeypatch, str(tiny_checkpoint), mixed_pair, engine, reward_funcs=[accuracy_reward],
        peft_config=_lora(), output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2,
        model_init_kwargs={"dtype": "bfloat16"}, report_to="none", vision_preset="tiny", use_cpu=True,
        bf16=False, vllm_importance_sampling_correction=False,
    )  # fmt: skip
    model = trainer.model
    assert model.dtype == torch.bfloat16
    _perturb_adapter(model, scale=0.05)
    before = _base(model)
    layer = model.get_base_model().model.language_model.layers[0].self_attn.q_proj
    expected = (before["base_model.model.model.language_model.layers.0.self_attn.q_proj.base_layer.weight"]
                + layer.get_delta_weight("default")).to(torch.bfloat16)  # fmt: skip
    for _ in range(5):
        trainer.vllm_generation.sync_weights()
    after = _base(model)
    assert all(torch.equal(v, after[n]) for n, v in before.items())  # bit-identical after 5 syncs
    assert torch.equal(synced["model.language_model.layers.0.self_attn.q_proj.weight"], expected)

    # TRL's own sync (in-place merge, then unmerge) on the same model: the frozen base moves
    for _ in range(5):
        for _name, _value in VLLMGeneration._iter_named_params(trainer.vllm_generation):
            pass
    drifted = _base(model)
    assert any(not torch.equal(v, drifted[n]) for n, v in before.items())


# ------------------------------------------------------------------------------------------------------
# SFT


def _sft_config(tmp_path, **overrides):
    values = dict(
        max_steps=2,
        # as the 7B recipe: PEFT needs input gradients for it (TRL enables them)
        gradient_checkpointing=True,
    )
    values.update(overrides)
    return tiny_cpu_args(VideoSFTConfig, str(tmp_path / "out"), **values)


def test_sft_lora_trains_only_the_adapter_and_resumes(tiny_checkpoint, synthetic_data, tmp_path, stock_mrope):
    dataset = load_records(synthetic_data["cot"], require_process=True).select(range(4))

    def sft(path, **overrides):
        return VideoSFTTrainer(
            model=str(tiny_checkpoint),
            args=_sft_config(path, **overrides),
            train_dataset=dataset,
            peft_config=_lora(),
        )

    full = sft(tmp_path / "full", save_strategy="steps", save_steps=1)
    assert isinstance(full.model, PeftModel) and uses_released_mrope(full.model)
    trainable = {n for n, p in full.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n and ".language_model.layers." in n for n in trainable)
    base_before, adapter_before = _base(full.model), _adapter(full.model)
    full.train()
    base_after, adapter_after = _base(full.model), _adapter(full.model)
    assert all(torch.equal(v, base_after[n]) for n, v in base_before.items())
    assert all(not torch.equal(v, adapter_after[n]) for n, v in adapter_before.items())
    full_losses = {h["step"]: h["loss"] for h in full.state.log_history if "loss" in h}

    resumed = sft(tmp_path / "resumed")
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "out" / "checkpoint-1"))
    resumed_losses = {h["step"]: h["loss"] for h in resumed.state.log_history if "loss" in h}
    assert sorted(resumed_losses) == [1, 2] and resumed.state.global_step == 2
    assert resumed_losses[2] == pytest.approx(full_losses[2], abs=1e-5)
    full_params = dict(full.model.named_parameters())
    assert all(torch.allclose(p, full_params[n], atol=1e-6) for n, p in resumed.model.named_parameters())


# ------------------------------------------------------------------------------------------------------
# DeepSpeed ZeRO-3 (the 7B recipe's setup), two CPU processes through the GPU launcher


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.mark.slow
def test_lora_under_zero3_with_gradient_checkpointing_saves_the_whole_adapter(tiny_checkpoint, tmp_path):
    """TRL's ZeRO-3 + PEFT path (adapter kept in the base dtype, reentrant checkpointing): every rank trains
    its shard and the saved adapter is gathered whole."""
    data = tmp_path / "data"
    make_synthetic(data, num_train=16, num_test=2, seed=1, progress=False)
    out = tmp_path / "zero3_lora"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(Path(__file__).parent)]),
        "OMP_NUM_THREADS": "1",
        "GPUS_PER_NODE": "2",
        "ACCELERATE_CONFIG": str(REPO / "configs" / "accelerate" / "zero3_cpu.yaml"),
        "CONFIG": str(REPO / "configs" / "grpo_tiny_cpu.yaml"),
        "MODEL": str(tiny_checkpoint),
        "DATA": str(data / "train.json"),
        "OUTPUT_DIR": str(out),
        "PYTHON": sys.executable,
        "MASTER_PORT": _free_port(),
    }
    cmd = [
        "bash", str(REPO / "scripts" / "run_grpo_video.sh"),
        "--max_steps", "3", "--save_steps", "3", "--per_device_train_batch_size", "2", "--num_generations", "4",
        "--shuffled_num_generations", "2", "--learning_rate", "1e-2", "--gradient_checkpointing", "true",
        "--reward_funcs", "accuracy", "format", "rewards_for_tests:varied_reward",
        "--use_peft", "--lora_r", "4",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    steps = [h for h in state["log_history"] if "loss" in h]
    assert [h["step"] for h in steps] == [1, 2, 3] and all(math.isfinite(h["loss"]) for h in steps)
    assert steps[-1]["kl"] > 0  # the reference (adapter disabled) and the policy have parted
    assert (out / "checkpoint-3" / "global_step3").is_dir()  # a DeepSpeed checkpoint, adapter beside it
    assert not (out / "model.safetensors").exists()
    adapter = load_file(out / "adapter_model.safetensors")
    model = load_model(str(tiny_checkpoint))
    modules = dict(model.named_modules())
    layers = model.config.text_config.num_hidden_layers
    assert len(adapter) == layers * len(TEXT_PROJECTIONS) * 2
    for key, value in adapter.items():  # whole (not ZeRO-3 shards), trained
        module = modules[key.removeprefix("base_model.model.").rsplit(".lora_", 1)[0]]
        expected = (4, module.in_features) if ".lora_A." in key else (module.out_features, 4)
        assert tuple(value.shape) == expected, key
        if ".lora_B." in key:
            assert value.abs().max() > 0, key
