"""Every path that builds a Qwen2.5-VL model computes the released positions (not transformers 5.17's).

Each test starts from transformers' own method (fixture ``stock_mrope``) and builds the path as a user
would; the path must install the released rule itself.
"""

from __future__ import annotations

import torch

from video_r1.data.records import load_records
from video_r1.models.qwen2_5_vl import uses_released_mrope


def _released(model) -> bool:
    return uses_released_mrope(model)


def test_stock_fixture_really_restores_transformers(stock_mrope, tiny_checkpoint):
    from transformers import AutoModelForImageTextToText

    assert not _released(AutoModelForImageTextToText.from_pretrained(tiny_checkpoint))


def test_tgrpo_trainer_policy_and_reference(stock_mrope, tiny_checkpoint, synthetic_data, tmp_path):
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer

    args = TGRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        num_generations=2,
        max_steps=1,
        report_to="none",
        vision_preset="tiny",
        use_cpu=True,
        beta=0.04,
    )
    trainer = TGRPOTrainer(
        model=str(tiny_checkpoint), args=args, train_dataset=load_records(synthetic_data["train"])
    )
    assert _released(trainer.model)
    assert trainer.ref_model is not None and _released(trainer.ref_model)


def test_sft_trainer(stock_mrope, tiny_checkpoint, synthetic_data, tmp_path):
    from video_r1.trainers import VideoSFTConfig, VideoSFTTrainer

    args = VideoSFTConfig(
        output_dir=str(tmp_path), max_steps=1, report_to="none", vision_preset="tiny", use_cpu=True
    )
    dataset = load_records(synthetic_data["cot"], require_process=True)
    trainer = VideoSFTTrainer(model=str(tiny_checkpoint), args=args, train_dataset=dataset)
    assert _released(trainer.model)


def test_hf_eval_backend_from_path_and_from_instance(stock_mrope, tiny_checkpoint):
    from transformers import AutoModelForImageTextToText

    from video_r1.inference import BackendOptions, HFBackend, SamplingConfig

    options = BackendOptions(preset="tiny", sampling=SamplingConfig(temperature=0))
    backend = HFBackend(str(tiny_checkpoint), options, device="cpu")
    assert _released(backend.model)
    backend.close()

    stock_mrope.get_rope_index = stock_mrope.transformers_get_rope_index
    model = AutoModelForImageTextToText.from_pretrained(tiny_checkpoint, dtype=torch.float32)
    assert not _released(model)
    backend = HFBackend(str(tiny_checkpoint), options, device="cpu", model=model)
    assert _released(backend.model)
    backend.close()
