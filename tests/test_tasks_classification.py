import pytest
import torch
from lightning.pytorch import Trainer

from lightlab.data import IrisDataModule
from lightlab.data.in_memory import InMemoryDataset, in_memory_loader
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask


def _task(num_classes: int = 3, **kwargs) -> ClassificationTask:
    return ClassificationTask(
        MLP(num_classes=num_classes, in_features=4, hidden_sizes=[16]), num_classes, **kwargs
    )


def test_training_step_returns_a_differentiable_scalar():
    task = _task()
    batch = {"inputs": torch.randn(8, 4), "target": torch.randint(0, 3, (8,))}
    loss = task.training_step(batch, 0)
    assert loss.shape == ()
    loss.backward()
    assert all(p.grad is not None for p in task.net.parameters())


def _quiet_trainer(**kwargs) -> Trainer:
    return Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_epoch_metrics_match_a_hand_computation():
    task = _task()
    data = InMemoryDataset(inputs=torch.randn(50, 4), target=torch.randint(0, 3, (50,)))
    results = _quiet_trainer().validate(task, in_memory_loader(data, 16, shuffle=False), verbose=False)[0]
    with torch.no_grad():
        logits = task.net(data.tensors["inputs"])
    target = data.tensors["target"]
    preds = logits.argmax(-1)
    assert results["val/acc"] == pytest.approx((preds == target).float().mean().item())
    assert results["val/loss"] == pytest.approx(
        torch.nn.functional.cross_entropy(logits, target).item(), rel=1e-5
    )
    recalls = [((preds == c) & (target == c)).sum() / max((target == c).sum(), 1) for c in range(3)]
    assert results["val/recall"] == pytest.approx(torch.stack(recalls).float().mean().item(), rel=1e-5)
    assert set(results) == {"val/acc", "val/f1", "val/precision", "val/recall", "val/loss"}


def test_one_logit_means_binary_cross_entropy():
    task = ClassificationTask(MLP(num_classes=1, in_features=4, hidden_sizes=[8]), num_classes=2)
    batch = {"inputs": torch.randn(6, 4), "target": torch.tensor([0, 1, 0, 1, 1, 0])}
    loss = task.training_step(batch, 0)
    logits = task.net(batch["inputs"]).squeeze(-1)
    torch.testing.assert_close(
        loss, torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["target"].float())
    )
    out = task.predict_step(batch, 0)
    assert out["probs"].shape == (6, 2)
    torch.testing.assert_close(out["probs"].sum(-1), torch.ones(6))


def test_extra_batch_entries_reach_the_net_as_keywords():
    class NeedsLengths(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.seen = None
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, inputs, lengths):
            self.seen = lengths
            return self.linear(inputs)

    net = NeedsLengths()
    task = ClassificationTask(net, num_classes=3)
    lengths = torch.tensor([1, 2])
    task.training_step({"inputs": torch.randn(2, 4), "lengths": lengths, "target": torch.tensor([0, 2])}, 0)
    assert torch.equal(net.seen, lengths)


def test_optimizer_gets_the_task_learning_rate_and_scheduler_is_wired():
    task = _task(
        lr=0.05,
        optimizer=lambda params, lr: torch.optim.SGD(params, lr, momentum=0.9),
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1),
    )
    config = task.configure_optimizers()
    assert config["optimizer"].param_groups[0]["lr"] == pytest.approx(0.05)
    assert config["lr_scheduler"]["monitor"] == "val/loss"


def test_accuracy_rises_with_training():
    torch.manual_seed(0)
    dm = IrisDataModule()
    task = _task(lr=0.02)
    trainer = Trainer(
        max_epochs=15,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    before = trainer.validate(task, datamodule=dm, verbose=False)[0]["val/acc"]
    trainer.fit(task, datamodule=dm)
    after = trainer.validate(task, datamodule=dm, verbose=False)[0]["val/acc"]
    assert after >= 0.85
    assert after > before + 0.2


def test_targets_outside_the_classes_are_named_in_one_line():
    from lightlab.tasks.class_loss import TaskConfigError
    from lightlab.tasks.classification import check_targets

    check_targets(torch.tensor([0, 2, 1]), 3)  # class indices pass
    expected = "targets from 0 to 3, but a target must be a class index from 0 to 2"
    with pytest.raises(TaskConfigError, match=expected):
        check_targets(torch.tensor([0, 3, 1]), 3)
    with pytest.raises(TaskConfigError, match="from -1 to 1"):
        check_targets(torch.tensor([-1, 1]), 3)
    with pytest.raises(TaskConfigError, match="one class index a sample; give the DataModule integer labels"):
        check_targets(torch.tensor([0.0, 0.95]), 3)  # soft targets
    with pytest.raises(TaskConfigError, match=r"shape \(2, 3\)"):
        check_targets(torch.full((2, 3), 1 / 3), 3)  # class probabilities
    check_targets(torch.tensor([0.0, 2.0]), 3)  # whole numbers as floats are class indices
