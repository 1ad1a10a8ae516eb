"""``python -m lightlab {fit,validate,test,predict} --config experiments/<name>.yaml``.

A ``LightningCLI`` with the template's conventions: shared defaults from ``configs/defaults.yaml``,
DataModule sizes linked into the net, a fresh run directory per run, the best checkpoint tested
after ``fit`` with a summary written and printed, and user mistakes reported in one line.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn

import torch
import yaml
from lightning.pytorch import LightningDataModule, Trainer
from lightning.pytorch.callbacks import Callback, ModelSummary, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from lightlab.environment import check_accelerator, nodes_from_environment, wandb_offline
from lightlab.errors import UserError
from lightlab.run_dir import remove_if_empty, resolve_run_dir
from lightlab.summary import (
    git_commit,
    metrics_table,
    plain_numbers,
    print_table,
    write_predictions,
    write_summary,
)
from lightlab.tasks import ClassificationTask

DEFAULTS = Path(__file__).with_name("configs") / "defaults.yaml"
SUBCOMMANDS = ("fit", "validate", "test", "predict")
CKPT_KEYWORDS = {"best", "last", "hpc", "registry"}
DEBUG_ENV = "LIGHTLAB_DEBUG"

# DataModule attribute -> net constructor argument. A link is skipped when the DataModule lacks
# the attribute or the chosen net lacks the argument, so each net takes only what it needs.
NET_SIZE_LINKS = {
    "num_classes": "num_classes",
    "num_features": "in_features",
    "input_shape": "input_shape",
    "vocab_size": "vocab_size",
}


def one_line(message: str, limit: int = 400) -> str:
    """A multi-line library message as one line, without jsonargparse's echo of the whole value."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    text = text.split(" Given value type:", 1)[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OneLineErrorParser(LightningArgumentParser):
    """Reports a bad config or flag as a single line instead of the full usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        raise UserError(f"{one_line(message)} (run with --help to list the options)") from ex


class LabCLI(LightningCLI):
    """The template's command line: every experiment file builds on ``configs/defaults.yaml``."""

    def __init__(self, args: list[str] | None = None) -> None:
        self.run_dir: Path | None = None
        self.experiment = ""
        self.started = time.time()
        super().__init__(
            model_class=ClassificationTask,
            datamodule_class=LightningDataModule,
            subclass_mode_data=True,
            parser_class=OneLineErrorParser,
            parser_kwargs={name: {"default_config_files": [str(DEFAULTS)]} for name in SUBCOMMANDS},
            auto_configure_optimizers=False,
            args=args,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--experiment",
            type=str | None,
            default=None,
            help="Run name under runs_dir (default: the first --config file's name).",
        )
        parser.add_argument("--runs_dir", type=str, default="runs", help="Where run directories go.")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        for source, target in NET_SIZE_LINKS.items():
            parser.link_arguments(f"data.{source}", f"model.net.init_args.{target}", apply_on="instantiate")

    # ---- before anything is built: check inputs, reserve the run directory, point loggers at it

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        # Checked before anything else runs (seeding included), so a mistake prints only its error.
        config = self.config.get(self.config.get("subcommand") or "", self.config)
        check_ckpt_path(config.get("ckpt_path"))
        check_accelerator(config.trainer.accelerator)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        # Stored in the saved config.yaml, so re-running that file files the run under the same name.
        self.experiment = config.experiment = config.experiment or experiment_name(config.get("config"))
        suffix = "" if self.subcommand == "fit" else f"-{self.subcommand}"
        self.run_dir = resolve_run_dir(config.runs_dir, self.experiment, suffix)
        trainer = config.trainer
        if trainer.num_nodes == 1:
            trainer.num_nodes = nodes_from_environment()
        trainer.default_root_dir = str(self.run_dir)
        trainer.logger = self._loggers_in_run_dir(trainer.logger)
        # Always this run's folder: a re-run config.yaml still names the earlier run's.
        for callback in trainer.callbacks or []:
            if callback.class_path.endswith("ModelCheckpoint"):
                set_init_args(callback, dirpath=str(self.run_dir / "checkpoints"))

    def _loggers_in_run_dir(self, loggers: Any) -> Any:
        if not isinstance(loggers, list):
            return loggers
        kept = []
        for logger in loggers:
            kind = logger.class_path.rsplit(".", 1)[-1]
            if kind == "CSVLogger":
                # save_dir/name/version is exactly the run directory.
                set_init_args(logger, save_dir=str(self.run_dir.parent), name="", version=self.run_dir.name)
            elif kind == "WandbLogger":
                if os.environ.get("WANDB_MODE") == "disabled":
                    continue
                set_init_args(
                    logger,
                    save_dir=str(self.run_dir),
                    offline=wandb_offline(),
                    name=f"{self.experiment}/{self.run_dir.name}",
                )
            kept.append(logger)
        # The first logger decides trainer.log_dir, where the config is saved: keep CSV first.
        return sorted(kept, key=lambda logger: not logger.class_path.endswith("CSVLogger"))

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError, FileNotFoundError, MisconfigurationException) as error:
            remove_if_empty(self.run_dir)
            if os.environ.get(DEBUG_ENV):
                raise
            raise UserError(f"could not build the experiment: {one_line(str(error))}") from error
        except BaseException:
            remove_if_empty(self.run_dir)
            raise

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        # Let --trainer.enable_progress_bar/--trainer.enable_model_summary false switch off the
        # configured rich callbacks instead of clashing with them.
        dropped = []
        if config.get("enable_progress_bar") is False:
            dropped.append(ProgressBar)
        if config.get("enable_model_summary") is False:
            dropped.append(ModelSummary)
        if dropped and config.get("callbacks"):
            config["callbacks"] = [c for c in config["callbacks"] if not isinstance(c, tuple(dropped))]
        return super()._instantiate_trainer(config, callbacks)

    # ---- after fit: evaluate the best checkpoint, write summary.json, print the table

    def predict(self, **kwargs: Any) -> None:
        """Run prediction and write ``predictions.csv`` into the run directory."""
        outputs = self.trainer.predict(**kwargs)
        if not self.trainer.is_global_zero or not outputs:
            return
        probs = torch.cat([batch["probs"] for batch in outputs]).float().cpu()
        describe = getattr(self.datamodule, "predict_inputs", None)
        inputs = describe() if callable(describe) else []
        names = list(getattr(self.datamodule, "class_names", []) or [])
        path = write_predictions(self.run_dir / "predictions.csv", inputs, probs, names)
        print(f"{len(probs)} predictions: {path}")

    def before_fit(self) -> None:
        self.started = time.time()
        batch_size = getattr(self.datamodule, "batch_size", None) or self.datamodule.hparams.get("batch_size")
        trainer = self.trainer
        if batch_size and trainer.is_global_zero:
            processes = trainer.num_devices * trainer.num_nodes
            accumulate = trainer.accumulate_grad_batches
            print(
                f"batch size: {batch_size} per process x {processes} process(es)"
                + (f" x {accumulate} accumulated" if accumulate > 1 else "")
                + f" = {batch_size * processes * accumulate} samples per optimizer step"
            )

    def after_fit(self) -> None:
        trainer = self.trainer
        fit_seconds = time.time() - self.started
        checkpoint = trainer.checkpoint_callback
        best = getattr(checkpoint, "best_model_path", "") or None
        evaluated = {}
        for split, run in (("val", trainer.validate), ("test", trainer.test)):
            results = run(self.model, datamodule=self.datamodule, ckpt_path=best, verbose=False)
            evaluated[split] = plain_numbers(results[0]) if results else {}
        if not trainer.is_global_zero:
            return
        summary = {
            "experiment": self.experiment,
            "run_dir": str(self.run_dir),
            "status": "completed",
            "epochs": trainer.current_epoch,
            "global_step": trainer.global_step,
            "fit_seconds": round(fit_seconds, 2),
            "seed": self.config[self.subcommand].seed_everything,
            "git_commit": git_commit(),
            "best_checkpoint": best,
            "monitor": getattr(checkpoint, "monitor", None),
            "class_names": list(getattr(self.datamodule, "class_names", []) or []),
            "confusion_matrix": self.model.test_confusion_matrix.tolist()
            if self.model.test_confusion_matrix is not None
            else None,
            "best_score": float(checkpoint.best_model_score)
            if best and checkpoint.best_model_score is not None
            else None,
            **evaluated,
        }
        path = write_summary(self.run_dir, summary)
        title = f"{self.experiment}: {'best checkpoint' if best else 'final weights'}"
        print_table(metrics_table(title, evaluated))
        print(f"run directory: {self.run_dir}  (summary: {path.name})")


def set_init_args(spec: Any, **values: Any) -> None:
    """Set ``init_args`` entries of a parsed ``class_path``/``init_args`` config node."""
    for key, value in values.items():
        spec.init_args[key] = value


def experiment_name(config_files: list | None) -> str:
    """The stem of the first config file given, e.g. ``iris_mlp`` for ``--config experiments/iris_mlp.yaml
    --config experiments/trainer/ddp.yaml``: presets and overrides come after the experiment."""
    for path in config_files or []:
        path = Path(str(path))
        if path.resolve() != DEFAULTS.resolve():
            return path.stem
    return "default"


def check_ckpt_path(ckpt_path: str | None) -> None:
    if ckpt_path and ckpt_path not in CKPT_KEYWORDS and not Path(ckpt_path).is_file():
        raise UserError(f"checkpoint not found: {ckpt_path} (give --ckpt_path an existing .ckpt file)")


def check_experiment_given(args: list[str]) -> None:
    """A subcommand with neither a config file nor data/net flags: say how to name an experiment."""
    if not args or args[0] not in SUBCOMMANDS or any(a in ("-h", "--help") for a in args):
        return
    if any(a.split("=", 1)[0] in ("-c", "--config", "--data", "--model.net") for a in args):
        return
    names = sorted(p.stem for p in Path("experiments").glob("*.yaml"))
    choices = f" (experiments here: {', '.join(names)})" if names else ""
    raise UserError(
        f"no experiment given: use python -m lightlab {args[0]} --config experiments/<name>.yaml{choices}"
    )


def check_config_files(args: list[str]) -> None:
    """Name the file, line and column of broken YAML (the parser only says "<unicode string>")."""
    paths = [value for flag, value in itertools.pairwise(args) if flag in ("-c", "--config")]
    paths += [arg.split("=", 1)[1] for arg in args if arg.startswith("--config=")]
    for path in map(Path, paths):
        if not path.is_file():
            continue  # the parser reports missing files itself
        try:
            yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or one_line(str(error))
            raise UserError(f"{path}{where}: invalid YAML: {problem}") from None


def _quiet_lightning_notices(record: logging.LogRecord) -> bool:
    """Drop Lightning's notes about the summary callback the defaults configure, and its advertisement."""
    message = record.getMessage()
    return "Skipping setting a default `ModelSummary`" not in message and "litlogger" not in message


def main(args: list[str] | None = None) -> None:
    """Entry point; exits with status 2 and one line on stderr for a user mistake."""
    # In-memory loaders need no workers, and the task logs per epoch, not per step.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")
    warnings.filterwarnings("ignore", ".*treespec.*LeafSpec.*")
    # Run directories are always fresh; the only other file in one is wandb's folder, so CSVLogger's
    # "directory exists and is not empty" warning (it would remove an old metrics.csv) never applies.
    warnings.filterwarnings("ignore", ".*Experiment logs directory .* exists and is not empty.*")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_quiet_lightning_notices)
    try:
        given = sys.argv[1:] if args is None else args
        check_experiment_given(given)
        check_config_files(given)
        LabCLI(args=args)
    except UserError as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
