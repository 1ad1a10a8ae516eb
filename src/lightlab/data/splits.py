"""Seeded, stratified train/val/test splits and cross-validation folds shared by every DataModule,
and the order classes are numbered in."""

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


def stratified_fold(
    targets: torch.Tensor, pool: torch.Tensor, folds: int, fold: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the samples ``pool`` (indices into ``targets``) into ``folds`` stratified folds and return
    ``(train, held_out)``: fold ``fold`` held out, the others to train on.

    Each class's members are shuffled with ``seed`` and dealt round-robin, so every fold holds each
    class's share to within one sample and the same seed always gives the same folds.
    """
    if folds < 2:
        raise ValueError(f"folds={folds}: cross-validation needs at least 2 folds")
    if not 0 <= fold < folds:
        raise ValueError(f"fold={fold} is not one of the {folds} folds (0 to {folds - 1})")
    generator = torch.Generator().manual_seed(seed)
    pool_targets = targets[pool]
    labels, counts = torch.unique(pool_targets, return_counts=True)
    smallest = int(counts.min())
    if folds > smallest:
        label = int(labels[counts.argmin()])
        raise ValueError(
            f"folds={folds} is more than the {smallest} sample(s) class {label} has to train and "
            f"validate on, so a fold would miss it; use at most {smallest} folds"
        )
    train, held_out = [], []
    for label in labels:
        members = pool[pool_targets == label]
        members = members[torch.randperm(len(members), generator=generator)]
        position = torch.arange(len(members)) % folds
        held_out.append(members[position == fold])
        train.append(members[position != fold])
    return torch.sort(torch.cat(train)).values, torch.sort(torch.cat(held_out)).values


def split_for_run(
    targets: torch.Tensor,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    folds: int | None = None,
    fold: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A DataModule's train/val/test split: ``stratified_split``, or with ``folds`` the test split
    kept as it is and train+val re-cut into stratified folds, fold ``fold`` as the validation."""
    train, val, test = stratified_split(targets, val_fraction, test_fraction, seed)
    if folds is None:
        return train, val, test
    train, val = stratified_fold(targets, torch.cat([train, val]), folds, fold, seed)
    return train, val, test


def label_order(labels: set[str]) -> list[str]:
    """Integer labels in numeric order (so "10" follows "9"), other labels alphabetically."""
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return sorted(labels)
