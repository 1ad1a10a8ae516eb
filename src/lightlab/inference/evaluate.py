"""``python -m lightlab eval <run folder> [--split val|test] [--ckpt best|last|<path>]``.

Scores a run's checkpoint again, rebuilding data and model from that run's own ``config.yaml`` and
checkpoint (so the two cannot mismatch), prints the metrics table and writes them to
``eval-<split>.json`` in the run folder. Nothing else in the folder is touched.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lightning.pytorch import Trainer

from lightlab.atomic import atomic_write_text
from lightlab.errors import CommandParser, command
from lightlab.inference.predict import load_run
from lightlab.quiet import silence_known_noise
from lightlab.run.checkpoints import add_checkpoint_flag, in_run_folder
from lightlab.run.folder import RunFolder, shown
from lightlab.run.summary import metrics_table, plain_numbers, print_table


def evaluate_run(run_dir: Path, split: str = "test", which: str = "best") -> Path:
    """Evaluate and write ``eval-<split>.json``; its path."""
    # Weights and the DataModule's saved state come from the checkpoint here, so the trainer needs
    # no ckpt_path (which would also restore the training callbacks' states, absent here).
    run = load_run(run_dir, which)
    trainer = Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        callbacks=[],
        devices=1,
    )
    score = trainer.validate if split == "val" else trainer.test
    results = score(run.task, datamodule=run.datamodule, verbose=False)
    checkpoint = run.checkpoint
    metrics = plain_numbers(results[0]) if results else {}
    record = {
        "split": split,
        "checkpoint": in_run_folder(checkpoint, run_dir),
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "metrics": metrics,
    }
    path = atomic_write_text(RunFolder(run_dir).evaluation(split), json.dumps(record, indent=2) + "\n")
    print_table(metrics_table(f"{run_dir.name}: {checkpoint.name}", {split: metrics}))
    print(f"written: {shown(path)}")
    return path


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", choices=("val", "test"), default="test")
    add_checkpoint_flag(parser)
    args = parser.parse_args(argv)
    silence_known_noise()
    evaluate_run(args.run_dir, args.split, args.ckpt)


if __name__ == "__main__":
    main()
