"""``make serve``: a run behind LitServe on a loopback port, asked over real HTTP, answering as
``make predict`` does; bad requests get one-line 400s and leave the server serving; SIGTERM ends it."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from helpers import EXPERIMENTS, ROOT, SHORT, free_port, run_cli, run_dirs
from PIL import Image
from synthetic_data import patterned_images

from lightlab.data.iris import BUNDLED_CSV
from lightlab.deploy.export import export_run
from lightlab.inference.predict import load_run


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has ended; a container's init may not reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in listed.split()]


@contextlib.contextmanager
def serving(
    run_dir: Path, *flags: str, log: Path, port: int | None = None, own_group: bool = False
) -> Iterator[tuple[httpx.Client, subprocess.Popen]]:
    """The server on a loopback port (a free one by default), ready (``/health`` answers ok);
    stopped with SIGTERM. ``own_group`` starts it as a terminal starts a foreground job: in a
    process group of its own, Ctrl-C not ignored."""
    port = port or free_port()
    command = [sys.executable, "-m", "lightlab", "serve", str(run_dir), "--port", str(port), *flags]
    with log.open("w") as output:
        server = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=own_group,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if own_group else None,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if client.get("/health").text == "ok":
                    break
            assert time.monotonic() < deadline, f"no /health after 120 s:\n{log.read_text()}"
            time.sleep(0.3)
        yield client, server
    finally:
        client.close()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("iris") / "runs"
    run_cli(
        "fit", "--config", str(EXPERIMENTS / "iris_mlp.yaml"), "--trainer.max_epochs", "10", runs_dir=runs
    )
    (run_dir,) = run_dirs(runs, "iris_mlp")
    return run_dir


def iris_rows() -> list[list[float]]:
    lines = BUNDLED_CSV.read_text().splitlines()[1:]
    return [[float(v) for v in line.split(",")[:4]] for line in lines]


def probabilities(answers: list[dict]) -> np.ndarray:
    return np.array([list(answer["probabilities"].values()) for answer in answers])


def test_a_tabular_run_answers_as_make_predict_does_and_survives_bad_requests(iris_run, tmp_path):
    rows = iris_rows()
    expected = load_run(iris_run).predict(rows)
    flags = ("--max-batch", "8", "--max-body-mb", "1")
    with serving(iris_run, *flags, log=tmp_path / "serve.log") as (client, server):
        one = client.post("/predict", json={"input": rows[0]})
        assert one.status_code == 200
        assert one.json()["prediction"] == expected[0]["prediction"]
        assert set(one.json()) == {"prediction", "probability", "probabilities"}

        many = client.post("/predict", json={"inputs": rows})
        assert many.status_code == 200
        answers = many.json()["predictions"]
        assert [a["prediction"] for a in answers] == [e["prediction"] for e in expected]
        np.testing.assert_allclose(probabilities(answers), probabilities(expected), atol=1e-6)

        as_csv_row = client.post("/predict", json={"input": ",".join(map(str, rows[60]))})
        by_name = client.post(
            "/predict",
            json={"input": dict(zip(load_run(iris_run).datamodule.feature_names, rows[60], strict=True))},
        )
        assert as_csv_row.json()["prediction"] == by_name.json()["prediction"] == expected[60]["prediction"]

        bad = {
            "wrong feature count": ({"input": [5.1, 3.5]}, "needs 4 features"),
            "not a number": ({"input": [5.1, "wide", 1.4, 0.2]}, "not a finite number"),
            "no input key": ({"rows": [rows[0]]}, '"input"'),
            "empty list": ({"inputs": []}, "non-empty list"),
        }
        for name, (body, expected_text) in bad.items():
            answer = client.post("/predict", json=body)
            assert answer.status_code == 400, name
            assert expected_text in answer.json()["error"] and "\n" not in answer.json()["error"], name
        broken = client.post(
            "/predict", content=b'{"input": [5.1,', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
        # ``curl -d`` without a header sends JSON under a form content type.
        as_curl_sends = client.post(
            "/predict",
            content=json.dumps({"input": rows[0]}),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert as_curl_sends.json()["prediction"] == expected[0]["prediction"]

        # Good and bad requests arriving together are batched together: only the bad ones fail.
        bodies = [{"input": row} if i % 3 else {"input": row[:3]} for i, row in enumerate(rows[:48])]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda body: client.post("/predict", json=body), bodies))
        for i, answer in enumerate(answers):
            if i % 3:
                assert answer.status_code == 200
                assert answer.json()["prediction"] == expected[i]["prediction"]
            else:
                assert answer.status_code == 400 and "needs 4 features" in answer.json()["error"]

        # Over --max-body-mb: refused from the header alone, or once a chunked body passes the bound.
        declared = client.post(
            "/predict", content=b"0" * 1_200_000, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413 and "over the bound of 1 MiB" in declared.json()["error"]
        chunked = client.post(
            "/predict",
            content=iter([b'{"inputs": [' + b"[1,2,3,4]," * 50_000] * 4),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413 and "over the bound of 1 MiB" in chunked.json()["error"]
        assert client.post("/predict", json={"input": rows[0]}).status_code == 200

        workers = children(server.pid)
        assert workers
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    time.sleep(1)
    assert not [pid for pid in workers if running(pid)]  # no worker left behind
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_signal_to_the_whole_group_stops_every_process_quietly_and_frees_the_port(
    signal_name, iris_run, tmp_path
):
    """Ctrl-C in a terminal, or ``pkill -f lightlab.deploy.serve``, signals every process of the server
    at once, not only the main one; the server can start again on the same port at once."""
    port, row = free_port(), iris_rows()[0]
    with serving(iris_run, log=tmp_path / "first.log", port=port, own_group=True) as (client, server):
        assert client.post("/predict", json={"input": row}).status_code == 200
        group = [
            int(pid)
            for pid in subprocess.run(
                ["pgrep", "-g", str(server.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
        assert len(group) > 2  # the main process, the HTTP server, the inference worker, ...
        os.killpg(server.pid, getattr(signal, signal_name))
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    time.sleep(1)
    assert not [pid for pid in group if running(pid)]
    assert "Traceback" not in (tmp_path / "first.log").read_text()
    with serving(iris_run, log=tmp_path / "again.log", port=port) as (client, _):
        assert client.post("/predict", json={"input": row}).status_code == 200


def image_bytes(image: Image.Image, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize("backend", [pytest.param("torch", marks=pytest.mark.slow), "onnx"])
def test_an_image_run_takes_uploads_and_base64_in_either_backend(backend, fashion_root, tmp_path):
    runs = tmp_path / "runs"
    data = ["--data.init_args.data_dir", str(fashion_root), "--data.init_args.val_size", "200"]
    run_cli("fit", "--config", str(EXPERIMENTS / "fashion_mnist_cnn.yaml"), *SHORT, *data, runs_dir=runs)
    (run_dir,) = run_dirs(runs, "fashion_mnist_cnn")
    if backend == "onnx":
        export_run(run_dir)
    images, _ = patterned_images(3, seed=9)
    pictures = [Image.fromarray(image.numpy()).resize((36 + 4 * i, 30)) for i, image in enumerate(images)]
    expected = load_run(run_dir).predict(pictures)
    with serving(run_dir, "--backend", backend, log=tmp_path / "serve.log") as (client, _):
        uploaded = client.post("/predict", files={"file": ("a.png", image_bytes(pictures[0]), "image/png")})
        assert uploaded.status_code == 200, uploaded.text
        several = client.post(
            "/predict",
            files=[("files", (f"{i}.png", image_bytes(p), "image/png")) for i, p in enumerate(pictures)],
        )
        encoded = [base64.b64encode(image_bytes(p)).decode() for p in pictures]
        as_base64 = client.post(
            "/predict", json={"inputs": [encoded[0], f"data:image/png;base64,{encoded[1]}", encoded[2]]}
        )
        for answers in (several.json()["predictions"], as_base64.json()["predictions"], [uploaded.json()]):
            np.testing.assert_allclose(
                probabilities(answers), probabilities(expected[: len(answers)]), atol=1e-5
            )

        not_image = client.post("/predict", files={"file": ("a.png", b"not a picture", "image/png")})
        assert not_image.status_code == 400 and "not an image" in not_image.json()["error"]
        not_base64 = client.post("/predict", json={"input": "a cat, probably"})
        assert not_base64.status_code == 400 and "base64" in not_base64.json()["error"]
        assert client.post("/predict", json={"input": encoded[0]}).status_code == 200


@pytest.mark.slow
def test_a_text_run_served_from_its_onnx_export(negation_csv, tmp_path):
    runs = tmp_path / "runs"
    data = ["--data.init_args.path", str(negation_csv)]
    run_cli("fit", "--config", str(EXPERIMENTS / "text_bilstm.yaml"), *SHORT, *data, runs_dir=runs)
    (run_dir,) = run_dirs(runs, "text_bilstm")
    export_run(run_dir)
    texts = ["the film was not good", "great acting", "a dull plot that was not worth it"]
    expected = load_run(run_dir).predict(texts)
    with serving(run_dir, "--backend", "onnx", "--workers", "2", log=tmp_path / "serve.log") as (client, _):
        answers = client.post("/predict", json={"inputs": texts}).json()["predictions"]
        np.testing.assert_allclose(probabilities(answers), probabilities(expected), atol=1e-5)
        empty = client.post("/predict", json={"input": "   "})
        assert empty.status_code == 400 and "empty text" in empty.json()["error"]
        assert client.post("/predict", json={"input": 42}).status_code == 400
        assert (
            client.post("/predict", json={"input": texts[0]}).json()["prediction"]
            == expected[0]["prediction"]
        )


def test_bad_serve_commands_get_one_line_and_exit_2(iris_run, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [
            ((f"RUN={iris_run}", f"PORT={port}"), "cannot listen on"),
            ((f"RUN={tmp_path}",), "is not a run folder"),
            ((f"RUN={iris_run}", "BACKEND=onnx"), "has no export/: run make export"),
        ]
        for args, expected in cases:
            result = subprocess.run(
                ["make", "--no-print-directory", "serve", *args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ},
            )
            assert result.returncode == 2, (args, result.stdout, result.stderr)
            assert result.stderr.startswith("error: ") and expected in result.stderr.splitlines()[0], (
                result.stderr
            )
