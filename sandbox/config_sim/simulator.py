"""ConfigSimulator: the organization, its HTTP endpoint, fault rules and call counters in one
object that tests, the demo and the benchmark script.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from sandbox.config_sim import documents, errors
from sandbox.config_sim.faults import FaultInjector, FaultOutcome, FaultRule
from sandbox.config_sim.identity import UnknownCallerError, caller_account
from sandbox.config_sim.operations import OPERATIONS, Call
from sandbox.config_sim.server import Answer, ApiRequest, ConfigServer
from sandbox.config_sim.service_model import operation_model
from sandbox.config_sim.state import Clock, Organization, Region, utc_now
from sandbox.config_sim.tokens import TokenCodec
from sandbox.config_sim.validation import parse_request
from sandbox.servers import Lifecycle

logger = logging.getLogger(__name__)

DEFAULT_MANAGEMENT_ACCOUNT_ID = "111111111111"
# NextTokens of a misbehaving listing (fault rules token_loop and empty_pages); the real ones are
# signed and scoped, these are recognised by their prefix.
LOOP_TOKEN = "sim-fault-token-loop"  # noqa: S105 - a pagination token, not a secret
EMPTY_PAGE_TOKEN = "sim-fault-empty-page-"  # noqa: S105 - a pagination token, not a secret


class ConfigSimulator(Lifecycle):
    """An AWS Config endpoint for the five deployment-status operations, over a scripted
    organization. Point boto3 at it with AWS_ENDPOINT_URL_CONFIG_SERVICE=<endpoint_url>.

    Thread-safe: one lock guards the organization, the fault rules, the counters and the tokens.
    """

    def __init__(
        self,
        management_account_id: str = DEFAULT_MANAGEMENT_ACCOUNT_ID,
        clock: Clock | None = None,
        *,
        seed: int = 0,
        token_ttl: timedelta = timedelta(hours=1),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        self._org = Organization(management_account_id, clock or utc_now, self._lock, seed)
        self._faults = FaultInjector(seed)
        self._tokens = TokenCodec(token_ttl)
        self._calls: Counter[tuple[str, str]] = Counter()
        self._address = (host, port)
        self._server: ConfigServer | None = None
        self.identity_endpoint: str | None = None  # STS that issued temporary credentials

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free port (unless one was given) in a daemon thread; the endpoint URL."""
        with self._lock:
            if self._server is None:
                self._server = ConfigServer(self._address, self)
                self._server.start()
            return self._server.url

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def endpoint_url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return server.url

    # The organization ----------------------------------------------------------------------

    @property
    def management_account_id(self) -> str:
        return self._org.management_account_id

    @property
    def accounts(self) -> list[str]:
        """The member accounts, sorted."""
        with self._lock:
            return sorted(self._org.accounts)

    def add_accounts(self, account_ids: Iterable[str]) -> None:
        """Accounts join the organization (every region). Nothing is deployed to them until a
        put_org_* or set_member_status names them."""
        self._org.add_accounts(account_ids)

    def remove_account(self, account_id: str) -> None:
        """The account leaves the organization: its member records disappear everywhere."""
        self._org.remove_account(account_id)

    def region(self, name: str, deployed_by: str | None = None) -> Region:
        """The scripting handle of one region (its state is created on first change).

        `deployed_by`: a delegated administrator account, whose organization rules and packs the
        handle puts and changes (None: the management account's)."""
        if deployed_by is not None and deployed_by != self.management_account_id:
            with self._lock:
                if deployed_by not in self._org.delegated_admins:
                    raise ValueError(
                        f"{deployed_by} is not a delegated administrator "
                        "(call register_delegated_admin first)"
                    )
        return Region(self._org, name, deployed_by)

    def register_delegated_admin(self, account_id: str) -> None:
        """A member account becomes a delegated administrator for AWS Config: it may call the
        organization operations, and sees only the organization rules and packs it deployed
        (the management account sees only its own)."""
        self._org.register_delegated_admin(account_id)

    def deregister_delegated_admin(self, account_id: str) -> None:
        """No longer an administrator: denied again, and what it deployed is gone."""
        self._org.deregister_delegated_admin(account_id)

    @property
    def delegated_admins(self) -> list[str]:
        with self._lock:
            return sorted(self._org.delegated_admins)

    def set_identity_endpoint(self, endpoint_url: str | None) -> None:
        """Where to ask STS GetCallerIdentity who signed with temporary credentials (a session
        token). None: such callers count as the management account, like any unknown key."""
        self.identity_endpoint = endpoint_url

    def set_caller_account(self, access_key_id: str, account_id: str) -> None:
        """Requests signed with this access key come from `account_id` (a member account unless
        it is the management account's id)."""
        self._org.set_caller_account(access_key_id, account_id)

    def load_state(self, doc: Mapping[str, Any]) -> None:
        """Replace the organization with a state document (see documents.py)."""
        documents.load(self._org, doc)

    def dump_state(self) -> dict[str, Any]:
        return documents.dump(self._org)

    def reset(self) -> None:
        """An empty organization, no faults, no counts, no callers, every token expired."""
        with self._lock:
            self._org.reset()
            self._faults.clear()
            self._calls.clear()
            self._tokens.expire_all()

    # Faults, counters, tokens ------------------------------------------------------------------

    def set_fault(
        self,
        region: str | None = None,
        operation: str | None = None,
        latency_ms: float = 0,
        throttle_rate: float = 0.0,
        access_denied: bool = False,
        *,
        token_loop: bool = False,
        empty_pages: int = 0,
        omit_fields: Iterable[str] = (),
        ignore_filters: bool = False,
    ) -> None:
        """Add a fault rule (None: every region / every operation); rules accumulate.

        token_loop: a listing repeats the same NextToken forever; empty_pages: a listing starts
        with that many empty pages that carry a NextToken; omit_fields: members left out of
        every listed item (e.g. "ErrorCode", "LastUpdateTime"); ignore_filters: a listing answers
        as if the request had no Filters.
        """
        rule = FaultRule(
            region,
            operation,
            latency_ms,
            throttle_rate,
            access_denied,
            token_loop=token_loop,
            empty_pages=empty_pages,
            omit_fields=tuple(omit_fields),
            ignore_filters=ignore_filters,
        )
        with self._lock:
            self._faults.add(rule)

    def set_faults(self, rules: Iterable[FaultRule]) -> None:
        """Replace every fault rule."""
        with self._lock:
            self._faults.clear()
            for rule in rules:
                self._faults.add(rule)

    def fault_rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._faults.rules)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self) -> dict[tuple[str, str], int]:
        """(operation, region) -> requests received, errors included (each retry counts)."""
        with self._lock:
            return dict(self._calls)

    def call_count(self, operation: str | None = None, region: str | None = None) -> int:
        with self._lock:
            return sum(
                count
                for (op, reg), count in self._calls.items()
                if operation in (None, op) and region in (None, reg)
            )

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def expire_tokens(self) -> None:
        """Every NextToken issued so far becomes stale (InvalidNextTokenException)."""
        with self._lock:
            self._tokens.expire_all()

    # The API -------------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> Answer:
        """Answer one API request: its HTTP status, JSON body, and when it may leave. Called by
        the HTTP server, which puts it on the wire then."""
        name = request.operation or request.target or ""
        region = request.region or ""
        with self._lock:
            self._calls[(name, region)] += 1
            fault = self._faults.decide(name, region)
        try:
            status, body = 200, self._answer(request, fault)
        except errors.ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception:
            logger.exception("the simulator failed on %s", name)
            failure = errors.internal_failure()
            status, body = failure.status, failure.body()
        # The answer leaves `latency` after the request came in, whatever the simulator's own
        # work took, as a service's latency includes its own: the latency is the one configured,
        # not that plus the time this Python process spends sharing its CPU with the others.
        return Answer(status, body, request.received + fault.latency_s)

    def _answer(self, request: ApiRequest, fault: FaultOutcome) -> dict[str, Any]:
        operation = OPERATIONS.get(request.operation or "")
        if operation is None:
            raise errors.unknown_operation(request.target)
        if not request.region or not request.access_key_id:
            raise errors.missing_authentication()
        if fault.throttled:
            raise errors.throttling()
        if fault.access_denied:
            raise (
                errors.organization_access_denied()
                if operation.organization
                else errors.access_denied(operation.name)
            )
        params = parse_request(operation_model(operation.name), request.body)
        self._resolve(request)
        with self._lock:
            account_id = self._org.account_of(request.access_key_id)
            if operation.organization and not self._org.may_call_organization_operations(
                account_id
            ):
                raise errors.organization_access_denied()
            call = Call(
                operation.name, request.region, request.access_key_id, account_id, self._org.now()
            )
            return _misbehaving(
                fault, params, lambda p: operation.handler(self._org, self._tokens, call, p)
            )

    def _resolve(self, request: ApiRequest) -> None:
        """Learn the account of temporary credentials from STS, once per access key."""
        key, token, endpoint = request.access_key_id, request.session_token, self.identity_endpoint
        if not key or not token or endpoint is None:
            return
        with self._lock:
            if key in self._org.callers or key in self._org.resolved:
                return
        try:
            # Outside the lock: a call to STS must not hold up the other requests.
            account_id = caller_account(endpoint, key, token)
        except UnknownCallerError as exc:
            raise errors.unrecognized_client(str(exc)) from exc
        with self._lock:
            # Not an assumed role: the management account's, as any key nobody registered.
            self._org.resolved[key] = account_id or self._org.management_account_id


def _misbehaving(
    fault: FaultOutcome,
    params: dict[str, Any],
    answer: Callable[[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    """The answer as a faulty service would give it: `answer` computes the correct one."""
    if fault.ignore_filters:
        params = {k: v for k, v in params.items() if k != "Filters"}
    # Names given: one answer, no paging, so no token to misbehave with.
    paged = not any(key.endswith("Names") and value for key, value in params.items())
    token = params.get("NextToken")
    if paged and fault.token_loop:
        # Every request, with or without the loop's token, gets the first page and the same token.
        body = answer({k: v for k, v in params.items() if k != "NextToken"})
        body["NextToken"] = LOOP_TOKEN
    elif paged and fault.empty_pages and (token is None or token.startswith(EMPTY_PAGE_TOKEN)):
        served = int(token.removeprefix(EMPTY_PAGE_TOKEN)) if token else 0
        body = answer({k: v for k, v in params.items() if k != "NextToken"})
        if served < fault.empty_pages:
            body = {key: [] for key, value in body.items() if isinstance(value, list)}
            body["NextToken"] = f"{EMPTY_PAGE_TOKEN}{served + 1}"
    else:
        body = answer(params)
    for items in body.values():
        if isinstance(items, list):
            for item in items:
                for name in fault.omit_fields:
                    item.pop(name, None)
    return body
