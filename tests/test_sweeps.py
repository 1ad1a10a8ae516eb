"""``make sweep``: Optuna studies whose trials are run folders; resumable after SIGKILL, pruned,
shared by processes, and stored in PostgreSQL as well as in a journal file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy
import yaml
from helpers import ROOT, read_summary, run_cli
from optuna.trial import TrialState

from lightlab.errors import UserError
from lightlab.sweeps.space import read_space
from lightlab.sweeps.sweep import main as sweep

FAST = "--trainer.max_epochs 4 --trainer.limit_val_batches 2"
SPACE = {
    "metric": "val/acc",
    "sampler": {"name": "tpe", "seed": 0},
    "pruner": {"name": "none"},
    "fixed": {"trainer.enable_progress_bar": False, "trainer.enable_model_summary": False},
    "params": {
        "model.lr": {"type": "float", "low": 0.003, "high": 0.05, "log": True},
        "model.net.init_args.hidden_sizes": {"type": "categorical", "choices": [[16], [32, 32]]},
    },
}


def space_file(folder: Path, **changes) -> Path:
    path = folder / "space.yaml"
    path.write_text(yaml.safe_dump({**SPACE, **changes}))
    return path


def study_of(runs: Path, space: str = "space") -> optuna.Study:
    journal = runs / "iris_mlp" / f"sweep-{space}" / "study.journal"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=f"iris_mlp-{space}", storage=storage)


def sweep_command(space: Path, runs: Path, *more: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lightlab.sweeps.sweep",
        "iris_mlp",
        "--space",
        str(space),
        "--runs_dir",
        str(runs),
        f"--args={FAST}",
        *more,
    ]


def run(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    env = env or {**os.environ, "WANDB_MODE": "disabled"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(autouse=True)
def in_repo(monkeypatch):
    monkeypatch.chdir(ROOT)  # experiments/ is looked up from the working directory, as with make


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (
            {"params": {"model.lr": {"type": "float", "low": 0.1, "high": 0.01}}},
            "low (0.1) must be below high (0.01)",
        ),
        (
            {"params": {"model.lr": {"type": "float", "low": 0, "high": 1, "log": True}}},
            "a log scale needs low > 0",
        ),
        ({"params": {"model.lr": {"type": "categorical", "choices": []}}}, "non-empty list of choices"),
        ({"params": {"model.lr": {"type": "uniform"}}}, "needs a type: one of float, int, categorical"),
        ({"sampler": "annealing"}, "unknown sampler 'annealing'"),
        ({"pruner": {"name": "median", "bogus": 1}}, "unexpected keyword argument 'bogus'"),
        ({"params": {}}, "no params to search"),
    ],
)
def test_a_bad_space_file_is_one_line(changes, words, tmp_path):
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_space(space_file(tmp_path, **changes))


@pytest.mark.parametrize(
    ("changes", "more", "words"),
    [
        (
            {"params": {"model.net.init_args.dropotu": {"type": "float", "low": 0, "high": 1}}},
            [],
            "model.net.init_args.dropotu is not a setting of iris_mlp",
        ),
        (
            {"params": {"model.optimiser.lr": {"type": "float", "low": 0.1, "high": 1}}},
            [],
            "not a setting of iris_mlp",
        ),
        ({"metric": "val/auroc"}, [], "metric 'val/auroc' is never logged"),
        ({}, ["--storage", "postgresql+psycopg2://nobody@127.0.0.1:9/none"], "cannot open the study storage"),
        ({}, ["--trials", "0"], "--trials: '0' is not an integer > 0"),
    ],
)
def test_bad_sweep_input_stops_before_any_trial(changes, more, words, tmp_path, capsys):
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit) as exit_info:
        sweep(["iris_mlp", "--space", str(space_file(tmp_path, **changes)), "--runs_dir", str(runs), *more])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not runs.exists()  # no study, no folder


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_exactly_its_trials(tmp_path):
    runs, space = tmp_path / "runs", space_file(tmp_path, trials=3)
    env = {**os.environ, "WANDB_MODE": "disabled"}
    first = subprocess.Popen(
        sweep_command(space, runs),
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    second_trial = runs / "iris_mlp" / "sweep-space" / "trial-001" / "config.yaml"
    deadline = time.time() + 240
    while not second_trial.exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert second_trial.exists(), "the sweep never reached its second trial"
    os.killpg(first.pid, signal.SIGKILL)  # in the middle of trial 1
    first.wait()

    result = run(sweep_command(space, runs))  # the same command again
    assert result.returncode == 0, result.stderr[-2000:]
    study = study_of(runs)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 3
    (killed,) = [t for t in study.trials if t.state == TrialState.FAIL]
    assert killed.number == 1
    (retry,) = [t for t in finished if t.user_attrs.get("retry_of") == 1]
    assert retry.params == killed.params
    folders = {t.user_attrs["run_dir"] for t in finished}
    assert len(folders) == 3 and all(read_summary(Path(f))["status"] == "completed" for f in folders)
    assert read_summary(Path(killed.user_attrs["run_dir"]))["status"] == "failed"  # not taken for finished

    sweep_dir = runs / "iris_mlp" / "sweep-space"
    assert {"best.yaml", "optimization_history.png", "param_importances.png"} <= {
        p.name for p in sweep_dir.iterdir()
    }
    assert f"best: trial {study.best_trial.number}" in result.stdout
    # best.yaml reproduces the best trial
    rerun = tmp_path / "rerun"
    run_cli("fit", "--config", str(sweep_dir / "best.yaml"), runs_dir=rerun)
    (rerun_dir,) = (rerun / "iris_mlp").iterdir()
    assert read_summary(rerun_dir)["val"]["val/acc"] == pytest.approx(study.best_value)

    again = run(sweep_command(space, runs))  # a finished study runs nothing more
    assert again.returncode == 0 and len(study_of(runs).trials) == len(study.trials)
    assert run([sys.executable, "-m", "lightlab", "results", "--runs-dir", str(runs)]).returncode == 0
    listed = (runs / "results.csv").read_text()  # the trials are runs in the comparison table too
    assert all(f"sweep-space/trial-00{n}" in listed for n in range(4))


@pytest.mark.slow
def test_two_processes_share_one_study(tmp_path):
    runs, space = tmp_path / "runs", space_file(tmp_path, trials=4)
    journal = tmp_path / "shared.journal"
    run_two_workers(sweep_command(space, runs, "--storage", str(journal)))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="iris_mlp-space", storage=storage)
    assert_shared(study, expected=4)


def run_two_workers(command: list[str]) -> None:
    """The same sweep command in two independent processes at once; both must succeed."""
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, **pipes) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-2000:]


def assert_shared(study: optuna.Study, expected: int) -> None:
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert expected <= len(complete) <= expected + 1  # one may start as the other finishes the last
    assert len({t.number for t in complete}) == len(complete)
    assert len({t.user_attrs["run_dir"] for t in complete}) == len(complete)
    assert len({t.user_attrs["worker"] for t in complete}) == 2  # both processes ran trials


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port; its URL. initdb refuses to run as
    root, so as root the server runs as the ``postgres`` user the Debian package creates."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL server binaries absent (apt-get install postgresql; .ci/run does)")
    bin_dir = binaries[-1].parent
    # Outside pytest's own temporary folder, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="lightlab-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def pg(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth", "trust")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        pg(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "sweeps")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/sweeps"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_processes_share_a_study_in_postgresql(postgres, tmp_path):
    runs, space = tmp_path / "runs", space_file(tmp_path, trials=3)
    run_two_workers(sweep_command(space, runs, "--storage", postgres))
    assert_shared(optuna.load_study(study_name="iris_mlp-space", storage=postgres), expected=3)


@pytest.mark.slow
def test_hopeless_trials_are_pruned_and_keep_their_history(tmp_path, capsys):
    runs = tmp_path / "runs"
    space = space_file(
        tmp_path,
        trials=6,
        pruner={"name": "median", "warmup_epochs": 1, "n_startup_trials": 2},
        params={
            "model.lr": {"type": "categorical", "choices": [0.02, 1.0e-6]}
        },  # 1e-6 learns nothing in 6 epochs
    )
    sweep(["iris_mlp", "--space", str(space), "--runs_dir", str(runs), "--args=--trainer.max_epochs 6"])
    study = study_of(runs)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all(t.params["model.lr"] == 1.0e-6 for t in pruned)
    for trial in pruned:
        summary = read_summary(Path(trial.user_attrs["run_dir"]))
        assert summary["status"] == "pruned" and summary["pruned_at_epoch"] < 5
        assert (Path(trial.user_attrs["run_dir"]) / "metrics.csv").is_file()
    assert study.best_params == {"model.lr": 0.02}
    assert "pruned" in capsys.readouterr().out


@pytest.mark.parametrize("space", sorted(p.stem for p in (ROOT / "experiments" / "sweeps").glob("*.yaml")))
def test_every_shipped_space_fits_its_experiment(space):
    from lightlab.sweeps.sweep import Sweep

    checked = Sweep(
        space, read_space(ROOT / "experiments" / "sweeps" / f"{space}.yaml"), Path("runs"), None, []
    )
    checked.check()  # every key is a setting of the experiment, the metric is logged
    assert checked.direction == "maximize"


@pytest.mark.slow
def test_the_shipped_iris_space_prunes_and_beats_the_hand_set_experiment(tmp_path):
    runs = tmp_path / "runs"
    sweep(["iris_mlp", "--trials", "10", "--runs_dir", str(runs)])
    study = study_of(runs, "iris_mlp")
    assert any(t.state == TrialState.PRUNED for t in study.trials)
    run_cli("fit", "--config", str(ROOT / "experiments" / "iris_mlp.yaml"), runs_dir=tmp_path / "hand")
    (hand,) = (tmp_path / "hand" / "iris_mlp").iterdir()
    assert study.best_value >= read_summary(hand)["val"]["val/acc"]


@pytest.mark.slow
def test_trials_under_the_ddp_cpu_preset_report_and_prune(tmp_path):
    runs = tmp_path / "runs"
    space = space_file(
        tmp_path,
        trials=3,
        pruner={"name": "median", "warmup_epochs": 0, "n_startup_trials": 1},
        params={"model.lr": {"type": "categorical", "choices": [0.02, 1.0e-6]}},
    )
    extra = "--config experiments/trainer/ddp_cpu.yaml --trainer.max_epochs 3"
    command = [
        sys.executable,
        "-m",
        "lightlab.sweeps.sweep",
        "iris_mlp",
        "--space",
        str(space),
        "--runs_dir",
        str(runs),
        f"--args={extra}",
    ]
    result = run(command, env={**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    study = study_of(runs)
    assert len(study.trials) == 3  # the DDP processes trained their trial, they did not sweep
    for trial in study.trials:
        assert trial.intermediate_values  # rank 0 reported every epoch
        summaries = list(Path(trial.user_attrs["run_dir"]).rglob("summary.json"))
        assert len(summaries) == 1
        # Both processes trained the trial: its own output, kept in its log.
        log = (Path(trial.user_attrs["run_dir"]) / "train.log").read_text()
        assert "batch size: 16 per process x 2 process(es)" in log
    assert result.stdout.count("process(es)") == 0 and "trial-000 (" in result.stdout  # a line per trial
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]  # both ranks stopped together
    assert pruned and all(t.params["model.lr"] == 1.0e-6 for t in pruned)
    assert all(read_summary(Path(t.user_attrs["run_dir"]))["status"] == "pruned" for t in pruned)


@pytest.mark.slow
def test_workers_started_together_on_a_new_database_all_open_it(postgres):
    """Optuna creates its tables when a storage opens; workers starting at the same instant race
    to do it (seen in CI as a UniqueViolation). Each must open the study storage all the same."""
    engine = sqlalchemy.create_engine(postgres, isolation_level="AUTOCOMMIT")
    base = postgres.rsplit("/", 1)[0]
    for round_ in range(3):
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"CREATE DATABASE fresh{round_}"))
        start_at = time.time() + 8  # after every process has imported, they open it at once
        code = (
            "import sys, time; from lightlab.sweeps.sweep import open_rdb_storage; "
            "time.sleep(max(0, float(sys.argv[2]) - time.time())); open_rdb_storage(sys.argv[1])"
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", code, f"{base}/fresh{round_}", str(start_at)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        errors = [worker.communicate(timeout=120)[1] for worker in workers]
        assert [worker.returncode for worker in workers] == [0] * 6, "\n".join(errors)[-3000:]
    engine.dispose()


@pytest.mark.slow
def test_confirm_retrains_the_best_trials_over_seeds_and_chooses_on_the_mean(tmp_path, capsys):
    runs = tmp_path / "runs"
    space = space_file(
        tmp_path, trials=3, params={"model.lr": {"type": "categorical", "choices": [0.02, 1e-5]}}
    )
    sweep(["iris_mlp", "--space", str(space), "--runs_dir", str(runs), f"--args={FAST}", "--confirm", "2"])
    folder = runs / "iris_mlp" / "sweep-space"
    groups = sorted(folder.glob("confirm-trial-*"))
    assert len(groups) == 2
    means = {}
    for group in groups:
        record = json.loads((group / "group.json").read_text())
        assert record["status"] == "completed" and record["seeds"] == [43, 44, 45]  # after the trial's own 42
        trial = int(group.name.rsplit("-", 1)[1])
        means[trial] = record["metrics"]["val/acc"]["mean"]
    chosen = max(means, key=means.get)
    study = study_of(runs)
    trial_config = Path(study.trials[chosen].user_attrs["run_dir"]) / "config.yaml"
    assert (folder / "best.yaml").read_text() == trial_config.read_text()
    assert f"best on the mean: trial {chosen}" in capsys.readouterr().out
    # run again: the groups are complete, nothing is trained again
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob("confirm-trial-*/seed-*/summary.json")}
    sweep(["iris_mlp", "--space", str(space), "--runs_dir", str(runs), f"--args={FAST}", "--confirm", "2"])
    assert stamps == {p: p.stat().st_mtime_ns for p in folder.glob("confirm-trial-*/seed-*/summary.json")}
