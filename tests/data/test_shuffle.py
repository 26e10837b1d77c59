"""Frame orders for shuffled rollouts and evaluation (``video_r1.data.shuffle``)."""

from __future__ import annotations

import pytest
import torch

from video_r1.data.shuffle import seeded_generator, shuffle_permutation


def test_shuffle_permutation_is_never_identity():
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        perm = shuffle_permutation(4, "temporal_patch", gen).tolist()
        assert perm == [2, 3, 0, 1]  # the only non-identity order of two patches
        frame_perm = shuffle_permutation(2, "frame", gen).tolist()
        assert frame_perm == [1, 0]
    with pytest.raises(ValueError, match="cannot shuffle"):
        shuffle_permutation(1, "frame", gen)
    with pytest.raises(ValueError, match="even frame count"):
        shuffle_permutation(5, "temporal_patch", gen)


def test_temporal_patch_unit_keeps_pairs_together():
    perm = shuffle_permutation(16, "temporal_patch", seeded_generator(3)).tolist()
    assert sorted(perm) == list(range(16)) and perm != list(range(16))
    assert all(perm[i + 1] == perm[i] + 1 and perm[i] % 2 == 0 for i in range(0, 16, 2))


def test_seeded_generator_is_reproducible_and_key_sensitive():
    def draw(*keys):
        return torch.randperm(10, generator=seeded_generator(*keys)).tolist()

    assert draw(42, 0, 1) == draw(42, 0, 1)
    assert draw(42, 0, 1) != draw(42, 1, 1)
    assert draw(42, 0, 1) != draw(42, 0, 2)
