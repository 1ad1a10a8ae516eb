"""Training-time augmentation applied to a whole batch of image tensors at once (on any device)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad ``(B, C, H, W)`` images by ``padding`` zeros; cut each back to HxW at its own random offset."""
    if padding <= 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator).to(images.device)
    rows = (offsets[0, :, None] + torch.arange(height, device=images.device))[:, :, None]  # (B, H, 1)
    cols = (offsets[1, :, None] + torch.arange(width, device=images.device))[:, None, :]  # (B, 1, W)
    picked = padded.permute(0, 2, 3, 1)[torch.arange(batch, device=images.device)[:, None, None], rows, cols]
    return picked.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def random_hflip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror a random half of the batch left to right."""
    flip = (torch.rand(images.shape[0], generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)
