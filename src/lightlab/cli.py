"""``python -m lightlab {fit,validate,test,predict} --config experiments/<name>.yaml``.

The LightningCLI wiring: shared defaults from ``configs/defaults.yaml``, DataModule sizes linked
into the net, the run folder set up before anything is built, and the training verbs' side of
the error boundary (``errors.exit_with``). What happens around a run lives in the packages named
for it: ``run`` (the folder, the summary after ``fit``, a failed fit, resuming), ``cluster``
(signals, SLURM), ``inference`` (the predict subcommand's file).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from lightning.pytorch import Callback
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException, SIGTERMException

from lightlab.argv_checks import (
    SUBCOMMANDS,
    check_config_files,
    check_experiment_given,
    flag_value,
    flag_values,
)
from lightlab.atomic import disk_error, is_disk_fault, os_error_in
from lightlab.callbacks.batch_hooks import skip_empty_batch_hooks
from lightlab.callbacks.last_checkpoint import LastCheckpoint
from lightlab.callbacks.speed import speed_meter
from lightlab.cluster.environment import check_accelerator, nodes_from_environment
from lightlab.cluster.requeue import (
    JOB_KEY,
    already_completed,
    continuation,
    continued_args,
    slurm_job_id,
)
from lightlab.cluster.signals import StoppedBySignal
from lightlab.data.base import LabDataModule
from lightlab.errors import DEBUG_ENV, UserError, exit_with, user_error_in
from lightlab.inference.predict_split import predict_to_csv
from lightlab.parser_messages import parser_message, problem_message, suggest_flags
from lightlab.quiet import silence_known_noise, silence_wandb_notices
from lightlab.ranges import check_foreign_ranges
from lightlab.run import log as run_log
from lightlab.run.checkpoints import (
    check_checkpoint_file,
    check_checkpoint_fits,
    check_checkpoint_kind,
    warm_start_source,
)
from lightlab.run.config import (
    batch_size_line,
    check_logger_packages,
    drop_switched_off_callbacks,
    end_wandb_run,
    experiment_name,
    point_trainer_at,
    write_run_files,
)
from lightlab.run.evaluation import summarize_fit
from lightlab.run.failures import after_failed_fit, discard, discarded_on_failure
from lightlab.run.folder import RunFolder, release_run_dir, resolve_run_dir, shown
from lightlab.run.resume import (
    ResumePoint,
    check_more_to_train,
    continue_metrics,
    find_resume_point,
    group_to_continue,
    resume_line,
    resumed_args,
    say,
    take_resume_flag,
)
from lightlab.run.trackers import (
    check_mlflow_server,
    restore_tracking_env,
    run_tags,
    tags_as_text,
    tracker_lines,
    user_tracking_env,
)
from lightlab.tasks import ClassificationTask, NonFiniteLossError, TaskConfigError

DEFAULTS = Path(__file__).with_name("configs") / "defaults.yaml"

# DataModule attribute -> net constructor argument. A link is skipped when the DataModule lacks
# the attribute or the chosen net lacks the argument, so each net takes only what it needs.
NET_SIZE_LINKS = {
    "num_classes": "num_classes",
    "num_features": "in_features",
    "input_shape": "input_shape",
    "vocab_size": "vocab_size",
}


# The class behind each top-level section whose arguments a parser report names without one.
SECTION_OWNERS = {"model": ClassificationTask, "save_last_every": LastCheckpoint}


class OneLineErrorParser(LightningArgumentParser):
    """Reports a bad config or flag as a single line instead of the full usage text."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            # A nested parser's (a subclass's arguments): the outer one reports it, whole.
            super().error(message, ex)
        text = parser_message(message, owners=SECTION_OWNERS)
        if message.startswith("unrecognized arguments:"):
            text += suggest_flags(message, self.known_flags())
        elif message.endswith("expected one argument"):  # no value, or one argparse reads as a flag
            text += "; give it a value, and one that starts with '-' after an '=' (--flag=-1e-3)"
        raise UserError(f"{text} (run with --help to list the options)") from ex

    def known_flags(self) -> list[str]:
        """Every flag this parser takes with the experiment's defaults (a subclass's arguments
        under the class its config names)."""
        try:
            # A Namespace's keys() are its dotted keys; iterating it gives only the top level.
            return [f"--{key}" for key in self.get_defaults().keys()]  # noqa: SIM118
        except Exception:  # defaults that do not parse: no suggestions, the error stands
            return []


class LabCLI(LightningCLI):
    """The template's command line: every experiment file builds on ``configs/defaults.yaml``."""

    def __init__(
        self,
        args: list[str] | None = None,
        resume: ResumePoint | None = None,
        callbacks: list[Callback] | None = None,
    ) -> None:
        self.resume = resume
        self.run_dir: Path | None = None
        self.experiment = ""
        self.started = time.time()
        super().__init__(
            model_class=ClassificationTask,
            datamodule_class=LabDataModule,
            subclass_mode_data=True,
            parser_class=OneLineErrorParser,
            parser_kwargs={name: {"default_config_files": [str(DEFAULTS)]} for name in SUBCOMMANDS},
            # A fresh folder has no config.yaml; a resumed run records what it continued with.
            save_config_kwargs={"overwrite": True},
            # Added to the configured callbacks, not saved in config.yaml (e.g. a sweep's pruning).
            trainer_defaults={"callbacks": callbacks or []},
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
        parser.add_lightning_class_args(LastCheckpoint, "save_last_every")
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        for source, target in NET_SIZE_LINKS.items():
            parser.link_arguments(f"data.{source}", f"model.net.init_args.{target}", apply_on="instantiate")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        # Checked before anything else runs (seeding included), so a mistake prints only its error.
        config = self.config.get(self.config.get("subcommand") or "", self.config)
        check_foreign_ranges(config)
        check_logger_packages(config.trainer.logger)
        check_mlflow_server(config.trainer.logger, config.runs_dir)
        check_checkpoint_file(config.get("ckpt_path"))
        if (
            self.config.get("subcommand") == "fit"
            and config.get("model.init_from")
            and not self.continues(config)
        ):
            config.model.init_from = warm_start_source(config.model.init_from)
        check_accelerator(config.trainer.accelerator)

    def continues(self, config: Any) -> bool:
        """Whether the run continues from a checkpoint (and so takes no warm-start weights)."""
        return self.resume is not None or bool(config.get("ckpt_path"))

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand]
        # Stored in the saved config.yaml, so re-running that file files the run under the same name.
        self.experiment = config.experiment = config.experiment or experiment_name(
            config.get("config"), DEFAULTS
        )
        suffix = "" if self.subcommand == "fit" else f"-{self.subcommand}"
        if self.resume is not None:
            self.run_dir = self.resume.run_dir
        else:
            self.run_dir = resolve_run_dir(config.runs_dir, self.experiment, suffix)
        run_log.start(self.run_dir)
        trainer = config.trainer
        if trainer.num_nodes == 1:
            trainer.num_nodes = nodes_from_environment()
        fold = config.get("data.init_args.fold") if config.get("data.init_args.folds") else None
        tags = run_tags(self.run_dir, config.get("seed_everything"), fold)
        point_trainer_at(trainer, self.run_dir, self.experiment, resuming=self.resume is not None, tags=tags)
        if "save_last_every" in config:
            config.save_last_every.dirpath = str(RunFolder(self.run_dir).checkpoints)
        drop_switched_off_callbacks(trainer)

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError, FileNotFoundError, MisconfigurationException) as error:
            discard(self.run_dir)
            if os.environ.get(DEBUG_ENV):
                raise
            # A DataModule's own one-line error, wrapped by the parser's instantiation on the way.
            cause = user_error_in(error)
            if cause is not None:
                raise cause from None
            text, from_a_class = problem_message(str(error))
            if from_a_class:  # a DataModule's or net's own error: its line says it all
                raise UserError(text) from error
            raise UserError(f"could not build the experiment: {parser_message(str(error))}") from error
        except BaseException:
            discard(self.run_dir)
            raise
        self.datamodule.adapt_to(self.model.net)
        silence_wandb_notices(self.trainer)
        skip_empty_batch_hooks(self.trainer)
        tags_as_text(self.trainer.loggers)

    def before_fit(self) -> None:
        try:
            self.prepare_fit()
        except BaseException:
            discard(self.run_dir)
            raise

    def prepare_fit(self) -> None:
        """Checks and files of a run about to train (a failure leaves no folder)."""
        self.check_checkpoint()
        if self.resume is not None:
            check_more_to_train(self.trainer, self.resume)
            continue_metrics(self.trainer, self.resume)
        if not self.continues(self.config[self.subcommand]) and (started := self.model.start_warm()):
            say(started.line())
        self.started = time.time()
        self.model.example_input_array = self.datamodule.example_input()  # for the summary's shapes
        write_run_files(self.trainer, self.datamodule, self.run_dir)
        if self.trainer.is_global_zero:
            print(batch_size_line(self.trainer, self.datamodule.batch_size))

    def check_checkpoint(self) -> None:
        """A ``--ckpt_path`` of another data kind, or that does not fit the model, is one line (not
        a traceback from inside the net or from loading the state_dict)."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        try:
            check_checkpoint_kind(ckpt_path, self.config[self.subcommand].data.class_path)
            check_checkpoint_fits(ckpt_path, self.model)
        except UserError:
            discard(self.run_dir)
            raise

    before_validate = before_test = before_predict = check_checkpoint

    def facts(self) -> dict[str, Any]:
        """What the summary records of this run besides its results."""
        facts = {
            "experiment": self.experiment,
            "fit_seconds": round(time.time() - self.started, 2),
            "seed": self.config[self.subcommand].seed_everything,
        }
        job = slurm_job_id()
        if job:
            facts[JOB_KEY] = job
        if self.model.warm_start is not None:
            facts["init_from"] = self.model.warm_start.record()
        if (meter := speed_meter(self.trainer)) is not None:
            facts["speed"] = meter.record()
        return facts

    def fit(self, **kwargs: Any) -> None:
        try:
            self.trainer.fit(**kwargs)
        except BaseException as error:
            resumed_at = self.resume.global_step if self.resume is not None else None
            after_failed_fit(self.trainer, self.run_dir, self.facts(), error, resumed_at)
            raise

    def after_fit(self) -> None:
        try:
            summarize_fit(self.trainer, self.model, self.datamodule, self.run_dir, self.facts())
        except BaseException:
            end_wandb_run(exit_code=1)  # a sweep's next trial must not log into this run
            raise
        end_wandb_run(exit_code=0)
        for line in tracker_lines(self.trainer.loggers):
            print(line)

    def validate(self, **kwargs: Any) -> None:
        with discarded_on_failure(self.run_dir):
            self.trainer.validate(**kwargs)

    def test(self, **kwargs: Any) -> None:
        with discarded_on_failure(self.run_dir):
            self.trainer.test(**kwargs)

    def predict(self, **kwargs: Any) -> None:
        """Run prediction and write ``predictions.csv`` into the run directory."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("model", "datamodule")}
        with discarded_on_failure(self.run_dir):
            predict_to_csv(self.trainer, self.model, self.datamodule, self.run_dir, **kwargs)


def main(args: list[str] | None = None, callbacks: list[Callback] | None = None) -> None:
    """Entry point; one line on stderr and exit status 2 for a user mistake, 1 for a run that failed
    (a non-finite loss). ``callbacks`` join the configured ones (for runs started from Python)."""
    silence_known_noise()
    run_log.hold()  # what is printed before the run's folder exists goes into its train.log too
    tracking_env = user_tracking_env()
    try:
        given, target = take_resume_flag(sys.argv[1:] if args is None else args)
        configs = flag_values(given, "--config")
        experiment = flag_value(given, "--experiment") or (
            experiment_name(configs, DEFAULTS) if configs else None
        )
        runs_root = Path(flag_value(given, "--runs_dir") or "runs")
        point = None
        if target is not None and flag_value(given, "--model.init_from"):
            raise UserError(
                "--model.init_from: starts a new run from another run's weights; --resume: continues a run; "
                "give one of them"
            )
        if target is not None and (group := group_to_continue(target, runs_root, experiment)):
            from lightlab.repeats.group import continue_from_fit  # the group trains through main

            continue_from_fit(group, given)
            return
        if target is not None:
            point = find_resume_point(target, runs_root, experiment)
            given = resumed_args(given, point)
            say(resume_line(point))
        elif given[:1] == ["fit"] and experiment and (point := continuation(runs_root, experiment)):
            if already_completed(point):
                print(f"{shown(point.run_dir)} already completed; nothing left to train", file=sys.stderr)
                return
            given = continued_args(point)
        check_experiment_given(given)
        check_config_files(given)
        LabCLI(args=given, resume=point, callbacks=callbacks)
    except (UserError, TaskConfigError, NonFiniteLossError, MisconfigurationException) as error:
        exit_with(error, status=1 if isinstance(error, NonFiniteLossError) else 2)
    except (OSError, RuntimeError) as error:  # a run file the disk refused (metrics.csv, a plot)
        if not is_disk_fault(error):
            raise
        cause = os_error_in(error)
        exit_with(disk_error(None, cause, "the run stopped; its checkpoints so far are intact"))
    except StoppedBySignal as stop:
        sys.exit(stop.exit_status)
    except SIGTERMException:  # Lightning's own stop, for a SIGTERM before the first step
        sys.exit(128 + signal.SIGTERM)
    finally:
        run_log.stop()
        release_run_dir()
        restore_tracking_env(tracking_env)
