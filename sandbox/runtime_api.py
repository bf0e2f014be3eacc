"""Lambda's Runtime API on 127.0.0.1, and the function's process polling it as Lambda runs it.

Lambda starts the runtime's interface client (`python -m awslambdaric <handler>`) in the unpacked
deployment package; the client imports the handler (the init), then asks the Runtime API for an
event, runs the handler on it and posts the result or the error, and asks again. `RuntimeApi`
is that API, for one function process: `invoke` queues an event and waits for what the function
posted. `FunctionProcess` starts AWS's own client (awslambdaric, from .venv) on a package with
nothing else on the import path, and keeps every line the process writes.

Runtime API: GET /2018-06-01/runtime/invocation/next, POST .../invocation/{id}/response and
.../invocation/{id}/error, POST .../runtime/init/error (awslambdaric may send a body chunked).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

from sandbox.servers import Lifecycle, LocalServer

PREFIX = "/2018-06-01/runtime"
# AWS's runtime interface client, and what it needs: Lambda's own runtime directory holds them.
RUNTIME_CLIENT = "awslambdaric"
_INVOCATION = re.compile(rf"^{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class RuntimeApiError(RuntimeError):
    """The function did not answer as the Runtime API expects."""


@dataclass
class Invocation:
    """One event handed to the function, and what it posted back."""

    request_id: str
    body: bytes
    deadline_ms: int
    trace_id: str
    response: Any = None
    error: dict[str, Any] | None = None
    error_type: str | None = None  # the Lambda-Runtime-Function-Error-Type header
    answered: threading.Event = field(default_factory=threading.Event)

    @property
    def failed(self) -> bool:
        return self.error is not None


class RuntimeApi(Lifecycle):
    """The Runtime API of one execution environment, on 127.0.0.1 and a free port."""

    def __init__(self, function_arn: str, timeout_seconds: float = 300) -> None:
        self.function_arn = function_arn
        self.timeout_seconds = timeout_seconds
        self.init_error: dict[str, Any] | None = None
        self.first_poll: float | None = None  # time.perf_counter() of the first GET .../next
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._invocations: dict[str, Invocation] = {}
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: LocalServer | None = None

    @property
    def address(self) -> str:
        """host:port, as Lambda sets AWS_LAMBDA_RUNTIME_API."""
        if self._server is None:
            raise RuntimeApiError("the Runtime API is not started")
        return self._server.url.removeprefix("http://")

    def start(self) -> RuntimeApi:
        api = self

        class Handler(_Handler):
            runtime = api

        self._server = LocalServer(("127.0.0.1", 0), Handler, "runtime-api")
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def wait_for_first_poll(self, timeout: float) -> float:
        """When the function first asked for an event (its init is over then)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.first_poll is not None or self.init_error is not None, timeout
            )
        if self.first_poll is None:
            raise RuntimeApiError(f"the function did not finish its init: {self.init_error}")
        return self.first_poll

    def invoke(self, event: Any, timeout: float = 60) -> Invocation:
        """Hand `event` (JSON-encoded, as Lambda does) to the function; what it posted back."""
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            body=json.dumps(event).encode(),
            deadline_ms=int((time.time() + self.timeout_seconds) * 1000),
            trace_id=_trace_header(),
        )
        with self._changed:
            self._invocations[invocation.request_id] = invocation
        self._pending.put(invocation)
        with self._changed:
            self._changed.wait_for(
                lambda: invocation.answered.is_set() or self.init_error is not None, timeout
            )
        if not invocation.answered.is_set():
            raise RuntimeApiError(
                f"no answer to invocation {invocation.request_id} within {timeout} s"
                + (f"; the init failed: {self.init_error}" if self.init_error else "")
            )
        return invocation

    # --- called by the request handler ---------------------------------------------------------

    def _next(self) -> Invocation | None:
        with self._changed:
            if self.first_poll is None:
                self.first_poll = time.perf_counter()
                self._changed.notify_all()
        while not self._stopping.is_set():
            try:
                return self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _answer(self, request_id: str, kind: str, body: bytes, error_type: str | None) -> bool:
        with self._changed:
            invocation = self._invocations.get(request_id)
            if invocation is None or invocation.answered.is_set():
                return False
            if kind == "response":
                invocation.response = json.loads(body) if body else None
            else:
                invocation.error = json.loads(body) if body else {}
                invocation.error_type = error_type
            invocation.answered.set()
            self._changed.notify_all()
        return True

    def _init_failed(self, body: bytes) -> None:
        with self._changed:
            self.init_error = json.loads(body) if body else {}
            self._changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    runtime: ClassVar[RuntimeApi]
    protocol_version = "HTTP/1.1"  # the client keeps its connection between requests

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        invocation = self.runtime._next()
        if invocation is None:  # shutting down
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(invocation.body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", self.runtime.function_arn)
        self.send_header("Lambda-Runtime-Trace-Id", invocation.trace_id)
        self.end_headers()
        self.wfile.write(invocation.body)

    def do_POST(self) -> None:
        body = self._body()
        if self.path == f"{PREFIX}/init/error":
            self.runtime._init_failed(body)
            self._reply(202, {"status": "OK"})
            return
        match = _INVOCATION.match(self.path)
        if match is None:
            self._reply(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        if self.runtime._answer(match["id"], match["kind"], body, error_type):
            self._reply(202, {"status": "OK"})
        else:
            self._reply(400, {"errorType": "InvalidRequestID", "errorMessage": match["id"]})

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF that ends each chunk
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what the function wrote, not this server."""


class XRayDaemon(Lifecycle):
    """The X-Ray daemon beside a traced function: a UDP socket on 127.0.0.1 that keeps each
    document sent to it (a header line, then a segment or subsegment, in JSON)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._documents: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="xray-daemon", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """host:port, as Lambda sets AWS_XRAY_DAEMON_ADDRESS."""
        host, port = self._socket.getsockname()[:2]
        return f"{host}:{port}"

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._documents)

    def start(self) -> None:
        """It receives from the moment it is made; `with` only stops it at the end."""

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                packet = self._socket.recv(65535)
            except TimeoutError:
                continue
            _header, _, body = packet.partition(b"\n")
            with self._lock:
                self._documents.append(json.loads(body))


def _trace_header() -> str:
    """An X-Ray trace header, as Lambda passes one with each event of a traced function."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"


@dataclass(frozen=True)
class FunctionConfiguration:
    """What Lambda takes from a function's configuration to start its execution environment."""

    name: str
    handler: str
    runtime: str  # "python3.13"
    memory_mb: int
    log_format: str  # "JSON" or "Text"
    tracing: bool  # active tracing
    variables: Mapping[str, str]  # the function's own environment variables

    @classmethod
    def from_template(
        cls, resource: Mapping[str, Any], name: str, variables: Mapping[str, str]
    ) -> FunctionConfiguration:
        """From the function's AWS::Lambda::Function resource; `name` and `variables` are the
        deployed ones (the template's refer to other resources)."""
        properties = resource["Properties"]
        return cls(
            name=name,
            handler=properties["Handler"],
            runtime=properties["Runtime"],
            memory_mb=int(properties.get("MemorySize", 128)),
            log_format=properties.get("LoggingConfig", {}).get("LogFormat", "Text"),
            tracing=properties.get("TracingConfig", {}).get("Mode") == "Active",
            variables=dict(variables),
        )


def lambda_environment(
    function: FunctionConfiguration,
    *,
    region: str,
    task_root: Path,
    runtime_dir: Path,
    xray_daemon: str | None = None,
) -> dict[str, str]:
    """The environment Lambda gives the function's process: its variables, and those Lambda
    defines ("Defined runtime environment variables", Lambda developer guide)."""
    environment = {
        **function.variables,
        "_HANDLER": function.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_FORMAT": function.log_format,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"2026/11/29/[$LATEST]{uuid.uuid4().hex}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin/:/bin",
        "TZ": ":UTC",
    }
    if function.tracing:
        if xray_daemon is None:
            raise ValueError("the function has active tracing: name an X-Ray daemon address")
        environment["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon
        environment["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
    return environment


def runtime_directory(destination: Path) -> Path:
    """A copy of awslambdaric and the distributions it needs, taken from this environment:
    what Lambda's runtime directory holds, and nothing of the rest of .venv."""
    destination.mkdir(parents=True, exist_ok=True)
    wanted, seen = [RUNTIME_CLIENT], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or ():
            source = Path(str(distribution.locate_file(file)))
            if source.is_file() and "__pycache__" not in file.parts:
                target = destination / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        for requirement in distribution.requires or ():
            match = _REQUIREMENT_NAME.match(requirement)
            if match and "extra ==" not in requirement:
                wanted.append(match.group(1))
    return destination


class FunctionProcess:
    """`python -m awslambdaric <handler>` in `package`, as Lambda starts a Python function.

    The import path holds the package and the runtime directory only (no site-packages: -S), so
    the function runs with exactly what its package ships. Every line the process writes to
    stdout and stderr is kept, in order.
    """

    def __init__(
        self,
        package: Path,
        runtime_dir: Path,
        handler: str,
        environment: Mapping[str, str],
        python: str = sys.executable,
    ) -> None:
        self.started = time.perf_counter()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [python, "-S", "-m", RUNTIME_CLIENT, handler],
            cwd=package,
            env={**environment, "PYTHONPATH": f"{package}{os.pathsep}{runtime_dir}"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self._process.stdout), ("stderr", self._process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def running(self) -> bool:
        return self._process.poll() is None

    def lines(self) -> list[tuple[str, str]]:
        """(stream, line) for every line written so far."""
        with self._lock:
            return list(self._lines)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for reader in self._readers:
            reader.join(timeout=5)

    def _read(self, name: str, stream: Any) -> None:
        for line in stream:
            with self._lock:
                self._lines.append((name, line.rstrip("\n")))
        stream.close()


@contextmanager
def running_function(
    package: Path,
    runtime_dir: Path,
    handler: str,
    environment: Mapping[str, str],
    api: RuntimeApi,
) -> Iterator[FunctionProcess]:
    """A function process polling `api`, stopped afterwards."""
    process = FunctionProcess(
        package, runtime_dir, handler, {**environment, "AWS_LAMBDA_RUNTIME_API": api.address}
    )
    try:
        yield process
    finally:
        process.stop()
