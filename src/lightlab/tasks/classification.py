"""The one LightningModule of the template: supervised classification around any net."""

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from lightlab.batch import Batch
from lightlab.data.base import LabDataModule
from lightlab.nets.pretrained import HasBackbone, LoadsPretrained
from lightlab.ranges import PositiveFloat
from lightlab.tasks.class_loss import (
    TaskConfigError,
    imbalance_note,
    loss_and_predictions,
    training_class_weights,
)
from lightlab.tasks.compiling import CompileMode, compile_in_place
from lightlab.tasks.warm_start import WarmStarts

# The learning rate is the task's own hyperparameter (`--model.lr`), passed as the second argument.
OptimizerFactory = Callable[[Iterable, float], Optimizer]
SchedulerFactory = Callable[[Optimizer], LRScheduler | ReduceLROnPlateau]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the message says where and what to try."""


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Accuracy plus macro-averaged F1, precision and recall; they share one set of counts.

    Their own argument checks are off: they cost more than the counting (a ``torch.unique`` over
    the epoch's targets). The predictions are class indices by construction and the task checks the
    targets' range itself (``check_targets``).
    """
    fast = {"num_classes": num_classes, "validate_args": False}
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(**fast, average="micro"),
            "f1": MulticlassF1Score(**fast, average="macro"),
            "precision": MulticlassPrecision(**fast, average="macro"),
            "recall": MulticlassRecall(**fast, average="macro"),
        },
        prefix=prefix,
    )


def target_problem(targets: torch.Tensor, num_classes: int) -> str | None:
    """What makes ``targets`` no class indices (a DataModule's label encoding gone wrong), or None."""
    if targets.dim() != 1 or (targets.is_floating_point() and not torch.equal(targets, targets.round())):
        return (
            f"the data gives targets of shape {tuple(targets.shape)} and type {targets.dtype}, but this task "
            "takes one class index a sample; give the DataModule integer labels"
        )
    if not len(targets):
        return None
    low, high = torch.aminmax(targets)
    if low < 0 or high >= num_classes:
        return (
            f"the data gives targets from {int(low)} to {int(high)}, but a target must be a class index "
            f"from 0 to {num_classes - 1}; check the DataModule's labels and num_classes"
        )
    return None


def check_targets(targets: torch.Tensor, num_classes: int) -> None:
    """Refuse targets that are no class indices, in one line."""
    problem = target_problem(targets, num_classes)
    if problem:
        raise TaskConfigError(problem)


class ClassificationTask(WarmStarts, LightningModule):
    """Trains any net that maps a batch to class logits; loss, optimizer and scheduler come from config.

    A batch is a dict: ``target`` holds the class indices and every other entry (``inputs``, plus
    ``lengths`` for sequences) is passed to ``net`` as a keyword argument. The template's nets
    give one logit per class (cross-entropy); a net of your own may give a single logit for a
    two-class task, which is then treated as binary (BCE with logits); ``tasks/class_loss.py``
    holds that rule.

    ``class_weights`` weighs the training loss per class: ``balanced`` gives each class the same
    total weight (``n / (classes * n_c)`` from the training split's counts), or give one weight a
    class. Validation and test losses stay unweighted, so runs with and without weights compare.

    ``init_from`` (a checkpoint) starts training from that run's net weights, with a fresh
    optimizer, schedule and epoch count (``tasks/warm_start.py``); a run resumed from its own
    checkpoint does not take them again.

    ``compile_net`` compiles the net in place with ``torch.compile`` (``compile_mode``) when training
    starts; checkpoints and everything that reads them are the same as without
    (``tasks/compiling.py``).

    A NaN or infinite training loss stops training at once with ``NonFiniteLossError`` (before the
    bad step changes the weights), unless ``stop_on_nonfinite_loss`` is false.

    Results: metrics are logged once per epoch as ``{train,val,test}/{loss,acc,f1,precision,recall}``,
    and ``test_confusion_matrix`` holds the counts of the last test epoch. Each
    step only keeps its loss and predicted classes (a few bytes per sample); torchmetrics sees the
    whole epoch at once at its end, which costs far less than updating four metrics every step.
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        lr: PositiveFloat = 1e-3,
        optimizer: OptimizerFactory = torch.optim.Adam,
        lr_scheduler: SchedulerFactory | None = None,
        scheduler_monitor: str = "val/loss",
        loss: nn.Module | None = None,
        stop_on_nonfinite_loss: bool = True,
        backbone_lr: PositiveFloat | None = None,
        class_weights: Literal["balanced"] | list[PositiveFloat] | None = None,
        init_from: str | None = None,
        compile_net: bool = False,
        compile_mode: CompileMode = "default",
    ) -> None:
        super().__init__()
        # Under the CLI the net and loss are saved as their config (class path and arguments), so
        # ``ClassificationTask.load_from_checkpoint(path)`` rebuilds them.
        self.save_hyperparameters()
        if isinstance(loss, nn.BCEWithLogitsLoss | nn.BCELoss) and num_classes > 2:
            raise TaskConfigError(
                f"{type(loss).__name__} is for binary tasks with one output logit, but the data has "
                f"{num_classes} classes; use torch.nn.CrossEntropyLoss or another multi-class loss"
            )
        if backbone_lr is not None and not isinstance(net, HasBackbone):
            raise TaskConfigError(
                "backbone_lr needs a net with a backbone and a head (submodules named so), "
                f"not {type(net).__name__}; remove --model.backbone_lr"
            )
        if class_weights is not None and loss is not None:
            raise TaskConfigError(
                f"class_weights weigh the default loss, not {type(loss).__name__}: give your loss its own "
                "weights, or remove --model.class_weights"
            )
        if isinstance(class_weights, list) and len(class_weights) != num_classes:
            raise TaskConfigError(
                f"class_weights has {len(class_weights)} weights for {num_classes} classes; give one a class "
                "in the class order (summary.json's class_names), or 'balanced'"
            )
        self.net = net
        self.loss_fn = loss
        self.warm_start = None
        self.register_buffer("class_weight", None, persistent=False)
        self.num_classes = num_classes
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.train_metrics = classification_metrics(num_classes, "train/")
        self.val_metrics = classification_metrics(num_classes, "val/")
        self.test_metrics = classification_metrics(num_classes, "test/")
        self.train_loss, self.val_loss, self.test_loss = MeanMetric(), MeanMetric(), MeanMetric()
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self._test_confusion_counts: torch.Tensor | None = None
        self._epoch_outputs: dict[str, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
            "train": [],
            "val": [],
            "test": [],
        }

    def forward(self, inputs: torch.Tensor, **extras: torch.Tensor) -> torch.Tensor:
        return self.net(inputs, **extras)

    def _shared_step(self, batch: Batch, stage: str) -> torch.Tensor:
        target = batch["target"]
        logits = self(**{k: v for k, v in batch.items() if k != "target"})
        weight = self.class_weight if stage == "train" else None
        loss, preds = loss_and_predictions(logits, target, self.num_classes, self.loss_fn, weight)
        self._epoch_outputs[stage].append((loss.detach(), preds, target))
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self._shared_step(batch, "train")
        if self.hparams.stop_on_nonfinite_loss:
            self._stop_if_nonfinite(loss)
        return loss

    def _stop_if_nonfinite(self, loss: torch.Tensor) -> None:
        bad = not math.isfinite(loss.item())  # a host sync, as bool(tensor) would be; cheaper on a CPU
        try:
            strategy = self.trainer.strategy
        except RuntimeError:  # a step called by hand, outside a Trainer
            strategy = None
        if strategy is not None:
            # Every process takes the same decision, so none is left waiting in a collective.
            bad = strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            raise NonFiniteLossError(
                f"the training loss is not finite ({loss.item()} here) at epoch {self.current_epoch}, step "
                f"{self.global_step}; try a lower --model.lr, --trainer.gradient_clip_val 1.0, or 32-bit "
                "precision (--trainer.precision 32-true)"
            )

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def predict_step(self, batch: Batch, batch_idx: int) -> dict[str, torch.Tensor]:
        probs = self.probabilities(self(**{k: v for k, v in batch.items() if k != "target"}))
        return {"probs": probs, "preds": probs.argmax(dim=-1)}

    @staticmethod
    def probabilities(logits: torch.Tensor) -> torch.Tensor:
        """``(B, classes)`` probabilities: softmax, or for one logit (binary) sigmoid and its complement."""
        if logits.shape[-1] == 1:
            positive = torch.sigmoid(logits.squeeze(-1))
            return torch.stack([1 - positive, positive], dim=-1)
        return logits.softmax(dim=-1)

    def _log_epoch(self, stage: str) -> None:
        # torchmetrics syncs across processes inside compute(), so the values are global.
        metrics, loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_loss")
        outputs = self._epoch_outputs[stage]
        if not outputs and self.trainer.world_size == 1:
            return
        # A process whose unpadded share of an evaluation split is empty still joins the sync.
        has_outputs, problem = bool(outputs), None
        if has_outputs:
            losses, preds, targets = zip(*outputs, strict=True)
            outputs.clear()
            sizes = torch.tensor([len(t) for t in targets], dtype=torch.float32, device=losses[0].device)
            loss.update(torch.stack(losses).float(), weight=sizes)
            preds, targets = torch.cat(preds), torch.cat(targets)
            problem = target_problem(targets, self.num_classes)
        # Every process takes the same decision, so none is left waiting in the metrics' sync.
        if self.trainer.strategy.reduce_boolean_decision(problem is not None, all=False):
            raise TaskConfigError(problem or "another process's targets are no class indices; see its error")
        if has_outputs:
            metrics.update(preds, targets)
            if stage == "test":
                self.test_confusion.update(preds, targets)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*was called before the ``update`` method.*")
            if stage == "test":
                self._test_confusion_counts = self.test_confusion.compute()
                with torch.inference_mode(False):
                    self.test_confusion.reset()
            values = metrics.compute()
            values[f"{stage}/loss"] = loss.compute()
        # Already global after compute(); sync_dist averages identical values, so it changes nothing
        # but keeps every rank's logged value the same by construction.
        self.log_dict(values, prog_bar=stage == "val", sync_dist=True)
        # Validation runs under inference mode; states reset there would be inference tensors that a
        # later training-time update (validate, then fit) may not modify in place.
        with torch.inference_mode(False):
            metrics.reset()
            loss.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    @property
    def test_confusion_matrix(self) -> torch.Tensor | None:
        """``(C, C)`` counts of the last test epoch (rows: true class, columns: predicted); None
        before any test."""
        return self._test_confusion_counts

    @property
    def backbone(self) -> nn.Module:
        """The net's feature extractor, for Lightning's ``BackboneFinetuning``; only nets that have
        one (``HasBackbone``) do."""
        if not isinstance(self.net, HasBackbone):
            raise AttributeError(f"{type(self.net).__name__} has no backbone")
        return self.net.backbone

    def prepare_data(self) -> None:
        # Once per machine, before the loggers start: a download that cannot happen (offline) or a
        # missing vectors file is then the run's one line of output.
        # A warm start brings its own weights: nothing pretrained is fetched or loaded under them.
        if self.starts_pretrained and self.trainer.state.fn == TrainerFn.FITTING:
            self.net.fetch_pretrained()

    @property
    def starts_pretrained(self) -> bool:
        """Whether training starts from the net's own pretrained weights (not from ``init_from``)."""
        return isinstance(self.net, LoadsPretrained) and not self.hparams.get("init_from")

    def setup(self, stage: str) -> None:
        if stage != "fit":
            return
        # Pretrained starting points are loaded for training only; a resumed run's checkpoint,
        # restored after this, replaces them.
        datamodule = self.trainer.datamodule
        if self.starts_pretrained:
            vocabulary = datamodule.vocabulary() if isinstance(datamodule, LabDataModule) else None
            self.net.load_pretrained(vocabulary)
        chosen = self.hparams.get("class_weights")
        note = imbalance_note(datamodule, weighted=chosen is not None, own_loss=self.loss_fn is not None)
        if note and self.trainer.is_global_zero:
            print(note, flush=True)
        if chosen is not None:
            self.class_weight = training_class_weights(chosen, datamodule, self.num_classes).to(self.device)

    def on_fit_start(self) -> None:
        super().on_fit_start()
        if self.hparams.get("compile_net"):
            compile_in_place(self.net, self.hparams.compile_mode, self.device.type)

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The trainable parameters (frozen ones are left to a finetuning callback to add), as one
        ``head`` group at ``lr`` and, with ``backbone_lr``, a ``backbone`` group at that rate; the
        learning-rate monitor logs each group as ``lr-<optimizer>/<name>``."""
        trainable = [p for p in self.parameters() if p.requires_grad]
        if self.hparams.backbone_lr is None:
            return [{"params": trainable}]
        in_backbone = {id(p) for p in self.net.backbone.parameters()}
        groups = [
            {"params": [p for p in trainable if id(p) not in in_backbone], "name": "head"},
            {
                "params": [p for p in trainable if id(p) in in_backbone],
                "name": "backbone",
                "lr": self.hparams.backbone_lr,
            },
        ]
        return [group for group in groups if group["params"]]

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameter_groups(), self.hparams.lr)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": self.hparams.scheduler_monitor},
        }
