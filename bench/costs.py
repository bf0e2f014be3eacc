"""Monthly cost of running the notifier, computed from the benchmark's measured numbers. Pure.

Prices are AWS list prices for us-east-1 (on-demand, no free tier), as assumptions the README
states; change them here if yours differ.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNS_PER_MONTH = 30 * 24 * 12  # a 5-minute schedule
RECONCILES_PER_MONTH = 30  # FULL_RECONCILE_HOURS=24
LAMBDA_GB = 0.5  # the function's 512 MB
LAMBDA_GB_SECOND = 0.0000166667  # x86_64 (infra/constants.py ARCHITECTURE)
LAMBDA_REQUEST = 0.20 / 1_000_000
DYNAMODB_READ_UNIT = 0.125 / 1_000_000  # on-demand read request unit
DYNAMODB_WRITE_UNIT = 0.625 / 1_000_000
CUSTOM_METRIC_MONTH = 0.30
# The handler's 15 metrics (handler._emit: 11 counts and Transitions per severity) and
# Powertools' ColdStart.
METRICS = 16
ALARM_MONTH = 0.10
ALARMS = 7
LOG_GB = 0.50
LOG_BYTES_PER_RUN = 2_000  # the run summary line and the metrics document


@dataclass(frozen=True, slots=True)
class Measured:
    """One kind of run as the benchmark measured it, over `regions` regions."""

    wall_s: float
    read_units: float
    regions: int

    def per_region(self, regions: int) -> tuple[float, float]:
        """Wall seconds and read units for `regions` regions: an upper bound, as a run reads its
        regions side by side."""
        scale = regions / self.regions
        return self.wall_s * scale, self.read_units * scale


def monthly_cost(steady: Measured, reconcile: Measured, regions: int) -> dict[str, float]:
    """Dollars per month by service for `regions` regions, from a measured steady run and daily
    reconcile. Neither grows with the number of accounts: members are read only where a rule or
    pack is unhealthy (docs/design.md rule 7)."""
    steady_s, steady_units = steady.per_region(regions)
    reconcile_s, reconcile_units = reconcile.per_region(regions)
    lambda_seconds = steady_s * RUNS_PER_MONTH + reconcile_s * RECONCILES_PER_MONTH
    read_units = steady_units * RUNS_PER_MONTH + reconcile_units * RECONCILES_PER_MONTH
    costs = {
        "Lambda": lambda_seconds * LAMBDA_GB * LAMBDA_GB_SECOND + RUNS_PER_MONTH * LAMBDA_REQUEST,
        "DynamoDB": read_units * DYNAMODB_READ_UNIT,
        "SNS": 0.0,  # $0.50 per million publishes: a message per change, cents at most
        "CloudWatch": METRICS * CUSTOM_METRIC_MONTH
        + ALARMS * ALARM_MONTH
        + RUNS_PER_MONTH * LOG_BYTES_PER_RUN / 1e9 * LOG_GB,
    }
    costs["total"] = sum(costs.values())
    return costs
