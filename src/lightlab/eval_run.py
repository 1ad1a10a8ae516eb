"""``python -m lightlab.eval_run <run folder> [--split val|test] [--ckpt best|last|<path>]``.

Scores a run's checkpoint again, rebuilding data and model from that run's own ``config.yaml`` and
checkpoint (so the two cannot mismatch), prints the metrics table and writes them to
``eval-<split>.json`` in the run folder. Nothing else in the folder is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lightning.pytorch import Trainer

from lightlab.atomic import atomic_write_text
from lightlab.checkpoints import run_folder_files
from lightlab.errors import UserError
from lightlab.quiet import silence_known_noise
from lightlab.show_data import build_datamodule
from lightlab.summary import metrics_table, plain_numbers, print_table
from lightlab.tasks import ClassificationTask


def evaluate_run(run_dir: Path, split: str = "test", which: str = "best") -> Path:
    """Evaluate and write ``eval-<split>.json``; its path."""
    config, checkpoint = run_folder_files(run_dir, which)
    datamodule = build_datamodule(config)
    model = ClassificationTask.load_from_checkpoint(checkpoint, map_location="cpu")
    trainer = Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        callbacks=[],
        devices=1,
    )
    run = trainer.validate if split == "val" else trainer.test
    results = run(model, datamodule=datamodule, ckpt_path=str(checkpoint), verbose=False)
    metrics = plain_numbers(results[0]) if results else {}
    record = {
        "split": split,
        "checkpoint": str(checkpoint),
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "metrics": metrics,
    }
    path = atomic_write_text(run_dir / f"eval-{split}.json", json.dumps(record, indent=2) + "\n")
    print_table(metrics_table(f"{run_dir.name}: {checkpoint.name}", {split: metrics}))
    print(f"written: {path}")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--split", choices=("val", "test"), default="test")
    parser.add_argument("--ckpt", default="best", help="best, last, or a checkpoint path")
    args = parser.parse_args(argv)
    silence_known_noise()
    try:
        evaluate_run(args.run_dir, args.split, args.ckpt)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
