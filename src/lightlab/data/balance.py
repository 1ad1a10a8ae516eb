"""How many samples each class has, what to do when some are rare, and the sampler that draws
training batches with every class equally likely.

A split's counts come from ``LabDataModule.split_targets``; ``make show-data`` draws them,
``summary.json`` records them, and a training run whose rarest class has under a tenth of the
commonest one's samples says so in one line, with the two remedies the template offers:
weighting the loss (``--model.class_weights balanced``) and drawing balanced batches
(``--data.init_args.balanced true``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from torch.utils.data import DistributedSampler

SPLITS = ("train", "val", "test")
# A class with fewer than this share of the commonest class's training samples counts as rare.
IMBALANCE_RATIO = 0.1


def count_classes(targets: torch.Tensor, num_classes: int) -> list[int]:
    """Samples per class index, zeros included."""
    return torch.bincount(targets.long().flatten().cpu(), minlength=num_classes).tolist()


def named_counts(counts: Sequence[int], class_names: Sequence[str]) -> dict[str, int]:
    """``{class name: samples}`` in class order."""
    return {name: int(n) for name, n in zip(class_names, counts, strict=True)}


def imbalance_line(
    train_counts: Mapping[str, int], offers_balanced: bool = True, offers_weights: bool = True
) -> str | None:
    """One line when the rarest training class has under a tenth of the commonest one's samples,
    naming both and the remedies: balanced batches when the DataModule ``offers_balanced``, the
    task's class weights when it ``offers_weights`` (the default loss), else weights in your loss.
    None for data balanced enough."""
    if len(train_counts) < 2:
        return None
    rare = min(train_counts, key=train_counts.__getitem__)
    common = max(train_counts, key=train_counts.__getitem__)
    if train_counts[rare] >= IMBALANCE_RATIO * train_counts[common]:
        return None
    remedies = (
        "--model.class_weights balanced (weights the training loss)"
        if offers_weights
        else "class weights in your own loss"
    )
    if offers_balanced:
        remedies += ", --data.init_args.balanced true (draws every class equally often)"
    return (
        f"class balance: '{rare}' has {train_counts[rare]} training samples, '{common}' has "
        f"{train_counts[common]}; accuracy will flatter the model. Remedies: {remedies}; watch "
        "val/recall and val/f1"
    )


def balanced_class_weights(counts: Sequence[int]) -> torch.Tensor:
    """``n / (classes * n_c)`` per class: each class adds the same total weight to the loss (a class
    without training samples gets weight 0)."""
    counts_t = torch.as_tensor(counts, dtype=torch.float64)
    present = counts_t > 0
    weights = torch.zeros_like(counts_t)
    weights[present] = counts_t.sum() / (int(present.sum()) * counts_t[present])
    return weights.float()


def balanced_draw(targets: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` sample indices drawn with replacement, every class present equally likely and
    every sample equally likely within its class (a class first, then one of its samples, so any
    number of samples works)."""
    targets = targets.long().flatten().cpu()
    _, inverse, sizes = torch.unique(targets, return_inverse=True, return_counts=True)
    by_class = torch.argsort(inverse, stable=True)  # the indices, grouped class by class
    starts = torch.cumsum(sizes, 0) - sizes
    classes = torch.randint(len(sizes), (count,), generator=generator)
    within = (torch.rand(count, generator=generator, dtype=torch.float64) * sizes[classes]).long()
    return by_class[starts[classes] + within]


class BalancedSampler(DistributedSampler):
    """Training indices drawn with replacement, each class as likely as any other.

    Each epoch draws ``len(targets)`` indices from ``seed + epoch`` (the same on every process) and
    process ``rank`` of ``num_replicas`` takes every ``num_replicas``-th of them, so under DDP the
    processes share one draw without overlap. Lightning leaves a ``DistributedSampler`` in place
    and calls ``set_epoch`` on it.
    """

    def __init__(self, targets: torch.Tensor, seed: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        self.targets = targets
        super().__init__(range(len(targets)), num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)

    def draw(self) -> torch.Tensor:
        """This epoch's indices for all processes together."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return balanced_draw(self.targets, self.total_size, generator)

    def __iter__(self) -> Iterator[int]:
        # Drawn when the first index is asked for, after Lightning's set_epoch (as the text batches).
        yield from self.draw()[self.rank :: self.num_replicas].tolist()
