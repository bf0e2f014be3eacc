"""moto in server mode on 127.0.0.1 and a free port, for every service but Config."""

from __future__ import annotations

import logging

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
