"""NextToken: opaque, signed, bound to the request that earned it, and short-lived.

A token carries the last key it returned (a cursor, not an offset), so items added or removed
between pages neither repeat nor vanish from the rest of the listing. Everything else in it only
serves to refuse a token that AWS would refuse: forged, stale, or from another request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

_SIGNATURE_BYTES = hashlib.sha256().digest_size


class InvalidTokenError(Exception):
    """The token cannot be used; the message says why (AWS only says it is invalid)."""


@dataclass(frozen=True)
class TokenScope:
    """The request a token belongs to: the same operation, region, caller, subject and filters."""

    operation: str
    region: str
    caller: str
    subject: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "op": self.operation,
            "region": self.region,
            "caller": self.caller,
            "subject": self.subject,
            "filters": dict(sorted(self.filters.items())),
        }


class TokenCodec:
    """Issues and redeems NextTokens. Not thread-safe: the simulator's lock guards it."""

    def __init__(self, ttl: timedelta, secret: bytes | None = None) -> None:
        self._ttl = ttl
        self._secret = secret or secrets.token_bytes(32)
        # Bumped by expire_all(): a generation, not a time, so that it works with a frozen clock.
        self._generation = 0

    def expire_all(self) -> None:
        """Every token issued so far becomes stale."""
        self._generation += 1

    def issue(self, scope: TokenScope, cursor: str, now: datetime) -> str:
        payload = json.dumps(
            {
                "scope": scope.fingerprint(),
                "cursor": cursor,
                "issued": now.timestamp(),
                "generation": self._generation,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return base64.urlsafe_b64encode(self._sign(payload) + payload).decode("ascii")

    def redeem(self, token: str, scope: TokenScope, now: datetime) -> str:
        """The cursor the token carries, if it is genuine, fresh and issued for `scope`."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise InvalidTokenError("it is not a token this service issued") from exc
        signature, payload = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidTokenError("it is not a token this service issued")
        claims = json.loads(payload)
        issued = float(claims["issued"])
        if claims["generation"] != self._generation or now.timestamp() - issued > (
            self._ttl.total_seconds()
        ):
            raise InvalidTokenError("it has expired; start the listing again without a token")
        if claims["scope"] != scope.fingerprint():
            raise InvalidTokenError(
                "it was issued for a different request (operation, region, caller, name or filters)"
            )
        return str(claims["cursor"])

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()
