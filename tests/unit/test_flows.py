"""Which flows a run verifies and the verdict over them (peering.flows, pure), on the analysis tests' open world:
VPC A (requester, instance i-a 10.6.1.10, group sg-a admitting nothing in) and VPC B (accepter, instance i-b
10.7.1.20, group sg-b admitting tcp/22 from A) — the tutorial's security groups.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peering.config import PROBE_TARGETS_TAG, VERIFY_DIRECTION_TAG, Settings
from peering.errors import InvalidInput
from peering.flows import judge, plan_flows
from peering.models import (
    Instance,
    NetworkFacts,
    Peering,
    ProbeResult,
    ProbeRound,
    ProbeTarget,
    Subnet,
    VpcSide,
)
from peering.plan import direction_problem, pre_read_refusal, refusal
from tests.unit.test_analysis import IP_A, IP_B, PCX, SgRule, with_group, world

FACTS = NetworkFacts(
    subnets=[Subnet(subnet_id="subnet-a", vpc_id="vpc-a", cidr="10.6.1.0/24"),
             Subnet(subnet_id="subnet-b", vpc_id="vpc-b", cidr="10.7.1.0/24")],
    instances=[Instance(instance_id="i-a", vpc_id="vpc-a", state="running", private_ip=IP_A),
               Instance(instance_id="i-b", vpc_id="vpc-b", state="running", private_ip=IP_B)],
)


def peering(**tags: str) -> Peering:
    side = {"account_id": "123456789012", "region": "us-east-1"}
    return Peering(peering_id=PCX, state="active", tags={"peering-automation/auto-accept": "true", **tags},
                   requester=VpcSide(role="requester", vpc_id="vpc-a", cidrs=["10.6.0.0/16"], **side),
                   accepter=VpcSide(role="accepter", vpc_id="vpc-b", cidrs=["10.7.0.0/16"], **side))


def flows_of(p: Peering) -> list[tuple[str, str, bool]]:
    return [(f.source_side, str(f.target), f.asked) for f in plan_flows(p, FACTS, 22, 5)]


def not_applicable() -> ProbeRound:
    return ProbeRound(applicable=False, reason="No probe is configured (ProbeSubnetIds is empty).")


# == which flows ===================================================================================
def test_by_default_requester_instances_to_accepter_instances_are_asked_and_the_reverse_is_not():
    assert flows_of(peering()) == [("requester", f"{IP_B}:22", True), ("accepter", f"{IP_A}:22", False)]


@pytest.mark.parametrize(("value", "asked"), [
    ("requester-to-accepter", {"requester"}),
    ("accepter-to-requester", {"accepter"}),
    (" Both ", {"requester", "accepter"}),
])
def test_verify_direction_chooses_the_directions_asked(value, asked):
    flows = flows_of(peering(**{VERIFY_DIRECTION_TAG: value}))
    assert {side for side, _, is_asked in flows if is_asked} == asked
    assert len(flows) == 2


def test_probe_targets_are_asked_from_the_other_side_than_the_vpc_holding_them():
    flows = flows_of(peering(**{PROBE_TARGETS_TAG: f"{IP_B}:5432, {IP_A}:443"}))
    assert flows == [("requester", f"{IP_B}:5432", True), ("accepter", f"{IP_A}:443", True)]


def test_probe_targets_on_one_side_leave_the_other_direction_as_information():
    flows = flows_of(peering(**{PROBE_TARGETS_TAG: f"{IP_B}:443"}))
    assert flows == [("requester", f"{IP_B}:443", True), ("accepter", f"{IP_A}:22", False)]


def test_a_bad_probe_target_is_invalid_input():
    with pytest.raises(InvalidInput, match="not an IP address and port"):
        plan_flows(peering(**{PROBE_TARGETS_TAG: "db.internal:5432"}), FACTS, 22, 5)


@pytest.mark.parametrize("value", ["", "sideways", "a-to-b", "both,requester-to-accepter"])
def test_an_invalid_verify_direction_is_refused_in_one_sentence(value):
    p = peering(**{VERIFY_DIRECTION_TAG: value})
    reason = refusal(p, Settings(stack_account_id="123456789012"))
    assert reason == direction_problem(p.tags)
    assert reason is not None and reason.startswith(f"The tag {VERIFY_DIRECTION_TAG}={value!r} is not one of ")
    assert reason.count(". ") == 0 and reason.endswith("left alone.")


def test_a_valid_or_missing_verify_direction_is_not_refused():
    settings = Settings(stack_account_id="123456789012")
    assert pre_read_refusal(peering(), settings) is None
    assert pre_read_refusal(peering(**{VERIFY_DIRECTION_TAG: "BOTH"}), settings) is None


# == the verdict ===================================================================================
def test_the_tutorials_groups_are_verified_and_the_blocked_reverse_leg_is_information_only():
    p = peering()
    verification = judge(world(), p, plan_flows(p, FACTS, 22, 5), not_applicable())

    assert (verification.performed, verification.reachable) == (True, True)
    assert "request and reply paths open" in verification.reason and f"→ {IP_B}:22" in verification.reason
    assert [(v.asked, v.reachable) for v in verification.paths] == [(True, True), (False, False)]
    (line,) = verification.information
    assert line.startswith(f"Not asked, for information: instance i-b ({IP_B}) → {IP_A}:22 is blocked: ")
    assert "security group sg-a (app-a)" in line and "does not admit tcp/22" in line


def test_both_directions_asked_with_the_reverse_blocked_fails_naming_the_group():
    p = peering(**{VERIFY_DIRECTION_TAG: "both"})
    verification = judge(world(), p, plan_flows(p, FACTS, 22, 5), not_applicable())

    assert (verification.performed, verification.reachable) == (True, False)
    assert "security group sg-a (app-a)" in verification.reason and "tcp/22" in verification.reason
    assert verification.information == []


def test_both_directions_open_is_verified():
    snap = with_group(world(), "sg-a", ingress=(SgRule("tcp", 22, 22, ("10.7.0.0/16",)),))
    p = peering(**{VERIFY_DIRECTION_TAG: "both"})
    verification = judge(snap, p, plan_flows(p, FACTS, 22, 5), not_applicable())
    assert verification.reachable is True and len(verification.paths) == 2


def test_a_probe_target_on_a_port_the_group_blocks_fails_naming_the_group():
    p = peering(**{PROBE_TARGETS_TAG: f"{IP_B}:5432"})
    verification = judge(world(), p, plan_flows(p, FACTS, 22, 5), not_applicable())
    assert verification.reachable is False
    assert "security group sg-b (app-b)" in verification.reason and "tcp/5432" in verification.reason


def test_the_probes_results_decide_its_flows_and_the_analysis_explains_a_miss():
    p = peering(**{PROBE_TARGETS_TAG: f"{IP_B}:22,{IP_B}:5432"})
    flows = plan_flows(p, FACTS, 22, 5)
    targets = [ProbeTarget(host=IP_B, port=22), ProbeTarget(host=IP_B, port=5432)]
    probe = ProbeRound(applicable=True, reason="2 target(s).", targets=targets, source_subnet_id="subnet-a",
                       source_side="requester", source_security_group_ids=["sg-a"], attempt=1, results=[
                           ProbeResult(target=targets[0], reachable=True, latency_ms=1.0),
                           ProbeResult(target=targets[1], reachable=False, error="timeout")])

    verification = judge(world(), p, flows, probe)

    assert verification.reachable is False and verification.probe_applicable is True
    assert "sg-b" in verification.reason and "tcp/5432" in verification.reason
    assert [v.source for v in verification.paths if v.asked] == ["subnet subnet-a (10.6.1.0/24)"] * 2


def test_a_probe_that_reached_everything_is_verified_and_the_reverse_is_only_information():
    p = peering()
    flows = plan_flows(p, FACTS, 22, 5)
    target = ProbeTarget(host=IP_B, port=22)
    probe = ProbeRound(applicable=True, reason="1 target(s).", targets=[target], source_subnet_id="subnet-a",
                       source_side="requester", source_security_group_ids=["sg-a"], attempt=1, all_reachable=True,
                       results=[ProbeResult(target=target, reachable=True, latency_ms=0.5)])

    verification = judge(world(), p, flows, probe)

    assert verification.reachable is True
    assert verification.reason.startswith(f"The probe in subnet subnet-a (10.6.1.0/24) reached {IP_B}:22 (0.5 ms)")
    assert len(verification.information) == 1


def test_a_failed_probe_function_fails_the_verification_in_one_sentence():
    p = peering()
    target = ProbeTarget(host=IP_B, port=22)
    probe = ProbeRound(applicable=True, reason="1 target(s).", targets=[target], source_subnet_id="subnet-a",
                       source_side="requester")
    verification = judge(world(), p, plan_flows(p, FACTS, 22, 5), probe, "Task timed out after 30 seconds")
    assert verification.reachable is False
    assert verification.reason == "The probe function failed (Task timed out after 30 seconds)."


def test_without_a_source_instance_nothing_is_analysed_and_the_run_is_routed():
    p = peering()
    snap = world()
    from dataclasses import replace

    without_a = replace(snap, interfaces=tuple(i for i in snap.interfaces if i.vpc_id != "vpc-a"))
    verification = judge(without_a, p, plan_flows(p, FACTS, 22, 5), not_applicable())
    assert verification.performed is False
    assert "vpc-a has no running instance and no probe" in verification.reason


def test_without_any_instance_there_is_nothing_to_verify():
    p = peering()
    verification = judge(world(), p, plan_flows(p, NetworkFacts(subnets=FACTS.subnets), 22, 5), not_applicable())
    assert verification.performed is False and "vpc-b has no running instance" in verification.reason


# == ICMP echo flows ===============================================================================
def test_icmp_targets_are_flows_the_analysis_answers_and_a_group_without_icmp_blocks_them():
    p = peering(**{PROBE_TARGETS_TAG: f"icmp:{IP_B}"})
    flows = plan_flows(p, FACTS, 22, 5)
    assert [(f.source_side, f.protocol, f.target.host) for f in flows if f.asked] == [("requester", "icmp", IP_B)]

    blocked = judge(world(), p, flows, not_applicable())
    opened = judge(with_group(world(), "sg-b", ingress=(SgRule("icmp", -1, -1, ("10.6.0.0/16",)),)), p, flows,
                   not_applicable())

    assert blocked.reachable is False and "sg-b" in blocked.reason and "icmp" in blocked.reason
    assert opened.reachable is True and f"→ {IP_B} (icmp echo)" in opened.reason


@pytest.mark.parametrize("item", ["icmp:", "icmp:db.internal", "icmp:10.7.1.4:22"])
def test_a_bad_icmp_target_is_invalid_input(item):
    with pytest.raises(InvalidInput, match="is not icmp: and an IP address"):
        plan_flows(peering(**{PROBE_TARGETS_TAG: item}), FACTS, 22, 5)


# == property: a flow nobody asked for never decides the verdict ===================================
RULES = st.lists(st.builds(SgRule, st.sampled_from(["tcp", "icmp", "-1"]), st.sampled_from([None, 22, 443]),
                           st.sampled_from([None, 22, 443]), st.sampled_from([(), ("10.7.0.0/16",), ("0.0.0.0/0",)])),
                 max_size=3)


@settings(max_examples=60, deadline=None)
@given(a_ingress=RULES, b_ingress=RULES)
def test_the_verdict_depends_only_on_the_flows_asked(a_ingress, b_ingress):
    """Whatever A's and B's groups admit, the default run's verdict is the verdict of its asked flows alone;
    the reverse flows only ever add information, and only when blocked."""
    snap = with_group(with_group(world(), "sg-a", ingress=tuple(a_ingress)), "sg-b", ingress=tuple(b_ingress))
    p = peering()
    flows = plan_flows(p, FACTS, 22, 5)

    full = judge(snap, p, flows, not_applicable())
    asked_only = judge(snap, p, [f for f in flows if f.asked], not_applicable())

    assert (full.performed, full.reachable, full.reason) == (asked_only.performed, asked_only.reachable,
                                                             asked_only.reason)
    assert len(full.information) == sum(1 for v in full.paths if not v.asked and not v.reachable)
