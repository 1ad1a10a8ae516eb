"""``python -m lightlab sweep <experiment> [--space NAME] [--trials N] [--jobs K] [--storage URL]``
(``make sweep EXP=… SPACE=… TRIALS=… JOBS=… STORAGE=…``): an Optuna search over an experiment.

Each trial is an ordinary run folder, ``runs/<exp>/sweep-<space>/trial-NNN/``, trained inside the
worker process (torch and Lightning are imported once). The study lives in the sweep folder
(``study.journal``, Optuna's journal file: it survives SIGKILL and concurrent writers) or in the
storage given, e.g. PostgreSQL shared by several machines. Running the same command again
continues the study until it holds ``trials`` finished (complete or pruned) trials; a trial whose
process died is marked failed and run again.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from optuna.trial import TrialState

from lightlab.argv_checks import flag_value
from lightlab.errors import CommandParser, UserError, command
from lightlab.ranges import PositiveInt, flag_type
from lightlab.repeats.plan import experiment_file, read_seeds
from lightlab.run.folder import RunFolder, Status, shown
from lightlab.run.in_process import WANDB_GROUP_ENV, fit_here
from lightlab.run.resolved import checkpoint_monitor, resolved_config
from lightlab.run.results_view import short_keys, significant
from lightlab.run.summary import read_summary, update_summary
from lightlab.sweeps.confirm import confirm
from lightlab.sweeps.report import report
from lightlab.sweeps.space import SweepSpace, flatten, read_space
from lightlab.tasks.classification import classification_metrics

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
TRIAL_ENV = "LIGHTLAB_SWEEP_TRIAL"
MAX_FAILURES_IN_A_ROW = 3
HEARTBEAT_SECONDS = 60  # RDB storages: a trial silent for 3 beats is stale, failed and retried


class ReportToTrial(Callback):
    """Reports the validation metric to the trial after every epoch; stops training when the
    pruner says the trial is hopeless. Under DDP only rank 0 holds the trial; it decides and the
    other ranks (``trial=None``) follow its decision."""

    def __init__(self, trial: optuna.Trial | None, metric: str) -> None:
        self.trial, self.metric, self.pruned_at = trial, metric, None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Only while training: the best checkpoint's scoring after fit validates again.
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        prune = False
        value = trainer.callback_metrics.get(self.metric)
        if self.trial is not None and value is not None:
            self.trial.report(float(value), step=trainer.current_epoch)
            prune = self.trial.should_prune()
        if trainer.world_size > 1:
            prune = bool(trainer.strategy.broadcast(prune, src=0))
        if prune:
            self.pruned_at = trainer.current_epoch
            trainer.should_stop = True


def train_other_rank(spec: str) -> None:
    """In a DDP process Lightning started for a trial (it reruns the sweep's command line): train
    that trial's rank instead of running a sweep."""
    from lightlab.cli import main as train

    trial = json.loads(spec)
    train(trial["args"], callbacks=[ReportToTrial(None, trial["metric"])])


def open_rdb_storage(url: str, attempts: int = 5) -> optuna.storages.RDBStorage:
    """Optuna's database storage, with heartbeats so a dead worker's trial is retried. Workers
    started together on a new database race to create Optuna's tables; the losers see "already
    exists" and open the tables the winner made."""
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=3 * HEARTBEAT_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            racing = "already exists" in str(error) or "duplicate key" in str(error)
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


class Sweep:
    """One study over one experiment: its folder, storage, and the loop a worker runs."""

    def __init__(
        self, experiment: str, space: SweepSpace, runs_dir: Path, storage_url: str | None, extra: list[str]
    ):
        self.experiment, self.space, self.extra = experiment, space, extra
        self.experiment_file = Path("experiments") / f"{experiment}.yaml"
        self.folder = runs_dir / experiment / f"sweep-{space.name}"
        self.storage_url = storage_url
        self.study_name = f"{experiment}-{space.name}"
        self.metric, self.direction = space.metric, space.direction

    # ---- checks before anything is written

    def check(self) -> None:
        """The experiment exists, every key is in its resolved config, the metric is logged."""
        experiment_file(self.experiment)  # one line naming the experiments there are
        config = resolved_config(self.experiment_file, self.extra)
        keys = flatten(config)
        for key in [p.key for p in self.space.params] + list(self.space.fixed):
            if key not in keys:
                near = sorted(k for k in keys if k.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1])
                hint = f" (did you mean {near[0]}?)" if near else ""
                raise UserError(
                    f"{key} is not a setting of {self.experiment}{hint}; see make train ARGS=--print_config"
                )
        monitor, mode = checkpoint_monitor(config)
        if self.metric is None:
            self.metric, self.direction = (
                monitor,
                self.direction or ("maximize" if mode == "max" else "minimize"),
            )
        self.direction = self.direction or ("minimize" if self.metric.endswith("loss") else "maximize")
        logged = {
            f"{split}/{name}"
            for split in ("train", "val")
            for name in ("loss", *classification_metrics(2, ""))
        }
        if self.metric not in logged:
            raise UserError(
                f"metric {self.metric!r} is never logged; choose one of {', '.join(sorted(logged))}"
            )

    def storage(self) -> optuna.storages.BaseStorage:
        if self.storage_url is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(str(self.folder / "study.journal"))
            return optuna.storages.JournalStorage(backend)
        try:
            if "://" in self.storage_url:
                return open_rdb_storage(self.storage_url)
            return optuna.storages.JournalStorage(
                optuna.storages.journal.JournalFileBackend(self.storage_url)
            )
        except Exception as error:  # drivers raise their own types; all mean "cannot open"
            raise UserError(
                f"cannot open the study storage {self.storage_url}: {' '.join(str(error).split())[:200]}"
            ) from None

    def study(self) -> optuna.Study:
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self.storage(),
            sampler=self.space.make_sampler(),
            pruner=self.space.make_pruner(),
            direction=self.direction,
            load_if_exists=True,
        )
        study.set_user_attr("metric", self.metric)
        return study

    def trial_flags(self, params: dict[str, Any]) -> list[str]:
        """The flags that train ``params``: the space's fixed settings, the command line's flags
        (which override them), the searched values."""
        fixed = [f"--{key}={as_flag(value)}" for key, value in self.space.fixed.items()]
        searched = [f"--{key}={as_flag(value)}" for key, value in params.items()]
        return [*fixed, *self.extra, *searched]

    # ---- the worker loop

    def work(self, study: optuna.Study) -> None:
        """Run trials until the study holds ``trials`` finished ones (counting other workers')."""
        failures_in_a_row = 0
        while True:
            recover_dead_trials(study, self.folder)
            trials = study.get_trials(deepcopy=False)
            finished = sum(t.state in FINISHED for t in trials)
            running = sum(t.state == TrialState.RUNNING and worker_alive(t) for t in trials)
            if finished + running >= self.space.trials:
                return
            study.optimize(self.objective, n_trials=1, catch=(Exception,))
            failed = study.get_trials(deepcopy=False)[-1].state == TrialState.FAIL
            failures_in_a_row = failures_in_a_row + 1 if failed else 0
            if failures_in_a_row == MAX_FAILURES_IN_A_ROW:
                raise UserError(
                    f"{failures_in_a_row} trials in a row failed (see the errors above); the sweep stops. "
                    f"Try one with make train EXP={self.experiment}"
                )

    def objective(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        params = {p.key: p.suggest(trial) for p in self.space.params}
        run_dir = self.folder / f"trial-{trial.number:03d}"
        trial.set_user_attr("run_dir", str(run_dir))
        reporter = ReportToTrial(trial, self.metric)
        args = ["fit", "--config", str(self.experiment_file), "--experiment", self.experiment]
        args += self.trial_flags(params)
        # Inherited by the processes a DDP trial starts: what they are to train. Each trial is its
        # own wandb run (named by its folder, trial-NNN), grouped by the study.
        environment = {
            TRIAL_ENV: json.dumps({"args": args, "metric": self.metric}),
            WANDB_GROUP_ENV: self.study_name,
        }
        started = time.monotonic()
        # The trial's own output goes into its train.log; the sweep prints one line for it.
        status = fit_here(args, run_dir, callbacks=[reporter], environment=environment, quiet=True)
        names = short_keys([key.replace(".init_args", "") for key in params])
        chosen = ", ".join(
            f"{name}={significant(str(value))}"
            for name, value in zip(names.values(), params.values(), strict=True)
        )
        said = f"{shown(run_dir)} ({chosen})"
        if status:
            print(f"{said}: stopped with exit status {status}; its log: {shown(RunFolder(run_dir).log)}")
            raise RuntimeError(f"trial {trial.number} stopped with exit status {status}")
        summary = read_summary(run_dir) or {}
        trial.set_user_attr("epochs", summary.get("epochs"))
        seconds = f"{time.monotonic() - started:.0f} s"
        if reporter.pruned_at is not None:
            update_summary(run_dir, status=Status.PRUNED.value, pruned_at_epoch=reporter.pruned_at)
            print(f"{said}: pruned after epoch {reporter.pruned_at}, {seconds}")
            raise optuna.TrialPruned(f"pruned after epoch {reporter.pruned_at}")
        value = float(summary["val"][self.metric])
        print(f"{said}: {self.metric} {value:.4g} after {summary.get('epochs')} epochs, {seconds}")
        return value


def as_flag(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def worker_alive(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether the process running ``trial`` lives; a worker on another machine counts as alive."""
    host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return host != "" and host != socket.gethostname()
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_dead_trials(study: optuna.Study, folder: Path) -> None:
    """Fail each running trial whose worker on this machine died, and queue its parameters again."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if "worker" not in trial.user_attrs or worker_alive(trial):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (RuntimeError, ValueError):
            continue  # another worker got there first
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
        run_dir = Path(trial.user_attrs.get("run_dir", folder / f"trial-{trial.number:03d}"))
        if run_dir.is_dir():
            reason = "its worker process died during the trial; its parameters run again as a new trial"
            update_summary(run_dir, status=Status.FAILED.value, reason=reason)


def spawn_workers(argv: list[str], jobs: int) -> None:
    """``jobs`` worker processes on one study (each given ``argv``), the CPU's threads divided."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "LIGHTLAB_SWEEP_THREADS": str(threads)}
    command = [sys.executable, "-m", "lightlab", "sweep", *argv, "--worker"]
    print(f"{jobs} workers with {threads} torch thread(s) each")
    workers = [subprocess.Popen(command, env=env) for _ in range(jobs)]
    codes = [worker.wait() for worker in workers]
    if any(codes):
        raise UserError(f"{sum(map(bool, codes))} of {jobs} workers failed; see their output above")


@command
def main(argv: list[str] | None = None) -> None:
    if os.environ.get(TRIAL_ENV) and os.environ.get("LOCAL_RANK", "0") != "0":
        train_other_rank(os.environ[TRIAL_ENV])
        return
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment")
    parser.add_argument(
        "--space", default=None, help="experiments/sweeps/<space>.yaml (default: the experiment's name)"
    )
    parser.add_argument(
        "--trials",
        type=flag_type(PositiveInt),
        default=None,
        help="finished trials to reach (default: the space's)",
    )
    parser.add_argument(
        "--jobs", type=flag_type(PositiveInt), default=1, help="worker processes on this machine"
    )
    parser.add_argument(
        "--storage", default=None, help="an Optuna storage URL or journal file shared by machines"
    )
    parser.add_argument(
        "--runs_dir", type=Path, default=None, help="default: the --runs_dir in --args, else runs"
    )
    parser.add_argument(
        "--args", default="", help="flags passed to every trial, e.g. '--trainer.max_epochs 5'"
    )
    parser.add_argument(
        "--confirm", type=flag_type(PositiveInt), default=None, help="train the k best trials over --seeds"
    )
    parser.add_argument(
        "--seeds", default=None, help="seeds of each confirmation: a count (after the sweep's seed) or a list"
    )
    parser.add_argument("--report", action="store_true", help="only print the table and write the files")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seeds is not None and not args.confirm:
        raise UserError("SEEDS for a sweep sets the seeds of CONFIRM=k; give CONFIRM too, or drop SEEDS")
    if args.confirm:
        read_seeds(args.seeds or "3", 0)  # a mistake in them is refused before any trial runs
    # Heartbeats and the retry callback are marked experimental; they are what makes resuming safe.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the table at the end says what happened
    extra = shlex.split(args.args)
    runs_dir = args.runs_dir or Path(flag_value(extra, "--runs_dir") or "runs")
    name = args.space or args.experiment
    named = name.endswith(".yaml") or "/" in name  # a path rather than a space's name
    space = read_space(Path(name) if named else Path("experiments") / "sweeps" / f"{name}.yaml")
    if args.trials is not None:
        space = SweepSpace(**{**space.__dict__, "trials": args.trials})
    sweep = Sweep(args.experiment, space, runs_dir, args.storage, extra)
    sweep.check()
    study = sweep.study()
    if args.worker:
        torch.set_num_threads(int(os.environ.get("LIGHTLAB_SWEEP_THREADS", torch.get_num_threads())))
        sweep.work(study)
        return
    if not args.report:
        if args.jobs == 1:
            sweep.work(study)
        else:
            spawn_workers(sys.argv[1:] if argv is None else argv, args.jobs)
    report(study, sweep.folder, sweep.metric)
    if args.confirm and not args.report:
        confirm(
            study,
            sweep.experiment,
            sweep.folder,
            sweep.metric,
            args.confirm,
            args.seeds or "3",
            sweep.trial_flags,
        )


if __name__ == "__main__":
    main()
