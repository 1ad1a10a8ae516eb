"""Logger presets (``make train LOGGER=…``): each files the run where its own tool reads it back,
TensorBoard in the run folder, MLflow in a local store or a real server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import EXPERIMENTS, ROOT, free_port, read_summary, run_cli, run_dirs

PRESETS = ROOT / "experiments" / "logger"
MLFLOW = Path(sys.executable).parent / "mlflow"


@pytest.fixture
def no_mlflow_server(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def refused_line(preset: str, runs: Path, capsys) -> str:
    """The one stderr line of an iris run with ``preset`` that stops with exit status 2."""
    with pytest.raises(SystemExit) as stop:
        run_cli(
            "fit",
            "--config",
            str(EXPERIMENTS / "iris_mlp.yaml"),
            f"--trainer.logger+={PRESETS / f'{preset}.yaml'}",
            runs_dir=runs,
        )
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    return line


def mlflow_runs(uri: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment} in {uri}"
    return client.search_runs([found.experiment_id])


def test_tensorboard_writes_event_files_tensorboard_reads_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    run_cli(
        "fit",
        "--config",
        str(EXPERIMENTS / "iris_mlp.yaml"),
        "--trainer.max_epochs",
        "3",
        f"--trainer.logger+={PRESETS / 'tensorboard.yaml'}",
        runs_dir=runs,
    )
    (run_dir,) = run_dirs(runs, "iris_mlp")
    assert (run_dir / "metrics.csv").is_file()  # beside CSV, not instead of it
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "val/loss", "val/acc", "test/acc"} <= set(scalars)
    val_loss = events.Scalars("val/loss")
    assert len(val_loss) >= 3 and all(v.value > 0 for v in val_loss)


@pytest.mark.parametrize(
    "preset, modules",
    [("tensorboard", ("tensorboard", "tensorboardX")), ("mlflow", ("mlflow",))],
)
def test_a_preset_without_its_package_is_one_line_and_no_folder(
    preset, modules, tmp_path, monkeypatch, capsys
):
    for name in modules:  # as in a project installed without the extra
        monkeypatch.setitem(sys.modules, name, None)
    runs = tmp_path / "runs"
    line = refused_line(preset, runs, capsys)
    assert f"needs the {modules[0]} package" in line and f"EXTRAS=dev,{preset}" in line
    assert not runs.exists() or not any(runs.rglob("config.yaml"))


def test_mlflow_files_a_run_in_the_local_store_and_its_resume_continues_it(
    tmp_path, no_mlflow_server, capsys
):
    runs = tmp_path / "runs"
    preset = f"--trainer.logger+={PRESETS / 'mlflow.yaml'}"
    config = str(EXPERIMENTS / "iris_mlp.yaml")
    run_cli("fit", "--config", config, "--trainer.max_epochs", "3", preset, runs_dir=runs)
    captured = capsys.readouterr()
    out = captured.out
    (run_dir,) = run_dirs(runs, "iris_mlp")
    store = f"sqlite:///{runs / 'mlflow.db'}"
    (run,) = mlflow_runs(store, "iris_mlp")
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    assert run.data.tags["folder"] == str(run_dir.resolve()) and "group" not in run.data.tags
    assert run.data.metrics["test/acc"] == pytest.approx(read_summary(run_dir)["test"]["test/acc"])
    assert run.data.params["net/class_path"] == "lightlab.nets.MLP"
    assert f"mlflow: run {run.info.run_id}; to browse: " in out and "mlflow.db" in out
    assert "Creating" not in out + captured.err and "database tables" not in out + captured.err

    # LOGGER=mlflow given again on the resume: the saved config already has the logger.
    run_cli("fit", "--resume", str(run_dir), "--trainer.max_epochs", "5", preset, runs_dir=runs)
    (resumed,) = mlflow_runs(store, "iris_mlp")  # the same MLflow run, not a second one
    assert resumed.info.run_id == run.info.run_id and resumed.data.metrics["epoch"] == 5
    from mlflow.tracking import MlflowClient

    steps = [point.step for point in MlflowClient(store).get_metric_history(run.info.run_id, "train/loss")]
    assert len(steps) == 5 and len(set(steps)) == 5  # one point per epoch, none logged twice
    assert capsys.readouterr().out.count("mlflow: run ") == 1

    # The saved config re-run into another runs folder logs into that folder's store.
    other = tmp_path / "elsewhere"
    again = ["--config", str(run_dir / "config.yaml"), "--trainer.max_epochs", "1", "--ckpt_path", "null"]
    run_cli("fit", *again, runs_dir=other)
    (moved,) = mlflow_runs(f"sqlite:///{other / 'mlflow.db'}", "iris_mlp")
    assert moved.data.tags["folder"].startswith(str(other.resolve()))


def test_a_silent_mlflow_server_is_one_line_and_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    runs = tmp_path / "runs"
    line = refused_line("mlflow", runs, capsys)
    assert "the MLflow server at http://127.0.0.1:" in line and "does not answer" in line
    assert f"unset MLFLOW_TRACKING_URI to log into {runs / 'mlflow.db'}" in line
    assert not runs.exists()


def test_a_server_that_answers_with_an_http_error_is_left_to_the_mlflow_client(tmp_path, monkeypatch):
    import http.server
    import threading

    from jsonargparse import Namespace

    from lightlab.run.trackers import check_mlflow_server

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # an authenticating proxy in front of the server
            self.send_error(401)

        def log_message(self, *args):
            pass

    proxy = http.server.HTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{proxy.server_port}")
        logger = Namespace(class_path="lightning.pytorch.loggers.MLFlowLogger", init_args=Namespace())
        check_mlflow_server([logger], tmp_path / "runs")  # answered: no error
    finally:
        proxy.shutdown()


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on loopback over a SQLite store; its URI."""
    port = free_port()
    log = (tmp_path / "mlflow-server.log").open("w")
    server = subprocess.Popen(
        [
            *(str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            *("--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}"),
            *("--artifacts-destination", str(tmp_path / "artifacts")),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                break
        except OSError:
            assert server.poll() is None, (tmp_path / "mlflow-server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not start in 120 s"
            time.sleep(0.5)
    yield uri
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.mark.slow
def test_a_seed_group_lands_in_a_real_mlflow_server_tagged_by_group_and_seed(mlflow_server, tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "MLFLOW_DISABLE_TELEMETRY": "true"}
    result = subprocess.run(
        [
            *("make", "--no-print-directory", "train", "EXP=iris_mlp", "LOGGER=mlflow", "SEEDS=2"),
            f"ARGS=--trainer.max_epochs 3 --runs_dir {runs}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (group,) = run_dirs(runs, "iris_mlp")
    members = sorted(p for p in group.iterdir() if p.is_dir())
    assert len(members) == 2
    landed = {run.data.tags["folder"]: run for run in mlflow_runs(mlflow_server, "iris_mlp")}
    assert sorted(landed) == [str(m.resolve()) for m in members]
    seeds = json.loads((group / "group.json").read_text())["seeds"]
    for member in members:
        run = landed[str(member.resolve())]
        assert run.info.status == "FINISHED" and run.info.run_name == f"{group.name}/{member.name}"
        assert run.data.tags["group"] == group.name and int(run.data.tags["seed"]) in seeds
        assert "fold" not in run.data.tags  # seeds only, no folds
        assert member.name == f"seed-{run.data.tags['seed']}"
        assert run.data.metrics["test/acc"] == pytest.approx(read_summary(member)["test"]["test/acc"])
    assert result.stdout.count(f"mlflow: {mlflow_server}/#/experiments/") == 2
    assert "View run" not in result.stdout  # the client's own links: the line above says it once


def test_logger_presets_combine_and_an_unknown_one_is_named():
    dry = subprocess.run(
        ["make", "-n", "train", "EXP=iris_mlp", "LOGGER=tensorboard,mlflow"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert "--trainer.logger+=experiments/logger/tensorboard.yaml" in dry.stdout
    assert "--trainer.logger+=experiments/logger/mlflow.yaml" in dry.stdout
    wrong = subprocess.run(
        ["make", "-n", "train", "EXP=iris_mlp", "LOGGER=tensorboard,nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (
        wrong.returncode != 0
        and "unknown logger preset 'nope': choose from: mlflow tensorboard" in wrong.stderr
    )
    assert "(several: LOGGER=mlflow,tensorboard)" in wrong.stderr


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESETS.glob("*.yaml")))
def test_each_preset_says_what_it_is_on_its_first_line(preset):
    assert (PRESETS / f"{preset}.yaml").read_text().startswith("# ")


def test_run_tags_name_the_group_seed_fold_and_sweep(tmp_path):
    from lightlab.run.groups import GROUP_FILE
    from lightlab.run.trackers import FOLDER_TAG, GROUP_TAG, SWEEP_TAG, run_name, run_tags

    experiment = tmp_path / "runs" / "iris_mlp"
    group = experiment / "sweep-iris_mlp" / "group-20261202-020002"
    member = group / "fold-1-seed-42"
    member.mkdir(parents=True)
    (group / GROUP_FILE).write_text("{}")
    assert run_tags(member, 42, 1) == {
        FOLDER_TAG: str(member.resolve()),
        GROUP_TAG: "sweep-iris_mlp/group-20261202-020002",
        "seed": "42",
        "fold": "1",
        SWEEP_TAG: "sweep-iris_mlp",  # a constant: a project without sweeps keeps this test whole
    }
    assert run_name(member) == "sweep-iris_mlp/group-20261202-020002/fold-1-seed-42"
    alone = experiment / "20261202-015846"
    alone.mkdir()
    assert run_tags(alone, 42, None) == {FOLDER_TAG: str(alone.resolve())}  # no group: no seed tag
