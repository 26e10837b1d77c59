"""video-r1: a reproduction of Video-R1 (T-GRPO video reasoning for Qwen2.5-VL) on the Hugging Face stack."""

__version__ = "0.1.0"
