"""Classify new inputs with a trained run: ``load_run`` from Python, or
``python -m lightlab predict <run folder> --input <path>`` (``make predict RUN=… INPUT=…``).

The DataModule and model are rebuilt from the run's own ``config.yaml`` and checkpoint, and the
DataModule takes back what its checkpoint kept (class names, feature scaling, vocabulary), so new
inputs are encoded exactly as in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from lightlab.data.base import LabDataModule
from lightlab.data.build import build_datamodule
from lightlab.errors import CommandParser, UserError, command
from lightlab.inference.predictions_csv import Predictor
from lightlab.quiet import silence_known_noise
from lightlab.run.checkpoints import add_checkpoint_flag, run_folder_files
from lightlab.run.folder import RunFolder
from lightlab.tasks import ClassificationTask


class RunPredictor(Predictor):
    """A trained run, in torch, that takes raw inputs: feature rows (tabular), image paths or PIL
    images (images), strings (text).

    Example::

        predictor = load_run("runs/iris_mlp/20260101-120000")
        predictor.predict([[5.1, 3.5, 1.4, 0.2]])
        # [{"prediction": "setosa", "probability": 0.98, "probabilities": {"setosa": 0.98, ...}}]
    """

    def __init__(self, task: ClassificationTask, datamodule: LabDataModule, checkpoint: Path) -> None:
        self.task, self.datamodule, self.checkpoint = task.eval(), datamodule, checkpoint

    @property
    def class_names(self) -> list[str]:
        return list(self.datamodule.class_names)

    @property
    def batch_size(self) -> int:
        return self.datamodule.batch_size

    def read_inputs(self, source: Path) -> tuple[Sequence[Any], list[str]]:
        return self.datamodule.read_inputs(source)

    @torch.inference_mode()
    def batch_probabilities(self, items: Sequence[Any]) -> torch.Tensor:
        batch = self.datamodule.collate_inputs(items)
        batch = {key: value.to(self.task.device) for key, value in batch.items()}
        return self.task.predict_step(batch, 0)["probs"].float().cpu()

    def probabilities(self, items: Sequence[Any]) -> torch.Tensor:
        """``(len(items), num_classes)`` class probabilities, a tensor on the CPU."""
        return torch.cat(self.batches(items))


def load_run(run_dir: str | Path, checkpoint: str = "best", device: str = "cpu") -> RunPredictor:
    """The run in ``run_dir`` with its ``best`` (or ``last``, or a given) checkpoint, on ``device``."""
    config, path = run_folder_files(Path(run_dir), checkpoint)
    datamodule = build_datamodule(config)
    # Memory-mapped: only the small DataModule state is read here; the task loads the weights below.
    saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    state = saved.get(type(datamodule).__qualname__)
    if state is None:
        raise UserError(
            f"{path} holds no {type(datamodule).__name__} state (class names, scaling); "
            "use a checkpoint this run wrote"
        )
    datamodule.load_state_dict(state)
    task = ClassificationTask.load_from_checkpoint(path, map_location=device)
    return RunPredictor(task, datamodule, path)


def show_rows(rows: list[list[str]], limit: int = 10) -> None:
    """The first ``limit`` predictions on the console: input, class, probability (every class's
    probability is in the CSV)."""
    table = Table(title=f"first {min(limit, len(rows) - 1)} of {len(rows) - 1} predictions")
    table.add_column(rows[0][0], overflow="fold", ratio=1)
    for column in rows[0][1:3]:
        table.add_column(column, no_wrap=True)
    for row in rows[1 : limit + 1]:
        table.add_row(*row[:3])
    Console().print(table)


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--input", required=True, type=Path, help="a file or folder of new inputs")
    add_checkpoint_flag(parser)
    parser.add_argument("--out", type=Path, default=None, help="default: <run folder>/predictions.csv")
    args = parser.parse_args(argv)
    silence_known_noise()
    predictor = load_run(args.run_dir, args.ckpt)
    path, rows = predictor.predict_file(args.input, args.out or RunFolder(args.run_dir).predictions)
    show_rows(rows)
    print(f"{len(rows) - 1} predictions ({predictor.checkpoint.name}): {path}")


if __name__ == "__main__":
    main()
