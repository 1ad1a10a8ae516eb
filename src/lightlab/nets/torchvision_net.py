"""Any torchvision classification model as a backbone with a new head, pretrained or not."""

import urllib.error
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision import models

from lightlab.errors import UserError
from lightlab.nets.image_preprocessing import ImagePreprocessing
from lightlab.ranges import Fraction

FREEZE_CHOICES = ("backbone", "none")


def weights_enum(name: str) -> Any:
    """torchvision's weights enum of model ``name`` (e.g. ``ResNet18_Weights`` for ``resnet18``)."""
    available = models.list_models(module=models)
    if name not in available:
        raise UserError(
            f"unknown torchvision model {name!r}; choose a classification model such as resnet18, resnet50, "
            "efficientnet_b0, mobilenet_v3_small, mobilenet_v3_large, convnext_tiny or vit_b_16"
        )
    return models.get_model_weights(name)


def chosen_weights(name: str, weights: str | None) -> Any:
    """The weights entry ``weights`` names (``DEFAULT``, ``IMAGENET1K_V1``… or the full
    ``ResNet18_Weights.IMAGENET1K_V1``), or None for random initialisation."""
    if weights is None or str(weights).lower() in ("none", "null"):
        return None
    enum = weights_enum(name)
    member = str(weights).rsplit(".", 1)[-1]
    if member not in enum.__members__:
        raise UserError(
            f"{name} has no weights {weights!r}; choose one of {', '.join(enum.__members__)} or null"
        )
    return enum[member]


def cached_file(weights: Any) -> Path:
    """Where torchvision keeps the downloaded file of ``weights``: ``$TORCH_HOME/hub/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def load_weights(weights: Any) -> dict[str, torch.Tensor]:
    """The state dict of ``weights``, downloaded by torchvision into its cache on first use."""
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (urllib.error.URLError, OSError, RuntimeError) as error:
        file = cached_file(weights)
        raise UserError(
            f"cannot get the {weights} weights ({error.__class__.__name__}: {error}); download "
            f"{weights.url} and put it at {file} (or set weights: null)"
        ) from None


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The classification layer: the last ``nn.Linear`` of the model, with its dotted name."""
    found = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not found:
        raise UserError(f"{type(model).__name__} has no linear classification layer to replace")
    return found[-1]


class TorchvisionNet(nn.Module):
    """A torchvision model by ``name`` with its classification layer replaced for ``num_classes``.

    ``backbone`` is the model up to its features, ``head`` the new linear layer: the task can
    give them different learning rates (``backbone_lr``), and Lightning's ``BackboneFinetuning``
    freezes ``backbone`` and unfreezes it later.

    ``weights``: ``DEFAULT`` (torchvision's best ImageNet weights), a named entry such as
    ``IMAGENET1K_V1``, or null for random initialisation. They are loaded when training starts
    (a net rebuilt from a checkpoint does not download them). The image DataModule prepares the
    images as these weights were trained with (resize, centre crop, ImageNet mean/std;
    grayscale repeated to RGB), read from the weights' own transforms.

    ``freeze``: ``backbone`` (train the head only), ``none``, or the name of a backbone layer
    (``layer3``, ``features.6``…): every parameter before that layer stays fixed.

    ``input_shape`` (linked from the DataModule) is only checked: 1 or 3 channels.

    ``channels_last`` runs the convolutions in NHWC memory layout, which cuDNN's tensor-core
    kernels (with ``PRECISION=bf16-mixed``) and oneDNN on the CPU prefer; results are the same.
    """

    def __init__(
        self,
        name: str,
        num_classes: int,
        weights: str | None = "DEFAULT",
        freeze: str = "none",
        dropout: Fraction = 0.0,
        channels_last: bool = True,
        input_shape: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if input_shape is not None and input_shape[0] not in (1, 3):
            raise UserError(f"{name} takes 1- or 3-channel images, the data gives {input_shape[0]} channels")
        self.name = name
        self.weights = chosen_weights(name, weights)
        model = models.get_model(name, weights=None)
        head_name, old_head = last_linear(model)
        self._pretrained_head_name = head_name
        model.set_submodule(head_name, nn.Identity())
        self.backbone = model
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(old_head.in_features, num_classes))
        self.freeze_layers(freeze)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.backbone.to(memory_format=self.memory_format)

    def freeze_layers(self, what: str) -> None:
        """Fix ``backbone``, nothing (``none``), or every backbone parameter before layer ``what``."""
        if what == "none":
            return
        if what == "backbone":
            self.backbone.requires_grad_(False)
            return
        layers = dict(self.backbone.named_modules())
        if what not in layers or what == "":
            top = ", ".join(name for name, _ in self.backbone.named_children())
            raise UserError(
                f"freeze: {what!r} is not a layer of {self.name}; give backbone, none or one of: {top}"
            )
        first = {id(p) for p in layers[what].parameters()}
        for parameter in self.backbone.parameters():
            if id(parameter) in first:
                break
            parameter.requires_grad_(False)

    def image_preprocessing(self) -> ImagePreprocessing | None:
        return ImagePreprocessing.of_weights(self.weights) if self.weights is not None else None

    def fetch_pretrained(self) -> None:
        """Download the chosen weights into torchvision's cache, unless they are there."""
        if self.weights is not None and not cached_file(self.weights).is_file():
            load_weights(self.weights)

    def load_pretrained(self, vocabulary: list[str] | None = None) -> None:
        """Load the chosen weights into the backbone (the replaced head's are left out)."""
        if self.weights is None:
            return
        state = load_weights(self.weights)
        prefix = self._pretrained_head_name + "."
        kept = {key: value for key, value in state.items() if not key.startswith(prefix)}
        missing, unexpected = self.backbone.load_state_dict(kept, strict=False)
        if missing or unexpected:
            raise UserError(
                f"{cached_file(self.weights)} does not fit {self.name} (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}); delete it so torchvision downloads it again"
            )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[1] == 1:  # grayscale: the pretrained stem expects three channels
            inputs = inputs.expand(-1, 3, -1, -1)
        return self.head(self.backbone(inputs.contiguous(memory_format=self.memory_format)))
