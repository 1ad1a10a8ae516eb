"""``learning_curves.png`` holds every epoch's train and val metrics and is there while training runs."""

from lightning.pytorch import Trainer

from lightlab.callbacks import LearningCurves
from lightlab.data import IrisDataModule
from lightlab.nets import MLP
from lightlab.tasks import ClassificationTask


class StopAfter(LearningCurves):
    """Records whether the picture existed when the third epoch started."""

    def on_train_epoch_start(self, trainer, pl_module):
        super().on_train_epoch_start(trainer, pl_module)
        if trainer.current_epoch == 2:
            self.seen_mid_run = self.path.is_file()


def test_every_epoch_is_drawn_and_the_picture_exists_mid_run(tmp_path):
    curves = StopAfter()
    trainer = Trainer(
        max_epochs=5,
        default_root_dir=tmp_path,
        callbacks=[curves],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3), IrisDataModule())
    assert curves.seen_mid_run
    assert len(curves.history) == 5
    for epoch in curves.history:
        assert {"train/loss", "train/acc", "val/loss", "val/acc", "lr"} <= epoch.keys()
    assert curves.history[-1]["train/loss"] < curves.history[0]["train/loss"]
    assert curves.path.read_bytes().startswith(b"\x89PNG")


def test_redraws_wait_a_hundred_times_as_long_as_a_drawing_took(tmp_path, monkeypatch):
    import time

    import lightlab.callbacks.plots as plots

    drawn = []

    def slow_drawing(history, path):
        time.sleep(0.05)  # a 50 ms drawing: the next one may come 5 s later at the earliest
        drawn.append(len(history))

    monkeypatch.setattr(plots, "save_learning_curves", slow_drawing)
    trainer = Trainer(
        max_epochs=6,
        default_root_dir=tmp_path,
        callbacks=[LearningCurves(redraw_seconds=0)],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(ClassificationTask(MLP(num_classes=3, in_features=4), num_classes=3), IrisDataModule())
    # After the first epoch, then not again until fit ends (iris epochs take milliseconds).
    assert drawn == [1, 6]
