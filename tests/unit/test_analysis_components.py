"""What each blocked hop names (its kind, its component, its words) in the cases tests/unit/test_analysis.py's
table does not reach: a blackhole on either path, a destination in no subnet, several destination groups, a group
the snapshot does not hold, both halves of an ingress verdict, and the words of a subnet-wide source. The
same open world as there (tests/unit/test_analysis.py: ``world``)."""

from __future__ import annotations

from dataclasses import replace

from peering.analysis import (
    AclEntry,
    Interface,
    NetworkAcl,
    Route,
    SecurityGroup,
    SgRule,
    _acl_admits,
    _net,
    analyze,
    endpoint_for_subnet,
)
from tests.unit.test_analysis import (
    IP_B,
    LOCAL_A,
    LOCAL_B,
    PCX,
    TO_A,
    TO_B,
    run,
    with_group,
    with_routes,
    world,
)


def test_a_blackhole_out_is_a_request_path_route_hop_and_one_back_a_reply_path_route_back_hop():
    out = run(with_routes(world(), "rtb-a", LOCAL_A, replace(TO_B, state="blackhole")))
    assert (out.blocked_by.kind, out.blocked_by.component, out.blocked_by.path) == ("route", "rtb-a", "request path")
    assert "is a blackhole route" in out.reason
    back = run(with_routes(world(), "rtb-b", LOCAL_B, replace(TO_A, state="blackhole")))
    assert (back.blocked_by.kind, back.blocked_by.component, back.blocked_by.path) == (
        "route-back", "rtb-b", "reply path")
    assert "drops traffic back to" in back.reason


def test_a_more_specific_route_elsewhere_that_beats_the_peerings_is_a_route_hop_of_that_table():
    result = run(with_routes(world(), "rtb-a", LOCAL_A, TO_B, Route("10.7.1.0/24", "igw-1")))
    assert (result.blocked_by.kind, result.blocked_by.component) == ("route", "rtb-a")
    assert result.reason.endswith("to igw-1 through its more specific route 10.7.1.0/24, which beats the route "
                                  "10.7.0.0/16 to pcx-ab.")


def test_a_destination_in_no_subnet_is_named_by_its_address():
    result = run(world(), dst_ip="10.7.200.9")
    assert (result.blocked_by.kind, result.blocked_by.component) == ("destination", "10.7.200.9")
    assert result.wire()["blockedBy"] == "10.7.200.9"


def test_an_ingress_block_by_several_groups_names_them_all_in_order():
    snap = replace(world(), security_groups={**world().security_groups,
                                             "sg-c": SecurityGroup("sg-c", "vpc-b", "db-b", ingress=(), egress=())},
                   interfaces=(world().interfaces[0], replace(world().interfaces[1], security_group_ids=("sg-c",
                                                                                                        "sg-d"))))
    snap = with_group(snap, "sg-c", ingress=(SgRule("tcp", 80, 80, ("10.6.0.0/16",)),))
    snap = replace(snap, security_groups={**snap.security_groups, "sg-d": replace(snap.security_groups["sg-c"],
                                                                                  group_id="sg-d")})
    result = run(snap)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("sg-ingress", "sg-c,sg-d")


def test_a_group_the_snapshot_does_not_hold_is_passed_over_and_the_next_group_still_admits():
    """An interface may name a group the snapshot could not read; the union of the others still decides."""
    snap = replace(world(), interfaces=(world().interfaces[0], replace(world().interfaces[1],
                                                                        security_group_ids=("sg-gone", "sg-b"))))
    assert run(snap).reachable
    egress = replace(world(), interfaces=(replace(world().interfaces[0], security_group_ids=("sg-gone", "sg-a")),
                                          world().interfaces[1]))
    assert run(egress).reachable


def test_an_ingress_verdict_gives_what_is_not_covered_and_the_reference_that_does_not_apply_in_one_clause():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.0/25",)),
                                                SgRule("tcp", 22, 22, group_ids=("sg-z",))))
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    assert result.blocked_by.kind == "sg-ingress"
    assert result.reason.endswith("(10.6.1.128/25 is not covered; 10.6.1.0/24 is not in sg-z, the group its rule "
                                  "references).")


def test_a_subnet_wide_source_is_named_by_its_label_in_the_summary():
    snap = world()
    source = endpoint_for_subnet(snap, "subnet-a", ("sg-a",))
    snap = with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.0/24",)),))
    result = analyze(snap, source, IP_B, 22, PCX)
    assert result.reachable and " from subnet subnet-a (10.6.1.0/24) through pcx-ab:" in result.reason


def test_an_allow_for_other_ports_leaves_a_box_it_does_not_meet_as_it_was():
    """Network ACL evaluation splits the flow into boxes (addresses x ports). An allow whose ports miss a box that
    shares its addresses must leave that box whole, not widen it to the allow's ports: here rule 110 misses the
    box 10.0.0.0/25 x 2001-65535 left by rule 100, and rule 130 then covers exactly that box."""
    entries = (AclEntry(100, False, "6", True, "10.0.0.0/25", 1024, 2000),
               AclEntry(110, False, "6", True, "10.0.0.0/24", 1024, 1500),
               AclEntry(120, False, "6", True, "10.0.0.128/25", 1501, 65535),
               AclEntry(130, False, "6", True, "10.0.0.0/25", 2001, 65535))
    acl = NetworkAcl("acl-x", "vpc-x", False, (), entries)
    verdict = _acl_admits(acl, False, "6", _net("10.0.0.0/24"), (1024, 65535))
    assert verdict.allowed and verdict.rules == (100, 110, 120, 130)


def test_interfaces_and_routes_of_the_world_are_what_these_cases_assume():
    """The cases above edit the world of tests/unit/test_analysis.py: guard what they rely on."""
    a, b = world().interfaces
    assert isinstance(a, Interface) and a.security_group_ids == ("sg-a",) and b.security_group_ids == ("sg-b",)
    assert [r for t in world().route_tables for r in t.routes] == [LOCAL_A, TO_B, LOCAL_B, TO_A]
    assert isinstance(TO_B, Route) and run(world()).reachable
