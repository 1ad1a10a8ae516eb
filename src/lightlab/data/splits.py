"""Seeded, stratified train/val/test splits shared by every DataModule."""

from __future__ import annotations

import torch


def stratified_split(
    targets: torch.Tensor, val_fraction: float, test_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split sample indices into train/val/test so each class keeps its proportion in every part.

    Each class is shuffled with ``seed`` and cut by rounding its size times the fractions, so the
    same targets and seed always give the same split. Returns sorted index tensors.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must each be in [0, 1) "
            "and sum to less than 1"
        )
    generator = torch.Generator().manual_seed(seed)
    parts: tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]] = ([], [], [])
    for label in torch.unique(targets):
        members = torch.nonzero(targets == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = round(len(members) * val_fraction)
        n_test = round(len(members) * test_fraction)
        parts[1].append(members[:n_val])
        parts[2].append(members[n_val : n_val + n_test])
        parts[0].append(members[n_val + n_test :])
    train, val, test = (torch.sort(torch.cat(p)).values for p in parts)
    for name, fraction, split in (("val", val_fraction, val), ("test", test_fraction, test)):
        if fraction > 0 and len(split) == 0:
            raise ValueError(
                f"{name}_fraction={fraction} leaves the {name} split empty ({len(targets)} samples); raise it"
            )
    if len(train) == 0:
        raise ValueError(
            f"no samples left for training out of {len(targets)}; lower the val and test fractions"
        )
    return train, val, test
