"""What a net that starts from pretrained parameters declares, so the task can start it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LoadsPretrained(Protocol):
    """A net with pretrained starting parameters (image backbone weights, word vectors).

    For training only, the task first calls ``fetch_pretrained`` once per machine, before
    anything else starts (download, or check the file is there: a missing one is then the run's
    only output), then ``load_pretrained`` in every process, with the data's vocabulary (the token
    of each id) where it has one. A net rebuilt from a checkpoint is never asked, so it needs
    neither the download nor the vectors file."""

    def fetch_pretrained(self) -> None: ...

    def load_pretrained(self, vocabulary: list[str] | None = None) -> None: ...


@runtime_checkable
class HasBackbone(Protocol):
    """A net made of a feature ``backbone`` and a classification ``head`` (``TorchvisionNet``)."""

    backbone: object
    head: object
