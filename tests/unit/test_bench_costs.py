"""The cost model: steady runs do not grow with accounts; the daily reconcile does."""

from __future__ import annotations

import pytest

from bench.costs import Measured, monthly_cost

MEASURED = Measured(
    steady_wall_s=0.15,
    steady_read_units=28,
    reconcile_wall_s=100.0,
    reconcile_read_units=60_000,
    reconcile_accounts=10_000,
    regions=2,
)


def test_cloudwatch_metrics_and_alarms_dominate_a_small_organization() -> None:
    cost = monthly_cost(MEASURED, 100)
    assert cost["CloudWatch"] == pytest.approx(16 * 0.30 + 6 * 0.10 + 8_640 * 2_000 / 1e9 * 0.5)
    assert cost["total"] < 6


def test_the_reconcile_scales_with_accounts() -> None:
    small, large = monthly_cost(MEASURED, 1_000), monthly_cost(MEASURED, 10_000)
    steady_lambda = 0.15 * 8_640 * 0.5 * 0.0000166667 + 8_640 * 0.2e-6
    reconcile_lambda = 100.0 * 2 * 30 * 0.5 * 0.0000166667
    assert large["Lambda"] == pytest.approx(steady_lambda + reconcile_lambda)
    assert small["Lambda"] == pytest.approx(steady_lambda + reconcile_lambda / 10)
    assert large["DynamoDB"] > small["DynamoDB"]
