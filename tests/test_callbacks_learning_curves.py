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
