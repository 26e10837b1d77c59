"""The 7B recipes train with the original's math: one real step from each recipe's trainer settings.

Each GRPO recipe (HF rollouts; vLLM rollouts through TRL's colocate code with the engine core stood in for)
and the SFT recipe is parsed with the CLI's own parser; only what a CPU and the tiny model need is
overridden (model, data, sizes, dtype, gradient clipping off so the raw gradient can be compared). One
training micro-step then runs through the trainer's real code (TRL's loss), and its loss value and gradient
are compared with an independent implementation of the original's loss (docs/original-behaviour.md §11):

    RL:  per token -(exp(logp - logp.detach()) * A - beta * k3),  k3 = exp(d) - d - 1,
         d = clamp(ref_logp - logp, -10, 10); mean over each completion's tokens, then over completions;
         A = (r - group mean) / (unbiased group std + 1e-4).
    SFT: token-mean cross entropy over labels = input_ids with pad and <|image_pad|> set to -100.

The policy is perturbed away from the reference first, so the KL term (and TRL's ratio-corrected variant,
which the recipes turn off) matters. Also checked here: the LR over the steps run, the sampling settings and
the temporal spacing of each recipe.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from video_r1.data.records import load_records
from video_r1.models.qwen2_5_vl import load_model, vision_token_ids
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.rewards.accuracy import completion_text
from video_r1.trainers.steps import derive_gradient_accumulation, global_batch_line

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GRPO_RECIPES = ["grpo_video_7b.yaml", "grpo_video_7b_vllm.yaml"]
COMPLETIONS = ("<think>left</think><answer>A</answer>", "<answer>B</answer>", "b a", "<think>x</think> A")


def _parse_grpo(name, tmp_path, *extra):
    from video_r1.cli.grpo import build_parser

    cpu = [
        "--bf16", "false", "--use_cpu", "true", "--output_dir", str(tmp_path / "out"), "--report_to", "none",
        "--vision_preset", "tiny", "--per_device_train_batch_size", "4", "--num_generations", "4",
        "--shuffled_num_generations", "2", "--max_completion_length", "8", "--prompts_per_step", "1",
        "--gradient_checkpointing", "false", "--max_grad_norm", "0", "--len_min", "2", "--len_max", "6",
        "--save_strategy", "no", "--dataloader_num_workers", "0", "--max_steps", "1",
    ]  # fmt: skip
    return build_parser().parse_args_and_config(["--config", str(CONFIGS / name), *cpu, *extra])[1]


@pytest.fixture(scope="module")
def video_prompt(synthetic_data):
    records = load_records(synthetic_data["train"])
    return records.select([records["data_type"].index("video")])


def varied_reward(completions, **kwargs):
    return [len(completion_text(c)) / 10.0 for c in completions]


def _perturb(model, seed=0, scale=0.05):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=generator, dtype=param.dtype) * scale)


def _grpo_trainer(name, tiny_checkpoint, dataset, tmp_path, monkeypatch, *extra):
    from video_r1.testing.colocate import StandInEngine, colocate_trainer
    from video_r1.trainers import TGRPOTrainer

    args = _parse_grpo(name, tmp_path, *extra)
    funcs = [accuracy_reward, format_reward, varied_reward]  # spread within a group -> non-zero advantages
    if not args.use_vllm:
        return TGRPOTrainer(model=str(tiny_checkpoint), reward_funcs=funcs, args=args, train_dataset=dataset)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    engine = StandInEngine([tok.encode(t) + [tok.eos_token_id] for t in COMPLETIONS])
    return colocate_trainer(monkeypatch, str(tiny_checkpoint), dataset, engine, reward_funcs=funcs, args=args)


def _one_micro_step(trainer):
    """(inputs, loss, gradient) of the trainer's own first micro-step (TRL's loss, before the optimizer)."""
    rewards = []
    calculate = trainer._calculate_rewards

    def recording(*args, **kwargs):
        rewards.append(calculate(*args, **kwargs))
        return rewards[-1]

    trainer._calculate_rewards = recording
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop; one micro-step here
    trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    # TRL's rollout in generation order (_prepare_inputs would only shuffle it: one micro-batch per rollout)
    inputs = trainer._generate_and_score_completions(batch)
    loss = trainer.compute_loss(trainer.model, inputs)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    trainer.model.zero_grad()
    return inputs, rewards[0], loss.detach(), grads


def _token_logps(model, inputs, token_ids):
    """Per-token log-probabilities of the completions: one plain forward with every row's own vision copy."""
    prompt, completion = inputs["prompt_ids"], inputs["completion_ids"]
    ids = torch.cat([prompt, completion], dim=1)
    mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    vision = inputs["vision"]
    kwargs = {
        "pixel_values_videos": torch.cat([v["pixel_values_videos"] for v in vision]),
        "video_grid_thw": torch.cat([v["video_grid_thw"] for v in vision]),
        "second_per_grid_ts": torch.cat([v["second_per_grid_ts"] for v in vision]),
    }
    types = (ids == token_ids["video"]).long() * 2
    logits = model(input_ids=ids, attention_mask=mask, mm_token_type_ids=types, **kwargs).logits
    logits = logits[:, prompt.size(1) - 1 : -1].float()
    return torch.log_softmax(logits, dim=-1).gather(-1, completion.unsqueeze(-1)).squeeze(-1)


def _original_grpo_loss(model, ref_model, inputs, total_rewards, group, beta, token_ids):
    grouped = total_rewards.view(-1, group)
    advantages = ((grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-4)).view(-1)
    logp = _token_logps(model, inputs, token_ids)
    with torch.no_grad():
        ref = _token_logps(ref_model, inputs, token_ids)
    d = torch.clamp(ref - logp, -10, 10)
    k3 = torch.exp(d) - d - 1
    per_token = -(torch.exp(logp - logp.detach()) * advantages.unsqueeze(1) - beta * k3)
    mask = inputs["completion_mask"].float()
    return ((per_token * mask).sum(1) / mask.sum(1)).mean(), advantages, k3


def _relative_gap(a: dict, b: dict) -> float:
    scale = max(g.abs().max().item() for g in a.values())
    return max((a[n] - b[n]).abs().max().item() for n in a) / scale


@pytest.mark.parametrize("recipe", GRPO_RECIPES)
def test_grpo_recipe_step_equals_the_original_loss_and_gradient(
    recipe, tiny_checkpoint, video_prompt, tmp_path, monkeypatch
):
    trainer = _grpo_trainer(recipe, tiny_checkpoint, video_prompt, tmp_path, monkeypatch)
    args = trainer.args
    assert (args.beta, args.loss_type, args.use_bias_correction_kl, args.num_iterations) == (
        0.04,
        "grpo",
        False,
        1,
    )
    _perturb(trainer.model)
    inputs, rewards, loss, grads = _one_micro_step(trainer)

    total = (rewards * torch.as_tensor(trainer.reward_weights)).nansum(dim=1)
    assert total.unique().numel() > 1, "the rollout needs reward spread for a non-zero advantage"
    reference = load_model(str(tiny_checkpoint), dtype=torch.float32).eval()  # the initial weights
    token_ids = vision_token_ids(trainer.processing_class)
    trainer.model.zero_grad()
    ours, advantages, k3 = _original_grpo_loss(
        trainer.model, reference, inputs, total, 4, args.beta, token_ids
    )
    ours.backward()
    our_grads = {
        n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None
    }

    torch.testing.assert_close(inputs["advantages"], advantages, atol=1e-5, rtol=1e-5)
    mean_kl = ((k3 * inputs["completion_mask"]).sum() / inputs["completion_mask"].sum()).item()
    assert mean_kl > 1e-3, f"the policy must differ from the reference (mean token KL {mean_kl})"
    assert loss.item() == pytest.approx(ours.item(), rel=1e-5, abs=1e-6)
    assert set(our_grads) == set(grads)
    assert _relative_gap(grads, our_grads) < 1e-4


def test_trl_bias_corrected_kl_changes_the_gradient(tiny_checkpoint, video_prompt, tmp_path, monkeypatch):
    """Why the recipes turn use_bias_correction_kl off: with TRL's default the gradient is not the original's."""
    trainer = _grpo_trainer(
        "grpo_video_7b.yaml",
        tiny_checkpoint,
        video_prompt,
        tmp_path,
        monkeypatch,
        "--use_bias_correction_kl",
        "true",
    )
    _perturb(trainer.model)
    inputs, rewards, loss, grads = _one_micro_step(trainer)
    total = (rewards * torch.as_tensor(trainer.reward_weights)).nansum(dim=1)
    reference = load_model(str(tiny_checkpoint), dtype=torch.float32).eval()
    ours, _, _ = _original_grpo_loss(
        trainer.model,
        reference,
        inputs,
        total,
        4,
        trainer.args.beta,
        vision_token_ids(trainer.processing_class),
    )
    ours.backward()
    our_grads = {
        n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None
    }
    assert loss.item() == pytest.approx(ours.item(), rel=1e-5, abs=1e-6)  # same value...
    assert _relative_gap(grads, our_grads) > 1e-3  # ...different gradient


def test_sft_recipe_step_equals_the_original_loss_and_gradient(tiny_checkpoint, synthetic_data, tmp_path):
    from video_r1.cli.sft import build_parser
    from video_r1.trainers import VideoSFTTrainer

    cpu = [
        "--bf16", "false", "--use_cpu", "true", "--output_dir", str(tmp_path / "sft"), "--report_to", "none",
        "--vision_preset", "tiny", "--per_device_train_batch_size", "2", "--prompts_per_step", "2",
        "--gradient_checkpointing", "false", "--max_grad_norm", "0", "--dataloader_num_workers", "0",
        "--save_strategy", "no", "--max_steps", "1",
    ]  # fmt: skip
    args = build_parser().parse_args_and_config(["--config", str(CONFIGS / "sft_video_7b.yaml"), *cpu])[1]
    assert (args.loss_masking, args.temporal_rope, args.answer_loss_weight) == ("original", "fixed_2fps", 1.0)
    records = load_records(synthetic_data["cot"], require_process=True)
    kinds = records["data_type"]
    dataset = records.select([kinds.index("video"), kinds.index("image")])
    trainer = VideoSFTTrainer(model=str(tiny_checkpoint), args=args, train_dataset=dataset)
    _perturb(trainer.model)
    trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    batch = {k: v.to(trainer.model.device) if torch.is_tensor(v) else v for k, v in batch.items()}
    loss = trainer.compute_loss(trainer.model, dict(batch))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    trainer.model.zero_grad()

    tokenizer = trainer.processing_class.tokenizer
    ids = batch["input_ids"]
    labels = ids.clone()
    labels[ids == tokenizer.pad_token_id] = -100
    labels[ids == tokenizer.convert_tokens_to_ids("<|image_pad|>")] = -100
    model_inputs = {k: batch[k] for k in batch if k not in ("labels", "skipped_media_count")}
    logits = trainer.model(**model_inputs).logits.float()
    ours = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100)
    ours.backward()
    our_grads = {
        n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None
    }
    assert (labels[:, 1:] != -100).sum() > (
        batch["labels"][:, 1:] == -100
    ).sum() // 4  # the prompt carries loss
    assert loss.item() == pytest.approx(ours.item(), rel=1e-5)
    assert _relative_gap(grads, our_grads) < 1e-4


@pytest.mark.parametrize("recipe", GRPO_RECIPES)
def test_grpo_recipe_lr_stays_at_the_original_level_over_the_run(
    recipe, tiny_checkpoint, video_prompt, tmp_path, monkeypatch
):
    trainer = _grpo_trainer(
        recipe, tiny_checkpoint, video_prompt, tmp_path, monkeypatch, "--max_steps", "1000"
    )
    trainer.create_optimizer_and_scheduler(num_training_steps=trainer.args.max_steps)
    lr = [trainer.lr_scheduler.lr_lambdas[0](step) * trainer.args.learning_rate for step in range(1000)]
    horizon = 65768  # one epoch of Video-R1-260k at 4 prompts per step, as the original's cosine
    assert lr[900] == pytest.approx(1e-6 * 0.5 * (1 + math.cos(math.pi * 900 / horizon)), rel=1e-9)
    assert min(lr) > 0.999e-6 and sum(lr) / len(lr) > 0.9997e-6  # < 0.06 % decay by step 1000
    # without lr_decay_steps the cosine would span max_steps and decay to ~0 (what the recipe used to do)
    trainer.args.lr_decay_steps = None
    trainer.lr_scheduler = None
    trainer.create_scheduler(num_training_steps=1000, optimizer=trainer.optimizer)
    assert trainer.lr_scheduler.lr_lambdas[0](900) * 1e-6 < 3e-8


def test_hf_recipe_samples_like_the_original(tiny_checkpoint, video_prompt, tmp_path, monkeypatch):
    """top_k 50 / top_p 0.95 / temperature 1 / no repetition penalty, and none of the checkpoint's own
    generation defaults (the tiny checkpoint, like the real one, ships top_k=1, temperature 0.1, 1.05)."""
    trainer = _grpo_trainer("grpo_video_7b.yaml", tiny_checkpoint, video_prompt, tmp_path, monkeypatch)
    assert json.loads((Path(tiny_checkpoint) / "generation_config.json").read_text())["top_k"] == 1
    effective, _ = trainer.model._prepare_generation_config(trainer.generation_config)
    assert (effective.top_k, effective.top_p, effective.temperature) == (50, 0.95, 1.0)
    assert effective.do_sample and effective.repetition_penalty == 1.0


def test_vllm_recipe_samples_like_the_original(tiny_checkpoint, video_prompt, tmp_path, monkeypatch):
    trainer = _grpo_trainer("grpo_video_7b_vllm.yaml", tiny_checkpoint, video_prompt, tmp_path, monkeypatch)
    assert not trainer.args.vllm_importance_sampling_correction
    _one_micro_step(trainer)
    engine = trainer.vllm_generation.llm._llm
    params = engine.sampling_params[0]
    get = params.get if isinstance(params, dict) else lambda k: getattr(params, k)
    assert (get("top_k"), get("top_p"), get("temperature"), get("repetition_penalty")) in {
        (0, 0.95, 1.0, 1.0),
        (-1, 0.95, 1.0, 1.0),
    }


@pytest.mark.parametrize("recipe", [*GRPO_RECIPES, "sft_video_7b.yaml"])
def test_recipes_train_with_the_original_temporal_spacing_and_batch(recipe, monkeypatch):
    from video_r1.cli import grpo, sft
    from video_r1.trainers import steps

    parser = (sft if recipe.startswith("sft") else grpo).build_parser()
    base = ["--config", str(CONFIGS / recipe), "--bf16", "false", "--use_cpu", "true"]
    args = parser.parse_args_and_config(base)[1]
    assert args.temporal_rope == "fixed_2fps"
    original = 8 if recipe.startswith("sft") else 4
    assert args.prompts_per_step == original
    assert args.gradient_accumulation_steps == original  # one process: everything accumulates
    monkeypatch.setattr(steps, "launch_world_size", lambda: 4)
    args = parser.parse_args_and_config(base)[1]
    assert args.gradient_accumulation_steps == original // 4  # the original's 4 GPUs
    monkeypatch.setattr(steps, "launch_world_size", lambda: 3)
    with pytest.raises(ValueError, match=f"prompts_per_step={original} cannot be split over 3 process"):
        parser.parse_args_and_config(base)


def test_derive_gradient_accumulation():
    assert derive_gradient_accumulation(4, 1, 4) == 1
    assert derive_gradient_accumulation(4, 1, 1) == 4
    assert derive_gradient_accumulation(8, 0.5, 4) == 4  # half a prompt (4 of 8 completions) per micro-batch
    with pytest.raises(ValueError, match="multiple of 8"):
        derive_gradient_accumulation(4, 1, 8)
    with pytest.raises(ValueError, match=">= 1"):
        derive_gradient_accumulation(0, 1, 1)


def test_global_batch_line():
    from types import SimpleNamespace

    args = SimpleNamespace(per_device_train_batch_size=8, gradient_accumulation_steps=1)
    assert global_batch_line(args, 4, 8).startswith(
        "global batch: 4 prompt(s) x 8 completions per optimizer step"
    )
    args = SimpleNamespace(per_device_train_batch_size=1, gradient_accumulation_steps=2)
    assert global_batch_line(args, 4).startswith("global batch: 8 sample(s) per optimizer step")
