"""Cross-entropy written out: log-softmax, ``gather`` for the true class, label smoothing, class weights."""

from collections.abc import Sequence

import torch
from torch import nn

from lightlab.ranges import Fraction, NonNegativeFloat


class SmoothedNLLLoss(nn.Module):
    """Negative log-likelihood of the true class from raw logits, with optional label smoothing and
    class weights; equal to ``F.cross_entropy(logits, target, weight, label_smoothing=ε)``.

    With log-probabilities ``p = log_softmax(logits)``, targets ``y`` and weights ``w``::

        nll    = Σᵢ w[yᵢ]·(-p[i, yᵢ]) / Σᵢ w[yᵢ]
        smooth = Σᵢ Σ_c w[c]·(-p[i, c]) / Σᵢ w[yᵢ]
        loss   = (1 - ε)·nll + (ε / C)·smooth

    Smoothing moves ε of each target's probability mass evenly onto all C classes, which keeps
    the net from growing its logits without bound on data it already classifies correctly.
    """

    def __init__(
        self, label_smoothing: Fraction = 0.0, class_weights: Sequence[NonNegativeFloat] | None = None
    ) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing
        weights = torch.as_tensor(class_weights, dtype=torch.float32) if class_weights is not None else None
        self.register_buffer("class_weights", weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2 or target.dim() != 1 or target.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"SmoothedNLLLoss needs (N, C) logits and (N,) integer class targets, got logits "
                f"{tuple(logits.shape)} and targets {tuple(target.shape)} {target.dtype}; for one-logit "
                "binary nets use BCEWithLogitsLoss"
            )
        num_classes = logits.shape[1]
        log_probs = logits.log_softmax(dim=1)
        true_class = log_probs.gather(1, target.long().unsqueeze(1)).squeeze(1)
        if self.class_weights is None:
            nll = -true_class.mean()
            smooth = -log_probs.sum(dim=1).mean()
        else:
            if self.class_weights.numel() != num_classes:
                raise ValueError(
                    f"class_weights has {self.class_weights.numel()} entries but the net outputs "
                    f"{num_classes} classes; give one weight per class"
                )
            weights = self.class_weights.to(log_probs.dtype)
            total = weights[target].sum()
            nll = -(weights[target] * true_class).sum() / total
            smooth = -(log_probs * weights).sum() / total
        return (1.0 - self.label_smoothing) * nll + (self.label_smoothing / num_classes) * smooth

    def extra_repr(self) -> str:
        weighted = self.class_weights is not None
        return f"label_smoothing={self.label_smoothing}, class_weights={'yes' if weighted else 'none'}"
