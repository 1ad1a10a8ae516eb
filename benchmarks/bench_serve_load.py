"""Load on ``make serve``, on loopback: requests per second and p50/p99 latency at concurrency 1
and 32, and the gain from server-side batching.

A Fashion-MNIST CNN run (the experiment's net, trained for a few batches on generated data: speed
does not depend on the weights) is served twice at once, each with one worker: with
``--max-batch 1`` (every request alone) and ``--max-batch 32`` (requests arriving together are
classified as one batch). Each request is one 28x28 PNG, base64 in JSON. Rounds alternate between
the two servers (unbatched, batched, unbatched, ...); the batching gain is the ratio of their
requests per second at concurrency 32 within a round, reported as the median and range over rounds.
The client (asyncio, httpx) shares this machine's cores with the servers.

    python benchmarks/bench_serve_load.py [--rounds 5] [--requests 320]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import free_port  # noqa: E402
from synthetic_data import patterned_images  # noqa: E402

from lightlab.data.idx import write_fashion_mnist  # noqa: E402
from lightlab.data.shapes import generate_shapes  # noqa: E402


def train_run(folder: Path, experiment: str) -> Path:
    """A run of ``experiment`` trained for two batches on generated data (random start for ResNet)."""
    if experiment == "fashion_mnist_cnn":
        write_fashion_mnist(folder / "data", patterned_images(600, seed=0), patterned_images(100, seed=1))
        data = ["--data.init_args.data_dir", str(folder / "data"), "--data.init_args.val_size", "100"]
    else:
        generate_shapes(folder / "data", images_per_class=40)
        data = ["--data.init_args.root", str(folder / "data"), "--model.net.init_args.weights", "null"]
    flags = [
        "--trainer.max_epochs",
        "1",
        "--trainer.limit_train_batches",
        "2",
        "--trainer.limit_val_batches",
        "1",
    ]
    subprocess.run(
        [sys.executable, "-m", "lightlab", "fit", "--config", str(ROOT / f"experiments/{experiment}.yaml"),
         *data, *flags, "--trainer.enable_progress_bar", "false", "--runs_dir", str(folder / "runs")],
        check=True, capture_output=True,
    )  # fmt: skip
    (run,) = (folder / "runs" / experiment).iterdir()
    return run


@contextlib.contextmanager
def server(run: Path, max_batch: int) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "lightlab",
        "serve",
        str(run),
        "--port",
        str(port),
        "--max-batch",
        str(max_batch),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health").text == "ok":
                    break
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


async def load(url: str, body: dict, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """Requests per second and each request's latency (s) for ``requests`` at ``concurrency``."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one() -> None:
            async with gate:
                start = time.perf_counter()
                answer = await client.post("/predict", json=body)
                latencies.append(time.perf_counter() - start)
                answer.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return requests / (time.perf_counter() - start), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument(
        "--experiment", choices=("fashion_mnist_cnn", "image_folder_resnet18"), default="fashion_mnist_cnn"
    )
    args = parser.parse_args()
    images, _ = patterned_images(1, seed=3)
    buffer = io.BytesIO()
    Image.fromarray(images[0].numpy()).save(buffer, format="PNG")
    body = {"input": base64.b64encode(buffer.getvalue()).decode()}
    results: dict[tuple[int, int], list[tuple[float, list[float]]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        run = train_run(Path(folder), args.experiment)
        with server(run, 1) as unbatched, server(run, 32) as batched:
            urls = {1: unbatched, 32: batched}
            for url in urls.values():
                asyncio.run(load(url, body, 64, 32))  # warm-up
            for _ in range(args.rounds):
                for max_batch, url in urls.items():
                    for concurrency in (1, 32):
                        count = args.requests // 4 if concurrency == 1 else args.requests
                        results.setdefault((max_batch, concurrency), []).append(
                            asyncio.run(load(url, body, count, concurrency))
                        )
    print(f"{args.experiment}, torch backend, 1 worker, {args.rounds} interleaved rounds")
    for (max_batch, concurrency), rounds in sorted(results.items()):
        latencies = np.concatenate([r[1] for r in rounds]) * 1e3
        rps = statistics.median(r[0] for r in rounds)
        print(
            f"max-batch {max_batch:2d}  concurrency {concurrency:2d}: {rps:7.1f} req/s  "
            f"p50 {np.percentile(latencies, 50):6.1f} ms  p99 {np.percentile(latencies, 99):6.1f} ms"
        )
    gains = [b[0] / u[0] for u, b in zip(results[(1, 32)], results[(32, 32)], strict=True)]
    print(
        f"server-side batching at concurrency 32: {statistics.median(gains):.2f}x the requests per second "
        f"(range {min(gains):.2f}-{max(gains):.2f})"
    )


if __name__ == "__main__":
    main()
