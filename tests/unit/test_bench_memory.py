"""The benchmark's memory figure is the worker's own, not the size of the process that started it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARENT = """
import subprocess, sys
ballast = b"x" * (300 * 2**20)  # resident: the benchmark holding a large organization
child = "import resource; from sandbox.lambda_process import peak_rss_kb; "
child += "print(peak_rss_kb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
print(out.stdout)
"""


def test_a_worker_started_by_a_large_process_reports_its_own_peak() -> None:
    # Given a 300 MiB process that starts a worker
    result = subprocess.run(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'lambda'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    own_kb, inherited_kb = (int(v) for v in result.stdout.split())
    # Then the worker's figure is its own size, far below its parent's
    assert own_kb < 100 * 1024
    # While getrusage, which exec does not reset, would have reported the parent's
    assert inherited_kb > 300 * 1024
