"""Per-batch hooks a callback leaves empty are switched off; every hook that does something runs."""

from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from lightlab.callbacks.batch_hooks import BATCH_HOOKS, empty_batch_hooks, skip_empty_batch_hooks
from lightlab.data import IrisDataModule
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask


class CountsBatchEnds(Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.calls += 1


class CallsUp(CountsBatchEnds):
    """Overrides a hook its parent left empty and calls up to it."""

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        super().on_before_backward(trainer, pl_module, loss)
        self.calls += 100


def fit(callbacks: list[Callback], tmp_path, skip: bool) -> Trainer:
    trainer = Trainer(
        max_epochs=2,
        default_root_dir=tmp_path,
        callbacks=list(callbacks),  # the Trainer adds its own to the list it is given
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    if skip:
        skip_empty_batch_hooks(trainer)
    trainer.fit(ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3), IrisDataModule())
    return trainer


def test_only_the_empty_hooks_are_switched_off():
    counts = CountsBatchEnds()
    assert set(empty_batch_hooks(counts)) == set(BATCH_HOOKS) - {"on_train_batch_end"}
    assert "on_train_batch_end" not in empty_batch_hooks(ModelCheckpoint())
    given = Callback()
    given.on_train_batch_start = lambda *args: None  # an instance's own hook is kept
    assert "on_train_batch_start" not in empty_batch_hooks(given)


def test_a_fit_runs_every_hook_that_does_something(tmp_path):
    plain, skipped = [CountsBatchEnds(), CallsUp()], [CountsBatchEnds(), CallsUp()]
    fit(plain, tmp_path / "plain", skip=False)
    trainer = fit(skipped, tmp_path / "skipped", skip=True)
    assert [c.calls for c in skipped] == [c.calls for c in plain]
    assert skipped[0].calls > 0 and skipped[1].calls > 100 * skipped[0].calls
    assert skipped[0].on_before_backward is None and callable(skipped[1].on_before_backward)
    # Lightning's own callbacks too: the best checkpoint is still written.
    checkpoint = trainer.checkpoint_callback
    assert checkpoint.on_train_batch_start is None and checkpoint.best_model_path
