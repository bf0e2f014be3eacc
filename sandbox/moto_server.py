"""moto in server mode on 127.0.0.1 and a free port, for every service but Config."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import urllib.request

from moto.server import ThreadedMotoServer


class MotoServer:
    """A ThreadedMotoServer that picks a free port and says where it listens."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._url: str | None = None

    def start(self) -> str:
        """Start serving; the endpoint URL, e.g. http://127.0.0.1:49152."""
        if self._url is None:
            # werkzeug gives itself a stderr handler logging every request unless the
            # application configured its logger; a sandbox should be quiet by default.
            werkzeug = logging.getLogger("werkzeug")
            if werkzeug.level == logging.NOTSET:
                werkzeug.setLevel(logging.WARNING)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._url = f"http://{host}:{port}"
        return self._url

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("moto is not running: call start() first")
        return self._url

    def stop(self) -> None:
        if self._url is not None:
            self._server.stop()
            self._url = None


class MotoProcess:
    """moto's server in a process of its own: what it does for one client cannot hold up what
    another process in this one (the Config simulator) answers. The benchmark uses it, so the
    sandbox answers within its simulated latency while it serves several requests at once."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    def start(self, timeout: float = 30.0) -> str:
        if self._url is not None:
            return self._url
        with socket.socket() as probe:
            probe.bind((self._host, 0))
            port = probe.getsockname()[1]
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", self._host, "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://{self._host}:{port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto's server did not start on {url}") from None
                time.sleep(0.1)
        self._url = url
        return url

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("moto is not running: call start() first")
        return self._url

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (the benchmark reads its CPU time)."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        process, self._process, self._url = self._process, None, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
