"""A fault-injecting HTTP proxy in front of moto: SNS, DynamoDB and STS requests fail by rule.

    boto3 (AWS_ENDPOINT_URL=proxy) ──► FaultProxy ──► moto

Code under test reaches it through the standard AWS_ENDPOINT_URL and never knows it is there.
A rule names a service and an operation (SNS `Publish`/`PublishBatch` by the query protocol's
`Action`, DynamoDB `PutItem`/`DeleteItem`/... by `X-Amz-Target`) and what happens to matching
requests, every time, at a seeded rate, or for the next N only:

- an error AWS sends, in the protocol's own error format so botocore parses it: SNS and STS XML
  (`InternalError` 500, `Throttled` 429, ...), DynamoDB JSON 1.0
  (`ProvisionedThroughputExceededException`, `InternalServerError`, or
  `ConditionalCheckFailedException`: a conflicting writer got there first);
- the same error after the request reached moto (`applied=True`): the message went out or the
  write happened, but the client hears it failed, as when a response is lost on the way back;
- for PublishBatch, a partial failure (`entries=0.5`): some entries are taken out before moto
  sees the batch and reported under `Failed`, the rest are published and reported `Successful`;
- latency (`latency_ms`), alone or with an error.

Everything else passes through unchanged.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from sandbox.servers import Lifecycle, LocalServer

logger = logging.getLogger(__name__)

Service = Literal["sns", "dynamodb", "sts"]

_CONDITIONAL_FAILURE = "ConditionalCheckFailedException"
_SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/"
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_DYNAMODB_TYPE = "com.amazonaws.dynamodb.v20120810#"
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,\s]+/[^/,\s]+/[^/,\s]+/([^/,\s]+)/aws4_request")
_BATCH_ENTRY = re.compile(r"^PublishBatchRequestEntries\.member\.(\d+)\.(.+)$")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


@dataclass(frozen=True)
class ErrorKind:
    """How a service answers with one error code: HTTP status, and the fault side for SNS."""

    service: Service
    status: int
    message: str
    sender_fault: bool = False


ERRORS: dict[str, ErrorKind] = {
    # SNS (query protocol, XML): the codes of botocore's SNS model.
    "InternalError": ErrorKind("sns", 500, "Request could not be completed due to an error."),
    "Throttled": ErrorKind("sns", 429, "Rate exceeded", sender_fault=True),
    "KMSThrottling": ErrorKind("sns", 400, "KMS throttled the request", sender_fault=True),
    "NotFound": ErrorKind("sns", 404, "Topic does not exist", sender_fault=True),
    # DynamoDB (JSON 1.0).
    "ProvisionedThroughputExceededException": ErrorKind(
        "dynamodb",
        400,
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "ThrottlingException": ErrorKind("dynamodb", 400, "Rate of requests exceeds the allowed."),
    "RequestLimitExceeded": ErrorKind(
        "dynamodb", 400, "Throughput exceeds the current throughput limit for your account."
    ),
    "InternalServerError": ErrorKind("dynamodb", 500, "Internal server error"),
    "ConditionalCheckFailedException": ErrorKind("dynamodb", 400, "The conditional request failed"),
    # STS (query protocol, XML): a role that does not exist, or does not trust the caller.
    "AccessDenied": ErrorKind(
        "sts", 403, "User is not authorized to perform: sts:AssumeRole", sender_fault=True
    ),
}


@dataclass(frozen=True)
class ProxyFault:
    """One rule. `operation` None: every operation of the service. `error` None: latency only.

    rate: the share of matching requests it acts on (a seeded draw); count: it acts on the next
    `count` matching requests and is then spent; applied: the request reaches moto before the
    error is answered; entries: PublishBatch only, the share of entries that fail (at least one);
    contains: only requests whose body has this text (say, a sort-key prefix).
    """

    service: Service
    operation: str | None = None
    error: str | None = None
    rate: float = 1.0
    count: int | None = None
    applied: bool = False
    entries: float | None = None
    latency_ms: float = 0
    contains: str | None = None

    def __post_init__(self) -> None:
        if self.service not in ("sns", "dynamodb", "sts"):
            raise ValueError(f"service must be 'sns', 'dynamodb' or 'sts', got {self.service!r}")
        if self.error is not None:
            kind = ERRORS.get(self.error)
            if kind is None:
                raise ValueError(f"unknown error {self.error!r}; one of {', '.join(ERRORS)}")
            if kind.service != self.service:
                raise ValueError(f"{self.error} is a {kind.service} error, not {self.service}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be within 0.0..1.0, got {self.rate}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1, got {self.count}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if self.entries is not None:
            if self.operation != "PublishBatch" or self.error is None:
                raise ValueError("entries (a partial failure) needs PublishBatch and an error")
            if self.applied:
                raise ValueError("a partial failure publishes the other entries: not applied")
            if not 0.0 < self.entries <= 1.0:
                raise ValueError(f"entries must be within 0.0 (excluded)..1.0, got {self.entries}")

    def matches(self, service: str, operation: str, body: bytes = b"") -> bool:
        return (
            self.service == service
            and self.operation in (None, operation)
            and (self.contains is None or self.contains.encode() in body)
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Active:
    rule: ProxyFault
    remaining: int | None


@dataclass(frozen=True)
class Decision:
    """What the rules decided for one request."""

    latency_s: float = 0.0
    failure: ProxyFault | None = None


@dataclass(frozen=True)
class Request:
    """One request as the proxy reads it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    service: str
    operation: str

    def form(self) -> dict[str, str]:
        """The parameters of a query-protocol request (SNS): {"Action": "Publish", ...}."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


class FaultRules:
    """The active rules, a seeded draw and counters. Thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._active: list[_Active] = []
        # Not for security: a seeded draw makes a fault rate repeat from run to run.
        self._random = random.Random(seed)  # noqa: S311
        self.requests: Counter[tuple[str, str]] = Counter()
        self.injected: Counter[tuple[str, str, str]] = Counter()

    def add(self, rule: ProxyFault) -> None:
        with self._lock:
            self._active.append(_Active(rule, rule.count))

    def replace(self, rules: Iterable[ProxyFault]) -> None:
        with self._lock:
            self._active = [_Active(rule, rule.count) for rule in rules]

    def clear(self) -> None:
        """No rules, and the draw starts again from its seed (counters are kept)."""
        with self._lock:
            self._active.clear()
            self._random.seed(self._seed)

    def rules(self) -> list[ProxyFault]:
        with self._lock:
            return [active.rule for active in self._active]

    def decide(
        self, service: str, operation: str, *, conditional: bool = False, body: bytes = b""
    ) -> Decision:
        """Latencies of every matching rule add up; the first rule that fails the request wins.

        DynamoDB answers ConditionalCheckFailedException only to a write that carries a
        condition, so such a rule passes an unconditional write through, as AWS would.
        """
        with self._lock:
            self.requests[(service, operation)] += 1
            latency_ms = 0.0
            failure: ProxyFault | None = None
            for active in list(self._active):
                rule = active.rule
                if not rule.matches(service, operation, body):
                    continue
                latency_ms += rule.latency_ms
                if rule.error is None or failure is not None:
                    continue
                if rule.error == _CONDITIONAL_FAILURE and not conditional:
                    continue
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                failure = rule
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining == 0:
                        self._active.remove(active)
            if failure is not None and failure.error is not None:
                self.injected[(service, operation, failure.error)] += 1
            return Decision(latency_ms / 1000, failure)

    def pick_entries(self, ids: list[str], share: float) -> set[str]:
        """Which PublishBatch entries fail: `share` of them, at least one."""
        with self._lock:
            count = max(1, round(len(ids) * share))
            return set(self._random.sample(ids, min(count, len(ids))))

    def count_injected(
        self, service: str | None = None, operation: str | None = None, error: str | None = None
    ) -> int:
        with self._lock:
            return sum(
                n
                for (s, o, e), n in self.injected.items()
                if service in (None, s) and operation in (None, o) and error in (None, e)
            )

    def count_requests(self, service: str | None = None, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (s, o), n in self.requests.items()
                if service in (None, s) and operation in (None, o)
            )


class FaultProxy(Lifecycle):
    """The proxy server: start() it, point AWS_ENDPOINT_URL at `url`, add rules."""

    def __init__(
        self, upstream: str, host: str = "127.0.0.1", port: int = 0, seed: int = 0
    ) -> None:
        self.upstream = upstream
        self.rules = FaultRules(seed)
        self._address = (host, port)
        self._busy = threading.Condition()
        self._in_flight = 0
        self._recorded: list[Request] | None = None
        self._server: _ProxyServer | None = None

    def start(self) -> str:
        if self._server is None:
            self._server = _ProxyServer(self._address, self)
            self._server.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running: call start() first")
        return self._server.url

    # Rules, as tests and the chaos run script them ---------------------------------------------

    def add_fault(
        self,
        service: Service,
        operation: str | None = None,
        error: str | None = None,
        *,
        rate: float = 1.0,
        count: int | None = None,
        applied: bool = False,
        entries: float | None = None,
        latency_ms: float = 0,
        contains: str | None = None,
    ) -> ProxyFault:
        """Add a rule (see ProxyFault); rules accumulate until clear_faults()."""
        rule = ProxyFault(
            service, operation, error, rate, count, applied, entries, latency_ms, contains
        )
        self.rules.add(rule)
        return rule

    def set_faults(self, rules: Iterable[ProxyFault]) -> None:
        self.rules.replace(rules)

    def clear_faults(self) -> None:
        self.rules.clear()

    def faults(self) -> list[ProxyFault]:
        """The rules still active (a rule with a count is gone once spent)."""
        return self.rules.rules()

    def injected(
        self, service: str | None = None, operation: str | None = None, error: str | None = None
    ) -> int:
        """How many requests a rule failed (a partially failed batch counts once)."""
        return self.rules.count_injected(service, operation, error)

    def requests(self, service: str | None = None, operation: str | None = None) -> int:
        """How many requests arrived (each retry counts)."""
        return self.rules.count_requests(service, operation)

    def record(self, on: bool = True) -> None:
        """Keep every request from now on (or stop, and forget them), to look at what was sent."""
        with self._busy:
            self._recorded = [] if on else None

    def recorded(self, service: str | None = None, operation: str | None = None) -> list[Request]:
        """The requests kept since record(), oldest first."""
        with self._busy:
            return [
                r
                for r in self._recorded or []
                if service in (None, r.service) and operation in (None, r.operation)
            ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is in flight (e.g. one a killed client left behind); True if so."""
        with self._busy:
            return self._busy.wait_for(lambda: self._in_flight == 0, timeout)

    # The work ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self._busy:
            self._in_flight += 1
            if self._recorded is not None:
                self._recorded.append(request)
        try:
            return self._handle(request)
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def _handle(self, request: Request) -> Response:
        conditional = request.service == "dynamodb" and b'"ConditionExpression"' in request.body
        decision = self.rules.decide(
            request.service, request.operation, conditional=conditional, body=request.body
        )
        if decision.latency_s:
            time.sleep(decision.latency_s)
        rule = decision.failure
        if rule is None or rule.error is None:
            return self.forward(request)
        if rule.entries is not None:
            return self._partial_batch(request, rule)
        if rule.applied:
            self.forward(request)  # it happens; the answer is lost on the way back
        return error_response(rule.error)

    def forward(self, request: Request, body: bytes | None = None) -> Response:
        """The request as moto answers it."""
        target = urlsplit(self.upstream)
        data = request.body if body is None else body
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, 60)
        try:
            headers = {k: v for k, v in request.headers if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(data))
            connection.request(request.method, request.path, body=data, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
            return Response(answer.status, kept, payload)
        finally:
            connection.close()

    def _partial_batch(self, request: Request, rule: ProxyFault) -> Response:
        error, share = rule.error or "InternalError", rule.entries or 1.0
        entries = batch_entries(request.body)
        failing = self.rules.pick_entries(list(entries), share)
        kept = [entry_id for entry_id in entries if entry_id not in failing]
        successful: list[tuple[str, str]] = []
        if kept:
            answer = self.forward(request, body=without_entries(request.body, failing))
            if answer.status != HTTPStatus.OK:
                return answer
            successful = successful_entries(answer.body)
        return Response(
            HTTPStatus.OK,
            [("Content-Type", "text/xml"), ("x-amzn-RequestId", str(uuid.uuid4()))],
            publish_batch_result(successful, sorted(failing), error),
        )


# Wire formats ----------------------------------------------------------------------------------


def classify(headers: Iterable[tuple[str, str]], body: bytes) -> tuple[str, str]:
    """(service, operation) of a request, e.g. ("sns", "Publish"); ("", "") when unknown."""
    lowered = {k.lower(): v for k, v in headers}
    match = _CREDENTIAL_SERVICE.search(lowered.get("authorization", ""))
    service = match.group(1) if match else ""
    target = lowered.get("x-amz-target")
    if target:
        return service, target.rpartition(".")[2]
    if "x-www-form-urlencoded" in lowered.get("content-type", ""):
        action = dict(parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")
        return service, action
    return service, ""


def error_response(code: str) -> Response:
    """The error as the service sends it."""
    kind = ERRORS[code]
    request_id = str(uuid.uuid4())
    if kind.service in ("sns", "sts"):
        namespace = _SNS_NS if kind.service == "sns" else _STS_NS
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error>'
            f"<Type>{'Sender' if kind.sender_fault else 'Receiver'}</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(kind.message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return Response(
            kind.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
        )
    body = json.dumps({"__type": _DYNAMODB_TYPE + code, "message": kind.message}).encode()
    return Response(
        kind.status,
        [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id)],
        body,
    )


def batch_entries(body: bytes) -> dict[str, int]:
    """PublishBatch entry Id -> its member number in the form body."""
    ids: dict[str, int] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        match = _BATCH_ENTRY.match(key)
        if match and match.group(2) == "Id":
            ids[value] = int(match.group(1))
    return ids


def without_entries(body: bytes, failing: set[str]) -> bytes:
    """The PublishBatch form body without the `failing` entries, the rest renumbered 1..n."""
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    numbers = batch_entries(body)
    dropped = {numbers[entry_id] for entry_id in failing}
    kept = sorted(set(numbers.values()) - dropped)
    renumber = {old: new for new, old in enumerate(kept, start=1)}
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        match = _BATCH_ENTRY.match(key)
        if match is None:
            out.append((key, value))
        elif int(match.group(1)) in renumber:
            member = renumber[int(match.group(1))]
            out.append((f"PublishBatchRequestEntries.member.{member}.{match.group(2)}", value))
    return urlencode(out).encode()


def successful_entries(xml: bytes) -> list[tuple[str, str]]:
    """(Id, MessageId) of each Successful entry of a PublishBatch answer."""
    # moto's own answer on 127.0.0.1, not untrusted input.
    root = ElementTree.fromstring(xml)  # noqa: S314
    ns = {"sns": _SNS_NS}
    return [
        (member.findtext("sns:Id", "", ns), member.findtext("sns:MessageId", "", ns))
        for member in root.iterfind(".//sns:Successful/sns:member", ns)
    ]


def publish_batch_result(successful: list[tuple[str, str]], failed: list[str], code: str) -> bytes:
    """A PublishBatch answer: these entries published, those failed with `code`."""
    kind = ERRORS[code]
    ok = "".join(
        f"<member><Id>{escape(i)}</Id><MessageId>{escape(m)}</MessageId></member>"
        for i, m in successful
    )
    bad = "".join(
        f"<member><Id>{escape(i)}</Id><Code>{escape(code)}</Code>"
        f"<Message>{escape(kind.message)}</Message>"
        f"<SenderFault>{str(kind.sender_fault).lower()}</SenderFault></member>"
        for i in failed
    )
    return (
        f'<PublishBatchResponse xmlns="{_SNS_NS}"><PublishBatchResult>'
        f"<Successful>{ok}</Successful><Failed>{bad}</Failed></PublishBatchResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</PublishBatchResponse>"
    ).encode()


# HTTP plumbing ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps botocore's pooled connections open
    disable_nagle_algorithm = True
    timeout = 60
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def do_PUT(self) -> None:
        self._proxy()

    def do_DELETE(self) -> None:
        self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def _proxy(self) -> None:
        body = self._read_body()
        headers = list(self.headers.items())
        service, operation = classify(headers, body)
        request = Request(self.command, self.path, headers, body, service, operation)
        try:
            response = self.server.proxy.handle(request)
        except OSError as exc:
            logger.warning("upstream unreachable: %s", exc)
            response = Response(HTTPStatus.BAD_GATEWAY, [("Content-Type", "text/plain")], b"")
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client is gone (a killed function): the request happened all the same.
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _ProxyServer(LocalServer):
    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        super().__init__(address, _Handler, "fault-proxy")
        self.proxy = proxy
