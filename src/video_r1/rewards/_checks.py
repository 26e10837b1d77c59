"""Argument checks shared by the bonus functions (tensor-only; torch is imported by the caller)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def check_1d_float_tensor(name: str, value: torch.Tensor) -> None:
    """Raise a clear error unless ``value`` is a 1-D floating-point tensor."""
    if value.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one group), got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
