"""What a run reports: its counts, its failed sources, and the summary the handler returns.

The run's steps work on several threads and tell the report as they go; the report keeps the
counts under one lock and logs each failure once, where it is counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from config_notifier import SERVICE
from config_notifier.accounts import Names
from config_notifier.errors import PublishRefused
from config_notifier.events import PutResult
from config_notifier.model import Group, Severity, SourceFailure
from config_notifier.stored import ChunkCommit

# A child of the handler's logger (same service name), so these records get its JSON format and
# the run's correlation id.
logger = Logger(service=SERVICE, child=True)


@dataclass(slots=True)
class RunReport:
    """Counts a run reports as metrics and in its summary; safe to tell from any thread."""

    api_calls: dict[str, int] = field(default_factory=dict)
    transitions: dict[str, int] = field(default_factory=dict)
    messages_published: int = 0
    messages_failed: int = 0
    records_written: int = 0
    records_deleted: int = 0
    write_conflicts: int = 0
    deferred_for_time: int = 0
    muted: int = 0  # transitions and stalls committed without a message
    reminders_sent: int = 0  # deployments a reminder digest SNS accepted listed
    events_put: int = 0
    events_failed: int = 0  # kept in the outbox, put again next run
    events_dropped: int = 0  # lost: logged as errors
    baselined: list[str] = field(default_factory=list)  # regions whose summary went out
    failures: list[SourceFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def source_failed(self, failure: SourceFailure) -> None:
        """A source unread, or a snapshot unreadable or unwritable (rule 1)."""
        with self._lock:
            self.failures.append(failure)
        logger.error(
            "snapshot unreadable or unwritable; what it would have recorded is redone next run"
            if failure.source == "snapshot"
            else "source unread; its entities are kept as they were",
            extra={
                "region": failure.region,
                "source": failure.source,
                "reason": failure.reason,
                "delegated_admin": failure.admin_account or None,
            },
        )

    def failures_of(self, region: str, admin: str) -> list[SourceFailure]:
        with self._lock:
            return [f for f in self.failures if (f.region, f.admin_account) == (region, admin)]

    def published(self, groups: Iterable[Group | None]) -> None:
        """Messages SNS took, with the transitions and stalls they carried (None: a message
        that carries none, such as a baseline summary)."""
        with self._lock:
            for group in groups:
                self.messages_published += 1
                if group is None:
                    continue
                for t in group.transitions:
                    self._add_transitions(t.severity.value, 1)
                if group.stuck:
                    self._add_transitions(Severity.STUCK.value, len(group.stuck))

    def publish_failed(self, about: str, refusal: PublishRefused) -> None:
        with self._lock:
            self.messages_failed += 1
        logger.warning(
            "publish failed; retried next run", extra={"entity": about, "error": refusal.reason}
        )

    def committed(self, commit: ChunkCommit) -> None:
        with self._lock:
            self.records_written += commit.written
            self.records_deleted += commit.deleted
            self.write_conflicts += commit.conflicts

    def conflict(self) -> None:
        """Another run is publishing what this one would: left to it and the next run."""
        with self._lock:
            self.write_conflicts += 1

    def deferred(self) -> None:
        with self._lock:
            self.deferred_for_time += 1

    def held_by_mutes(self, count: int) -> None:
        with self._lock:
            self.muted += count

    def reminded(self, deployments: int) -> None:
        with self._lock:
            self.reminders_sent += deployments

    def baseline_told(self, region: str, admin: str) -> None:
        with self._lock:
            self.baselined.append(f"{region}@{admin}" if admin else region)

    def events(self, result: PutResult | None) -> None:
        if result is None:
            return
        with self._lock:
            self.events_put += result.put
            self.events_failed += result.failed
            self.events_dropped += result.dropped
        if result.dropped:
            logger.error(
                "events lost: neither put nor kept for the next run",
                extra={"dropped": result.dropped, "errors": list(result.errors[:10])},
            )
        elif result.failed:
            logger.warning(
                "events not put; kept and put again next run",
                extra={"failed": result.failed, "errors": list(result.errors[:10])},
            )

    def summary(
        self,
        run_id: str,
        regions: Sequence[str],
        admins: Sequence[str],
        names: Names | None,
        duration_ms: int,
    ) -> dict[str, Any]:
        """The run's summary: what the handler returns, logs and turns into metrics."""
        return {
            "run_id": run_id,
            "regions": list(regions),
            "delegated_admins": list(admins),
            "api_calls": sum(self.api_calls.values()),
            "api_calls_by_operation": self.api_calls,
            "transitions": self.transitions,
            "messages_published": self.messages_published,
            "messages_failed": self.messages_failed,
            "records_written": self.records_written,
            "records_deleted": self.records_deleted,
            "write_conflicts": self.write_conflicts,
            "deferred_for_time": self.deferred_for_time,
            "muted": self.muted,
            "reminders_sent": self.reminders_sent,
            "events_put": self.events_put,
            "events_failed": self.events_failed,
            "events_dropped": self.events_dropped,
            "failed_sources": [
                {"region": f.region, "source": f.source, "reason": f.reason}
                | ({"admin_account": f.admin_account} if f.admin_account else {})
                for f in self.failures
            ],
            "baselined": self.baselined,
            "account_names": _names_outcome(names),
            "duration_ms": duration_ms,
        }

    def _add_transitions(self, severity: str, n: int) -> None:
        self.transitions[severity] = self.transitions.get(severity, 0) + n


def _names_outcome(names: Names | None) -> str:
    """What the summary says about account names: one word, also a metric."""
    if names is None:
        return "not needed"
    if names.error is not None:
        return "unavailable"
    return "listed" if names.refreshed else "cached"
