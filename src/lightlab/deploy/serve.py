"""Serve a trained run over HTTP with LitServe: ``python -m lightlab serve <run folder>``
(``make serve RUN=… [PORT=8000] [WORKERS=1] [MAX_BATCH=32] [MAX_BODY_MB=50] [BACKEND=torch|onnx]``).

``POST /predict`` takes ``{"input": x}`` (answers one prediction) or ``{"inputs": [x, …]}``
(answers ``{"predictions": […]}``), where ``x`` is what the run's data kind reads: feature values
(a list, an object by feature name, or a CSV row string), an image (base64, or a multipart file
upload), or a text. Each prediction holds the class name, its probability and every class's.
``GET /health`` answers ``ok``. Requests arriving together are encoded and run as one batch (up to
``MAX_BATCH`` requests); a bad request gets a 400 with a one-line JSON error and does not affect
the requests batched with it, and a body over ``MAX_BODY_MB`` a 413 before it is read whole. The
checkpoint runs through PyTorch on the best device, or the exported ONNX model (``make export``
first) with ``--backend onnx``.
"""

# No ``from __future__ import annotations``: LitServe compares decode_request's annotation to Request.

import json
import logging
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import litserve as ls
import numpy as np
from starlette.datastructures import FormData, UploadFile
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lightlab.data.input_encoding import InputEncoding
from lightlab.deploy.onnx_predictor import OnnxPredictor, read_export
from lightlab.errors import CommandParser, UserError, command
from lightlab.inference.predictions_csv import labelled
from lightlab.quiet import silence_known_noise
from lightlab.ranges import NonNegativeFloat, Port, PositiveFloat, PositiveInt, flag_type
from lightlab.run.checkpoints import add_checkpoint_flag, run_folder_files
from lightlab.run.folder import RunFolder

MAX_INPUTS_PER_REQUEST = 1024
USAGE = 'send {"input": <one input>} or {"inputs": [<input>, ...]}'


@dataclass
class Rejected:
    """A request that cannot be answered, and why (one line)."""

    message: str


@dataclass
class Decoded:
    """A request's inputs (then its answers), and whether it sent one input or a list."""

    items: list[Any]
    single: bool


class RunAPI(ls.LitAPI):
    """A run's classifier behind LitServe: decodes each request alone (a bad one is answered with
    its error), then encodes and classifies every input of the batched requests in one pass."""

    def __init__(
        self,
        run_dir: Path,
        checkpoint: str = "best",
        backend: str = "torch",
        max_batch: int = 32,
        batch_timeout_ms: float = 5.0,
    ):
        # A batch is run once it is full or its first request has waited batch_timeout_ms.
        timeout = batch_timeout_ms / 1000 if max_batch > 1 else 0.0
        super().__init__(max_batch_size=max_batch, batch_timeout=timeout)
        self.run_dir, self.checkpoint, self.backend = run_dir, checkpoint, backend

    def setup(self, device: str) -> None:
        silence_known_noise()  # each worker is a fresh process
        # Ctrl-C reaches every process of the terminal's group; the main process stops the workers
        # in order (a worker interrupted on its own prints a traceback from its queue read).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if self.backend == "onnx":
            predictor = OnnxPredictor(RunFolder(self.run_dir).export)
            self.encoding: InputEncoding = predictor.encoding
            self.class_names = predictor.class_names
            self.classify = predictor.encoded_probabilities
            return
        import torch

        from lightlab.inference.predict import load_run

        run = load_run(self.run_dir, self.checkpoint, device=device)
        self.encoding, self.class_names = run.datamodule.input_encoding(), run.class_names

        @torch.inference_mode()
        def classify(arrays: dict[str, np.ndarray]) -> np.ndarray:
            batch = {name: torch.from_numpy(array).to(device) for name, array in arrays.items()}
            return run.task.predict_step(batch, 0)["probs"].float().cpu().numpy()

        self.classify = classify

    # LitServe reads the annotation: ``Request`` hands over the parsed JSON body or the form.
    def decode_request(self, request: Request) -> Decoded | Rejected:
        try:
            values, single = self._values(request)
            return Decoded([self.encoding.from_request(value) for value in values], single)
        except UserError as error:
            return Rejected(str(error))

    def _values(self, request: Any) -> tuple[list[Any], bool]:
        if isinstance(request, FormData):
            files = [value for _, value in request.multi_items() if isinstance(value, UploadFile)]
            if self.encoding.kind != "image" or not files:
                raise UserError(f"a form without image files: {USAGE} with Content-Type: application/json")
            return [upload.file.read() for upload in files], len(files) == 1
        if not isinstance(request, dict) or len({"input", "inputs"} & request.keys()) != 1:
            raise UserError(USAGE)
        if "input" in request:
            return [request["input"]], True
        values = request["inputs"]
        if not isinstance(values, list) or not values:
            raise UserError(f'"inputs" must be a non-empty list; {USAGE}')
        if len(values) > MAX_INPUTS_PER_REQUEST:
            raise UserError(f"at most {MAX_INPUTS_PER_REQUEST} inputs per request, got {len(values)}")
        return values, False

    def batch(self, inputs: list[Decoded | Rejected]) -> list[Decoded | Rejected]:
        return inputs

    def predict(self, x: Any) -> Any:
        requests = x if isinstance(x, list) else [x]
        accepted = [r for r in requests if isinstance(r, Decoded)]
        items = [item for request in accepted for item in request.items]
        probabilities = iter(self.classify(self.encoding.encode(items)).tolist() if items else [])
        answers = [
            Decoded([labelled(next(probabilities), self.class_names) for _ in r.items], r.single)
            if isinstance(r, Decoded)
            else r
            for r in requests
        ]
        return answers if isinstance(x, list) else answers[0]

    def unbatch(self, output: list[Any]) -> list[Any]:
        return output

    def encode_response(self, output: Any, **kwargs: Any) -> Response:
        if isinstance(output, Rejected):
            return JSONResponse({"error": output.message}, status_code=400)
        return JSONResponse(output.items[0] if output.single else {"predictions": output.items})


class RejectUnreadableJSON(BaseHTTPMiddleware):
    """Answers a ``/predict`` body that is not JSON (nor a multipart upload) with a 400 and a one-line
    error, before it reaches the workers. A JSON body sent without a JSON content type (``curl -d``
    sends a form type) is read as JSON."""

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        kind = request.headers.get("content-type", "")
        if request.method == "POST" and not kind.startswith("multipart/"):
            try:
                json.loads(await request.body())
            except (ValueError, UnicodeDecodeError) as error:
                return JSONResponse({"error": f"the body is not valid JSON ({error}); {USAGE}"}, 400)
            if not kind.startswith("application/json"):
                headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
                request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
        return await call_next(request)


class _BodyTooLarge(Exception):
    pass


class BoundedBody:
    """Answers a request body over ``max_bytes`` with a 413 and a one-line JSON error: at once when
    its ``Content-Length`` says so, and as soon as the bound is passed for a chunked body, so an
    oversized upload is never read whole (nor parsed as JSON or a form)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        async def tracked(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict, receive: Callable, send: Callable) -> None:
        megabytes = f"{self.max_bytes / 2**20:g} MiB"
        message = f"the request body is over the bound of {megabytes}; send fewer inputs per request"
        await JSONResponse({"error": message}, status_code=413)(scope, receive, send)


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will: connections of a server just stopped (TIME_WAIT) do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UserError(
                f"cannot listen on {host}:{port} ({error.strerror}); choose another port with --port, or "
                "a host name or address of this machine with --host"
            ) from None


def check_run(run_dir: Path, checkpoint: str, backend: str) -> None:
    """What the workers will load is there, so a mistake is one line here, not a worker's traceback."""
    if backend == "onnx":
        if not (RunFolder(run_dir).export).is_dir():
            raise UserError(
                f"{run_dir} has no export/: run make export RUN={run_dir} first, or serve it with torch"
            )
        read_export(RunFolder(run_dir).export)
    else:
        run_folder_files(run_dir, checkpoint)


def _not_a_closed_connection(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], (ConnectionError, EOFError)))


def _stop_like_ctrl_c(main_pid: int) -> Callable[[int, FrameType | None], None]:
    """SIGTERM (docker stop, systemd, a scheduler) takes LitServe's Ctrl-C path in the main process,
    which stops the HTTP servers and the inference workers (the default would orphan them). The
    forked HTTP server processes inherit the handler and end as by default when LitServe stops them."""

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getppid() == main_pid and multiprocessing.current_process().name.startswith("SyncManager"):
            return  # the queues' manager must outlive the workers: the main process shuts it down last
        if os.getpid() == main_pid:
            # LitServe's worker monitor may poll the manager after it has stopped: not an error here.
            logging.getLogger("litserve.server").addFilter(_not_a_closed_connection)
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    return stop


@command
def main(argv: list[str] | None = None) -> None:
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    add_checkpoint_flag(parser, " (torch backend)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    parser.add_argument("--port", type=flag_type(Port), default=8000)
    parser.add_argument(
        "--workers", type=flag_type(PositiveInt), default=1, help="worker processes per device"
    )
    parser.add_argument(
        "--max-batch", type=flag_type(PositiveInt), default=32, help="requests classified together at most"
    )
    parser.add_argument(
        "--batch-timeout",
        type=flag_type(NonNegativeFloat, float),
        default=5.0,
        help="ms a request may wait for others to join its batch",
    )
    parser.add_argument(
        "--max-body-mb",
        type=flag_type(PositiveFloat, float),
        default=50.0,
        help="largest request body in MiB; a bigger one is answered 413",
    )
    args = parser.parse_args(argv)
    silence_known_noise()
    check_run(args.run_dir, args.ckpt, args.backend)
    check_port_free(args.host, args.port)
    api = RunAPI(args.run_dir, args.ckpt, args.backend, args.max_batch, args.batch_timeout)
    server = ls.LitServer(
        api,
        accelerator="cpu" if args.backend == "onnx" else "auto",
        devices=1,
        workers_per_device=args.workers,
        # Starlette runs the last added outermost: the bound applies before the body is read as JSON.
        middlewares=[RejectUnreadableJSON, (BoundedBody, {"max_bytes": int(args.max_body_mb * 2**20)})],
    )
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c(os.getpid()))
    url = f"http://{args.host}:{args.port}"
    print(f"serving {args.run_dir} ({args.backend}) on {url}: POST /predict, GET /health")
    server.run(host=args.host, port=args.port, generate_client_file=False, log_level="warning")


if __name__ == "__main__":
    main()
