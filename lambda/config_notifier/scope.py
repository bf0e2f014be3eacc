"""What the steps of one run share: its settings, its time, and its collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config_notifier.commit import Committer
from config_notifier.delivery import Courier, MessageContext
from config_notifier.ports import SnapshotPort
from config_notifier.report import RunReport
from config_notifier.settings import Settings


@dataclass(frozen=True, slots=True)
class Scope:
    settings: Settings
    store: SnapshotPort
    courier: Courier
    committer: Committer
    messages: MessageContext
    report: RunReport
    now: datetime
    stamp: str  # `now` as stored: one string shared by every record the run writes

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(minutes=self.settings.stuck_after_minutes)
