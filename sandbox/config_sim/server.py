"""The AWS JSON 1.1 wire protocol over stdlib HTTP, plus a few /_sim control endpoints.

    POST /  X-Amz-Target: StarlingDoveService.<Operation>
            Content-Type: application/x-amz-json-1.1
            Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/config/aws4_request

The region and the caller come from the SigV4 credential scope, as they would for Config; the
signature itself is not checked (any secret works, as with moto).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from sandbox.config_sim.faults import FaultRule
from sandbox.config_sim.service_model import TARGET_PREFIX
from sandbox.servers import LocalServer

if TYPE_CHECKING:
    from sandbox.config_sim.simulator import ConfigSimulator

logger = logging.getLogger(__name__)

JSON_11 = "application/x-amz-json-1.1"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/,\s]+/([^/,\s]+)/[^/,\s]+/aws4_request")
# Bodies of these five operations are tiny; anything this large is not a Config request.
_MAX_BODY = 1 << 20


@dataclass(frozen=True)
class ApiRequest:
    """One API request as the wire delivered it."""

    target: str | None
    operation: str | None
    region: str | None
    access_key_id: str | None
    body: bytes
    session_token: str | None = None  # X-Amz-Security-Token: temporary credentials (STS)
    # time.monotonic() when its request line arrived: the simulated latency counts from there.
    received: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Answer:
    """What to send back, and the time.monotonic() before which it must not leave."""

    status: int
    body: dict[str, Any]
    not_before: float = 0.0


def parse_target(target: str | None) -> str | None:
    """`StarlingDoveService.DescribeConformancePackStatus` -> `DescribeConformancePackStatus`."""
    prefix, dot, operation = (target or "").partition(".")
    return operation if dot and prefix == TARGET_PREFIX and operation else None


def parse_credential_scope(authorization: str | None) -> tuple[str | None, str | None]:
    """(access key id, region) from a SigV4 Authorization header, or (None, None)."""
    match = _CREDENTIAL.search(authorization or "")
    return (match.group(1), match.group(2)) if match else (None, None)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps botocore's pooled connections open across the pages of a listing.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, a kept-alive connection waits for the
    # client's delayed ACK (about 40 ms) between them, on every request.
    disable_nagle_algorithm = True
    # An idle keep-alive connection closes itself instead of holding a thread forever.
    timeout = 60
    server_version = "sandbox-config-simulator"
    received = 0.0  # time.monotonic() when the current request line arrived
    sys_version = ""
    server: ConfigServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def parse_request(self) -> bool:
        # Called as soon as the request line is read: the request has come in.
        self.received = time.monotonic()
        return super().parse_request()

    # Routing ------------------------------------------------------------------------------

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        if self.path.split("?", 1)[0] != "/":
            self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no such path: {self.path}"})
            return
        target = self.headers.get("X-Amz-Target")
        key, region = parse_credential_scope(self.headers.get("Authorization"))
        token = self.headers.get("X-Amz-Security-Token")
        request = ApiRequest(target, parse_target(target), region, key, body, token, self.received)
        answer = self.server.simulator.handle(request)
        self._send_json(
            answer.status,
            answer.body,
            JSON_11,
            {"x-amzn-RequestId": str(uuid.uuid4())},
            not_before=answer.not_before,
        )

    def do_GET(self) -> None:
        self._control("GET")

    def do_PUT(self) -> None:
        self._control("PUT")

    def do_DELETE(self) -> None:
        self._control("DELETE")

    def _control(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        sim = self.server.simulator
        route = (method, self.path.split("?", 1)[0].rstrip("/"))
        try:
            if route == ("GET", "/_sim/state"):
                self._send_json(HTTPStatus.OK, sim.dump_state())
            elif route == ("PUT", "/_sim/state"):
                sim.load_state(json.loads(body))
                self._send_json(HTTPStatus.OK, {"loaded": True})
            elif route == ("GET", "/_sim/calls"):
                counts = sorted(sim.calls().items())
                self._send_json(
                    HTTPStatus.OK,
                    [{"operation": op, "region": rg, "count": n} for (op, rg), n in counts],
                )
            elif route == ("DELETE", "/_sim/calls"):
                sim.reset_calls()
                self._send_json(HTTPStatus.OK, {"cleared": True})
            elif route == ("GET", "/_sim/faults"):
                self._send_json(HTTPStatus.OK, [rule.to_doc() for rule in sim.fault_rules()])
            elif route == ("PUT", "/_sim/faults"):
                rules = json.loads(body)
                if not isinstance(rules, list):
                    raise ValueError("expected a JSON list of fault rules")
                sim.set_faults([FaultRule.from_doc(rule) for rule in rules])
                self._send_json(HTTPStatus.OK, {"rules": len(rules)})
            elif route == ("DELETE", "/_sim/faults"):
                sim.clear_faults()
                self._send_json(HTTPStatus.OK, {"cleared": True})
            else:
                self._send_json(HTTPStatus.NOT_FOUND, {"message": f"no route {method} {route[1]}"})
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": str(exc)})

    # Plumbing ------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a request whose body cannot be read."""
        if self.headers.get("Transfer-Encoding"):
            # botocore always sends Content-Length; without it the connection cannot be reused.
            self.close_connection = True
            self._send_error_body("SerializationException", "chunked request bodies are not read")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            self._send_error_body("SerializationException", "bad or too large Content-Length")
            return None
        return self.rfile.read(length)

    def _send_error_body(self, code: str, message: str) -> None:
        self._send_json(HTTPStatus.BAD_REQUEST, {"__type": code, "message": message}, JSON_11)

    def _send_json(
        self,
        status: int,
        payload: Any,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        *,
        not_before: float = 0.0,
    ) -> None:
        # Everything is ready before the wait, so the answer leaves when it is due, not that
        # plus the time to serialize it.
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if (wait := not_before - time.monotonic()) > 0:
            time.sleep(wait)
        self.end_headers()
        self.wfile.write(data)


class ConfigServer(LocalServer):
    """The HTTP server of one simulator, served from a daemon thread."""

    def __init__(self, address: tuple[str, int], simulator: ConfigSimulator) -> None:
        super().__init__(address, _Handler, "config-sim")
        self.simulator = simulator
