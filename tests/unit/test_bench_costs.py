"""The cost model: neither steady runs nor the reconcile grow with accounts; both scale with
regions (docs/design.md rule 7)."""

from __future__ import annotations

import pytest

from bench.costs import Measured, monthly_cost

STEADY = Measured(wall_s=0.15, read_units=28, regions=2)
RECONCILE = Measured(wall_s=1.5, read_units=40, regions=1)


def test_cloudwatch_metrics_and_alarms_dominate() -> None:
    cost = monthly_cost(STEADY, RECONCILE, regions=2)
    assert cost["CloudWatch"] == pytest.approx(16 * 0.30 + 7 * 0.10 + 8_640 * 2_000 / 1e9 * 0.5)
    assert cost["total"] < 6


def test_runs_and_reconciles_are_priced_per_region() -> None:
    # Given runs measured over 2 regions (steady) and 1 region (reconcile)
    # When 2 regions are costed
    cost = monthly_cost(STEADY, RECONCILE, regions=2)
    # Then the steady run counts as measured and the reconcile twice over
    lambda_s = 0.15 * 8_640 + 1.5 * 2 * 30
    assert cost["Lambda"] == pytest.approx(lambda_s * 0.5 * 0.0000166667 + 8_640 * 0.2e-6)
    assert cost["DynamoDB"] == pytest.approx((28 * 8_640 + 40 * 2 * 30) * 0.125e-6)
    # And 4 regions cost more than 2
    assert monthly_cost(STEADY, RECONCILE, regions=4)["DynamoDB"] > cost["DynamoDB"]
