"""The dry run's snapshot store reads the deployed table and writes nothing to it."""

from __future__ import annotations

import inspect

from config_notifier.dry_run import ReadOnlySnapshot
from config_notifier.snapshot import SnapshotStore

READS = {"load_region", "load_members"}


def test_the_dry_run_store_overrides_every_write_of_the_snapshot_store() -> None:
    # Given every public method of the store that is not a read (a new write included)
    writes = {
        name
        for name, _ in inspect.getmembers(SnapshotStore, inspect.isfunction)
        if not name.startswith("_") and name not in READS
    }
    assert {"put_outbox", "mark_taken", "save_region"} <= writes
    # Then the dry run's store has its own version of each: none reaches the table
    inherited = {name for name in writes if name not in vars(ReadOnlySnapshot)}
    assert inherited == set()
