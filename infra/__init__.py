"""The CDK app's constructs, one per capability, composed by `infra.stack.NotifierStack`.

The function's package lives in `lambda/` (a Python keyword, so it cannot be a package itself). The
app imports names from it (`Settings.env_names()`, `SERVICE`, `METRICS_NAMESPACE`, `Severity`) so
the stack and the code cannot drift apart; put that directory on the import path the way pytest's
`pythonpath` does, whoever imports `infra` first.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = REPO_ROOT / "lambda"

if str(LAMBDA_SOURCE) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SOURCE))
