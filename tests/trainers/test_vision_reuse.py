"""Vision-feature reuse in the log-prob forward: same numbers as encoding every media once per completion."""

from __future__ import annotations

import pytest
import torch

from video_r1.data.records import load_records
from video_r1.rewards import accuracy_reward, format_reward
from video_r1.trainers import TGRPOTrainer

G = 4  # completions per prompt


def _trainer(tiny_checkpoint, dataset, tgrpo_config, **overrides):
    # fp32 end to end (the fixture's default): the comparison is about the arithmetic, not autocast rounding
    values = dict(per_device_train_batch_size=2 * G, num_generations=G, shuffled_num_generations=None)
    values.update(max_completion_length=5, learning_rate=1e-6, **overrides)
    return TGRPOTrainer(
        model=str(tiny_checkpoint),
        reward_funcs=[accuracy_reward, format_reward],
        args=tgrpo_config(**values),
        train_dataset=dataset,
    )


@pytest.fixture(scope="module")
def mixed_pair(synthetic_data):
    records = load_records(synthetic_data["train"])
    types = records["data_type"]
    return records.select([types.index("video"), types.index("image")])


def _batch(trainer):
    """G rows of the video prompt, G rows of the image prompt: (ids, mask, logits_to_keep, vision rows)."""
    rows = [trainer.train_dataset[0]] * G + [trainer.train_dataset[1]] * G
    rollout = trainer._prepare_rollout(rows)
    generator = torch.Generator().manual_seed(0)
    completions = torch.randint(100, 300, (len(rows), 5), generator=generator)
    width = max(len(ids) for ids in rollout.prompt_ids)
    pad = trainer.processing_class.tokenizer.pad_token_id
    prompt = torch.full((len(rows), width), pad)
    mask = torch.zeros((len(rows), width + 5), dtype=torch.long)
    for i, ids in enumerate(rollout.prompt_ids):
        prompt[i, width - len(ids) :] = torch.tensor(ids)
        mask[i, width - len(ids) :] = 1
    return torch.cat([prompt, completions], dim=1), mask, 5, rollout.vision


def _logps_and_grads(trainer, batch, reuse: bool):
    ids, mask, keep, vision = batch
    trainer.args.reuse_vision_features = reuse
    trainer.model.zero_grad()
    encoded = []
    hook = trainer.model.model.visual.register_forward_hook(
        lambda module, args, kwargs, out: encoded.append(int(kwargs["grid_thw"].shape[0])), with_kwargs=True
    )
    try:
        with trainer._vision_rows(vision):
            logps, _, _ = trainer._get_per_token_logps_and_entropies(
                trainer.model, ids, mask, keep, batch_size=3
            )
    finally:
        hook.remove()
    logps.sum().backward()
    grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return logps.detach(), grads, sum(encoded)


def test_reuse_matches_repeat_everything(tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config)
    batch = _batch(trainer)
    shared, shared_grads, shared_media = _logps_and_grads(trainer, batch, reuse=True)
    repeated, repeated_grads, repeated_media = _logps_and_grads(trainer, batch, reuse=False)

    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=0)
    assert shared_grads.keys() == repeated_grads.keys()
    assert any(n.startswith("model.visual") for n in shared_grads)  # gradients still reach the vision tower
    for name, grad in shared_grads.items():
        torch.testing.assert_close(grad, repeated_grads[name], atol=1e-4, rtol=0, msg=name)
    # chunks of 3 rows over [v v v | v i i | i i]: the distinct media per chunk are encoded once each
    assert shared_media == 1 + 2 + 1
    assert repeated_media == 2 * G


def test_frozen_vision_tower_gets_no_gradient(tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config, freeze_vision_tower=True)
    batch = _batch(trainer)
    shared, grads, _ = _logps_and_grads(trainer, batch, reuse=True)
    repeated, _, _ = _logps_and_grads(trainer, batch, reuse=False)
    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=0)
    assert grads and not any(n.startswith("model.visual") for n in grads)
    assert any(n.startswith("model.language_model") for n in grads)


def test_generation_prefill_encodes_each_media_once_with_identical_greedy_output(
    tiny_checkpoint, mixed_pair, tmp_path, tgrpo_config
):
    trainer = _trainer(tiny_checkpoint, mixed_pair, tgrpo_config, shuffled_num_generations=2)
    trainer.generation_config.do_sample = False  # greedy: both paths must produce the same tokens
    trainer.model.train()  # the rollout builds shuffled copies in train mode
    rows = [trainer.train_dataset[0]] * G + [trainer.train_dataset[1]] * G
    encoded: list[int] = []
    trainer.model.model.visual.register_forward_hook(
        lambda module, args, kwargs, out: encoded.append(int(kwargs["grid_thw"].shape[0])), with_kwargs=True
    )
    outputs = {}
    for reuse in (True, False):
        trainer.args.reuse_vision_features = reuse
        trainer._rollout = trainer._prepare_rollout(rows)
        prompt_ids, _, fields = trainer._tokenize_prompts([row["prompt"] for row in rows])
        encoded.clear()
        completions, _ = trainer._generate_single_turn(prompt_ids, None, fields, G)
        outputs[reuse] = (completions, trainer._rollout.shuffled.completion_ids, sum(encoded))
        trainer._rollout = None
    assert len(outputs[True][1]) == 2  # the video prompt's shuffled rows went through the same call
    assert outputs[True][:2] == outputs[False][:2]
    # ordered video + shuffled video + image, once each; the plain path encodes every row (G + G + 2)
    assert outputs[True][2] == 3
    assert outputs[False][2] == 2 * G + 2
    assert "generate" not in vars(trainer.model)  # the wrapper is removed after the call
