"""Planning rules the main plan tests leave implicit: what the operator's sentences say, and the edges of the
route planner (mixed tables, several peer ranges, routes already through this peering, odd route records).

Each test states one rule; bench/mutation.md lists the mutants of plan.py they were written against."""

import re

import pytest

from peering import plan
from peering.config import Settings
from peering.errors import RouteConflict, RouteQuotaExceeded
from peering.records import Route, RouteTable
from tests.unit.test_plan import PCX, SETTINGS, peering, side, table

# -- sentences: the lists they name read back as the configured lists ---------------------------------------


def _listed(sentence: str) -> list[str]:
    """The comma-separated list inside the last parentheses of a sentence."""
    return re.findall(r"\(([^()]*)\)\.?$", sentence)[0].split(", ")


def test_account_refusals_list_the_allowed_accounts_as_configured():
    settings = Settings(stack_account_id="111111111111", allowed_requester_accounts=("222222222222", "333333333333"),
                        allowed_accepter_accounts=("444444444444", "555555555555"))
    requester = plan.pre_read_refusal(peering(), settings)
    assert requester.startswith("Requester account 111111111111 is not in AllowedRequesterAccounts")
    assert _listed(requester) == ["222222222222", "333333333333"]
    ok = side("requester", "vpc-a", ["10.6.0.0/16"], account="222222222222")
    accepter = plan.pre_read_refusal(peering(requester=ok), settings)
    assert accepter.startswith("Accepter account 111111111111 is not in AllowedAccepterAccounts")
    assert _listed(accepter) == ["444444444444", "555555555555"]


def test_a_range_refusal_lists_the_blocks_outside_and_the_allowed_ranges_as_configured():
    settings = Settings(stack_account_id="111111111111", allowed_peer_cidrs=("10.6.0.0/16", "10.8.0.0/16"))
    reason = plan.refusal(peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16", "10.9.0.0/16"])), settings)
    assert re.match(r"Accepter VPC vpc-b has (.*), outside AllowedPeerCidrs", reason).group(1).split(", ") == [
        "10.7.0.0/16", "10.9.0.0/16"]
    assert _listed(reason) == ["10.6.0.0/16", "10.8.0.0/16"]


def test_an_unknown_direction_is_refused_naming_the_values_it_may_take():
    reason = plan.direction_problem({plan.VERIFY_DIRECTION_TAG: "sideways"})
    assert "'sideways'" in reason
    listed = re.search(r"is not one of (.*), so the peering was left alone\.$", reason).group(1)
    assert listed.split(", ") == list(plan.DIRECTIONS)


def test_an_unknown_direction_reads_as_the_default_so_the_function_stays_total():
    """Inspect refuses such a tag first (direction_problem); asked_sources still answers for it."""
    assert plan.asked_sources({plan.VERIFY_DIRECTION_TAG: "sideways"}) == plan.DIRECTIONS[plan.DEFAULT_DIRECTION]
    assert plan.asked_sources({plan.VERIFY_DIRECTION_TAG: " BOTH "}) == ("requester", "accepter")
    assert plan.asked_sources({}) is None


def test_a_refusal_before_anything_is_read_says_the_peering_was_left_alone():
    for tags in ({}, {"peering-automation/auto-accept": "no"}):
        reason = plan.pre_read_refusal(peering(tags=tags), SETTINGS)
        assert reason.startswith(PCX) and reason.endswith("so it was left alone.")


def test_a_consent_refusal_says_nothing_was_changed():
    reason = plan.refusal(peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], consent=[])), SETTINGS)
    assert reason.endswith("; nothing was changed.")


def test_ranges_the_settings_accept_with_host_bits_set_mean_their_network():
    """Settings.from_env accepts 10.0.0.1/8 (ip_network(strict=False)); planning must read it the same way."""
    settings = Settings.from_env({"STACK_ACCOUNT_ID": "111111111111", "ALLOWED_PEER_CIDRS": "10.0.0.1/8"})
    assert plan.refusal(peering(), settings) is None
    assert plan.outside(["10.6.0.0/16", "192.168.0.0/24"], ["10.0.0.1/8"]) == ["192.168.0.0/24"]


# -- probe targets -----------------------------------------------------------------------------------------


def test_probe_targets_in_brackets_are_ipv6_addresses_and_every_bad_one_is_named():
    p = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], ["fd00:7::/56"]))
    assert plan.targets_outside(["[fd00:7::10]", "fd00:7::11", "[fd00:9::1]"], p) == ["[fd00:9::1]"]
    assert plan.targets_outside(["nonsense", "8.8.8.8", "10.7.1.4", "also-nonsense"], p) == [
        "nonsense", "8.8.8.8", "also-nonsense"]


def test_only_the_brackets_of_an_ipv6_literal_are_taken_off_a_probe_target():
    p = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], ["fd00:7::/56"]))
    odd = ["X10.7.1.4", "10.7.1.4X", "(10.7.1.4)", "[fd00:7::10]X", "'fd00:7::10'"]
    assert plan.targets_outside(odd, p) == odd


# -- route planning edges ----------------------------------------------------------------------------------


def test_every_table_of_the_side_is_planned_whatever_foreign_or_skipped_tables_sort_before_it():
    tables = {"requester": [table("rtb-a0", "vpc-other"), table("rtb-a1", "vpc-a",
                                                                 tags={"peering-automation/skip": "true"}),
                            table("rtb-a2", "vpc-a"), table("rtb-a3", "vpc-a")],
              "accepter": [table("rtb-b0", "vpc-other"), table("rtb-b1", "vpc-b")]}
    result = plan.plan_routes(peering(), tables, quota=50)
    assert [r.route_table_id for r in result.requester.create] == ["rtb-a2", "rtb-a3"]
    assert result.requester.skipped_tables == ["rtb-a1"]
    assert [r.route_table_id for r in result.accepter.create] == ["rtb-b1"]


def test_routes_already_through_this_peering_never_shadow_and_never_conflict():
    """A narrower route to the same peering (say, left by an operator) is no other target's traffic."""
    tables = {"requester": [table("rtb-a1", "vpc-a", [("10.7.1.0/24", PCX)])], "accepter": []}
    result = plan.plan_routes(peering(), tables, quota=50)
    assert [r.destination for r in result.requester.create] == ["10.7.0.0/16"]
    assert result.requester.shadowed == []


def test_a_local_route_never_shadows_whatever_its_origin():
    """shadows' rule: every non-local route counts, whatever the origin recorded with it."""
    local = Route(destination="10.7.0.0/8", target="local", origin="CreateRoute")
    assert not plan.shadows("10.7.0.0/16", local, PCX)


def test_a_route_to_the_same_destination_is_not_an_overlap():
    """Same destination is a conflict or a route already present (plan_side decides), never a shadow."""
    same = Route(destination="10.7.0.0/16", target="tgw-1")
    assert not plan.shadows("10.7.0.0/16", same, PCX)
    assert plan.shadows("10.7.0.0/16", Route(destination="10.7.0.0/17", target="tgw-1"), PCX)


def test_routes_to_prefix_lists_are_neither_the_same_destination_nor_an_overlap():
    """Route.destination may be a prefix list (pl-...) that is no CIDR: it is left out of both comparisons."""
    prefix_list = Route(destination="pl-0123456789abcdef0", target="vpce-1")
    tables = {"requester": [RouteTable(route_table_id="rtb-a1", vpc_id="vpc-a", routes=[prefix_list])],
              "accepter": []}
    result = plan.plan_routes(peering(), tables, quota=50)
    assert [r.destination for r in result.requester.create] == ["10.7.0.0/16"]
    assert result.requester.shadowed == [] and result.requester.present == []
    assert not plan.shadows("10.7.0.0/16", prefix_list, PCX)


def test_with_allow_shadowing_every_shadowed_route_of_every_peer_range_is_listed():
    p = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16", "10.8.0.0/16"]))
    tables = {"requester": [table("rtb-a1", "vpc-a", [("10.7.1.0/24", "tgw-1"), ("10.8.2.0/24", "tgw-2")])],
              "accepter": []}
    result = plan.plan_routes(p, tables, quota=50, allow_shadowing=True)
    assert [(s.destination, s.existing_destination, s.existing_target) for s in result.requester.shadowed] == [
        ("10.7.0.0/16", "10.7.1.0/24", "tgw-1"), ("10.8.0.0/16", "10.8.2.0/24", "tgw-2")]


def test_the_quota_counts_every_new_route_of_a_table():
    p = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16", "10.8.0.0/16"]))
    almost = table("rtb-a1", "vpc-a", [(f"172.16.{i}.0/24", "tgw-1") for i in range(49)])
    with pytest.raises(RouteQuotaExceeded) as caught:
        plan.plan_routes(p, {"requester": [almost], "accepter": []}, quota=50)
    assert "has 49 routes and needs 2 more, past its quota of 50; no route was changed." in str(caught.value)


def _conflict(route: Route) -> str:
    tables = {"requester": [RouteTable(route_table_id="rtb-a1", vpc_id="vpc-a", routes=[route])], "accepter": []}
    with pytest.raises(RouteConflict) as caught:
        plan.plan_routes(peering(), tables, quota=50)
    return str(caught.value)


def test_a_conflict_names_the_other_target_marks_a_blackhole_and_says_nothing_was_changed():
    active = _conflict(Route(destination="10.7.0.0/16", target="tgw-1"))
    assert f"already sends 10.7.0.0/16 to tgw-1, not to {PCX}; no route was changed." in active
    blackhole = _conflict(Route(destination="10.7.0.0/16", target="pcx-0aaaaaaaaaaaaaaaa", state="blackhole"))
    assert f"to pcx-0aaaaaaaaaaaaaaaa (blackhole), not to {PCX}; no route was changed." in blackhole
    unknown = _conflict(Route(destination="10.7.0.0/16", target=None, state="blackhole"))
    assert f"to an unknown target (blackhole), not to {PCX}" in unknown
