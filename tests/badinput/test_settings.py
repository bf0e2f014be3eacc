"""Bad settings: the real handler refuses to run, names every bad variable with a valid example,
and touches nothing. Regions: only region-shaped names pass; a region-shaped name that nothing
answers for is unread (never empty), and one the service knows nothing about reads as empty."""

from __future__ import annotations

import re

import pytest

from config_notifier.settings import Settings, SettingsError
from tests.badinput.conftest import ACCOUNTS, REGIONS

BROKEN = {
    "SNAPSHOT_TABLE_NAME": "",  # missing
    "TOPIC_ARN_PREFIX": "config-deployments",  # a name, not the start of an ARN
    "REGIONS": "us-east-1,Atlantis",
    "BASELINE_MODE": "loud",
    "MAX_CONCURRENCY": "0",
    "MAX_ATTEMPTS": "many",
    "FULL_RECONCILE_HOURS": "10000",
    "TIME_BUDGET_SECONDS": "-5",
}
_EXAMPLE = re.compile(r"for example (?P<name>[A-Z_]+)=(?P<value>\S+)")


def test_every_bad_variable_is_named_with_a_valid_example_and_nothing_happens(
    deployment, config_sim
):
    # Given an organization with something to report, and a function whose every setting is bad
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region(REGIONS[0]).put_org_pack("ops-baseline")
    # When the handler runs
    result = deployment.invoke("bad-settings", **BROKEN)
    # Then it refuses, with one error that names each variable
    assert result.summary is None
    assert result.error is not None
    assert "SettingsError" in result.error
    [logged] = [r for r in result.logs if r["level"] == "ERROR"]
    message = logged["message"]
    for name in BROKEN:
        assert name in message, name
    # And it shows a valid value for each, valid enough to run with
    examples = {m["name"]: m["value"] for m in _EXAMPLE.finditer(message)}
    assert set(examples) == set(BROKEN)
    assert Settings.from_env(examples).regions == ("us-east-1", "eu-west-1")
    # And nothing was read, published or written
    assert config_sim.call_count() == 0
    assert deployment.received() == []
    assert deployment.items() == []


@pytest.mark.parametrize(
    "regions",
    ["Atlantis", "us_east_1", "US-EAST-1", "us-east-1a", "eu-west", "us-east-1 eu-west-1", ","],
)
def test_names_that_are_not_region_shaped_are_refused(regions):
    # Given a REGIONS value that is not a comma-separated list of region names
    env = {
        "SNAPSHOT_TABLE_NAME": "t-1",
        "TOPIC_ARN_PREFIX": "arn:aws:sns:us-east-1:123456789012:t-",
    }
    # When the settings are read
    # Then REGIONS is refused, with an example
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**env, "REGIONS": regions})
    [problem] = raised.value.problems
    assert problem.startswith("REGIONS")
    assert "for example REGIONS=us-east-1,eu-west-1" in problem


def test_a_region_shaped_name_the_service_knows_nothing_about_reads_as_empty(
    deployment, config_sim
):
    # Given a region-shaped name the Config service has no state for (it answers, with nothing)
    config_sim.add_accounts(ACCOUNTS)
    config_sim.region(REGIONS[0]).put_org_pack("ops-baseline")
    # When the notifier watches it next to a real one
    summary = deployment.run("nowhere", REGIONS=f"{REGIONS[0]},xx-nowhere-1")
    # Then it is baselined as empty, not reported as failing
    assert summary["failed_sources"] == []
    assert sorted(summary["baselined"]) == sorted([REGIONS[0], "xx-nowhere-1"])
    summaries = {
        d.attributes["region"]: d.document for d in deployment.received() if not d.is_transition
    }
    assert summaries["xx-nowhere-1"]["watched"] == {
        "organization-rule": 0,
        "organization-pack": 0,
        "account-pack": 0,
    }
    assert summaries[REGIONS[0]]["watched"]["organization-pack"] == 1


def test_a_region_whose_endpoint_does_not_answer_is_unread_not_empty(
    deployment, config_sim, monkeypatch
):
    # Given a baselined organization
    config_sim.add_accounts(ACCOUNTS)
    for region in REGIONS:
        config_sim.region(region).put_org_pack("ops-baseline")
    deployment.run("baseline")
    deployment.received()
    # When the Config endpoint cannot be reached at all (as for a region that does not exist:
    # its endpoint name does not resolve), e.g. a closed port
    unreachable = {"AWS_ENDPOINT_URL_CONFIG_SERVICE": "http://127.0.0.1:9"}
    summary = deployment.run("unreachable", **unreachable)
    # Then every source of every region is reported unread, saying why, and nothing disappears
    unread = {(f["region"], f["source"]) for f in summary["failed_sources"]}
    assert unread == {
        (region, source)
        for region in REGIONS
        for source in ("organization-rule", "organization-pack", "account-pack")
    }
    assert all("Could not connect" in f["reason"] for f in summary["failed_sources"])
    assert deployment.transitions() == []
    # And once it answers again, nothing was lost or invented
    deployment.run("back")
    assert deployment.transitions() == []
