"""What a person reads from the path analysis: every hop's kind, component and sentence.

The module promises (peering/analysis.py docstring) that every hop carries one plain sentence naming its
component, so that the first failed hop's sentence is the explanation. These tests hold every hop of many
walks to that, read whole walks as a person would, and check the JSON the CLI and console read."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from peering.analysis import (
    AclEntry,
    Endpoint,
    Interface,
    PathResult,
    Route,
    SecurityGroup,
    SgRule,
    Snapshot,
    Subnet,
    analyze,
    endpoint_for_subnet,
    flow_text,
    protocol_number,
)
from tests.unit.test_analysis import (
    ALL,
    BLOCKING,
    IP_A,
    IP_B,
    LOCAL_A,
    LOCAL_B,
    PCX,
    TO_A,
    TO_B,
    run,
    with_acl,
    with_group,
    with_peering,
    with_routes,
    world,
)

KINDS = {"source", "route", "peering", "route-back", "sg-egress", "destination", "sg-ingress", "nacl",
         "nacl-egress", "nacl-ingress", "nacl-return-egress", "nacl-return-ingress"}


def well_formed(result: PathResult) -> None:
    """Each hop: a known kind, a component that its sentence names (each part of a group list), one sentence
    ending in a full stop, and a verb that agrees with 'security group' or 'security groups'."""
    assert result.hops
    for hop in result.hops:
        assert hop.kind in KINDS, hop
        assert isinstance(hop.component, str) and hop.component, hop
        assert isinstance(hop.sentence, str) and hop.sentence.endswith("."), hop
        if hop.kind != "source" and "no security group" not in hop.sentence:  # those name the endpoint instead
            for part in hop.component.split(","):
                assert part in hop.sentence, (part, hop.sentence)
        if re.search(r"\bsecurity groups\b", hop.sentence):
            assert not re.search(r"\b(admits|does not admit)\b", hop.sentence), hop.sentence
        elif re.search(r"\bsecurity group\b", hop.sentence):
            assert not re.search(r"\bdo not admit\b|(?<!does not )\badmit\b", hop.sentence), hop.sentence


@pytest.mark.parametrize("edit", [c[1] for c in BLOCKING], ids=[c[0] for c in BLOCKING])
def test_every_hop_of_every_blocked_walk_is_well_formed(edit):
    well_formed(run(edit(world())))


def test_the_open_world_reads_hop_by_hop():
    result = run(world())
    well_formed(result)
    assert [(h.kind, h.component, h.sentence) for h in result.hops] == [
        ("route", "rtb-a", "route table rtb-a of subnet-a (VPC A) sends 10.7.1.20 to pcx-ab (route 10.7.0.0/16)."),
        ("peering", "pcx-ab", "peering pcx-ab between VPC A and VPC B is active (in one region)."),
        ("route-back", "rtb-b",
         "route table rtb-b of subnet-b (VPC B) sends 10.6.1.10 back to pcx-ab (route 10.6.0.0/16)."),
        ("sg-egress", "sg-a", "security group sg-a (app-a) of instance i-a (10.6.1.10) admits tcp/22 to 10.7.1.20 "
                              "(its rule for 0.0.0.0/0)."),
        ("destination", "i-b", "instance i-b (10.7.1.20) is running."),
        ("sg-ingress", "sg-b", "security group sg-b (app-b) of instance i-b (10.7.1.20) admits tcp/22 from "
                               "10.6.1.10 (its rule for 10.6.0.0/16)."),
        ("nacl-egress", "acl-a", "network ACL acl-a of subnet-a (VPC A) allows tcp/22 out to 10.7.1.20 (rule 100)."),
        ("nacl-ingress", "acl-b", "network ACL acl-b of subnet-b (VPC B) allows tcp/22 in from 10.6.1.10 (rule 100)."),
        ("nacl-return-egress", "acl-b", "network ACL acl-b of subnet-b (VPC B) allows replies out to 10.6.1.10 on "
                                        "tcp/1024-65535 (rule 100)."),
        ("nacl-return-ingress", "acl-a", "network ACL acl-a of subnet-a (VPC A) allows replies in from 10.7.1.20 on "
                                         "tcp/1024-65535 (rule 100)."),
    ]
    assert result.reason == ("instance i-b (10.7.1.20) is reachable on tcp/22 from instance i-a (10.6.1.10) through "
                             "pcx-ab: the request path and its reply path are open (routes, security groups, network "
                             "ACLs).")


def two_groups(snap: Snapshot) -> Snapshot:
    groups = {**snap.security_groups,
              "sg-a2": SecurityGroup("sg-a2", "vpc-a", "ops-a", egress=(SgRule("udp", 53, 53, ("0.0.0.0/0",)),)),
              "sg-b2": SecurityGroup("sg-b2", "vpc-b", "ops-b",
                                     ingress=(SgRule("tcp", 443, 443, ("10.6.0.0/16",)),))}
    interfaces = (replace(snap.interfaces[0], security_group_ids=("sg-a", "sg-a2")),
                  replace(snap.interfaces[1], security_group_ids=("sg-b", "sg-b2")))
    return replace(snap, security_groups=groups, interfaces=interfaces)


def test_several_groups_read_in_the_plural_and_the_component_lists_each_group():
    result = run(two_groups(world()))
    well_formed(result)
    hops = {h.kind: h for h in result.hops}
    assert hops["sg-egress"].component == "sg-a,sg-a2"
    assert hops["sg-egress"].sentence == ("security groups sg-a (app-a), sg-a2 (ops-a) of instance i-a (10.6.1.10) "
                                          "admit tcp/22 to 10.7.1.20 (its rule for 0.0.0.0/0).")
    assert hops["sg-ingress"].component == "sg-b,sg-b2"
    assert hops["sg-ingress"].sentence.startswith("security groups sg-b (app-b), sg-b2 (ops-b) of instance i-b "
                                                  "(10.7.1.20) admit tcp/22 from 10.6.1.10")
    closed = with_group(with_group(two_groups(world()), "sg-a", egress=()), "sg-b", ingress=())
    blocked = run(closed)
    well_formed(blocked)
    assert blocked.reason == ("security groups sg-a (app-a), sg-a2 (ops-a) of instance i-a (10.6.1.10) do not admit "
                              "tcp/22 to 10.7.1.20.")
    inbound = run(with_group(with_group(two_groups(world()), "sg-b", ingress=()), "sg-a2", egress=(ALL,)))
    assert inbound.reason == ("security groups sg-b (app-b), sg-b2 (ops-b) of instance i-b (10.7.1.20) do not admit "
                              "tcp/22 from 10.6.1.10.")


def test_a_destination_without_any_security_group_admits_nothing():
    snap = world()
    snap = replace(snap, interfaces=(snap.interfaces[0], replace(snap.interfaces[1], security_group_ids=())))
    result = run(snap)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("sg-ingress", "eni-b")
    assert result.reason == "no security group of instance i-b (10.7.1.20) does not admit tcp/22 from 10.6.1.10."


def test_a_source_without_any_security_group_admits_nothing_out():
    snap = world()
    source = Endpoint("the probe", "subnet-a", (), IP_A)
    result = analyze(snap, source, IP_B, 22, PCX)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("sg-egress", "subnet-a")
    assert result.reason == "the probe has no security group, so nothing admits tcp/22 out to 10.7.1.20."


def test_an_inter_region_peering_says_which_regions_it_joins():
    result = run(with_peering(world(), accepter_region="eu-west-1"))
    assert result.reachable
    assert result.hops[1].sentence == ("peering pcx-ab between VPC A and VPC B is active (across regions us-east-1 "
                                       "and eu-west-1).")


def test_a_peering_the_snapshot_does_not_hold_blocks_naming_it():
    result = run(with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", "pcx-unseen")), peering_id=None)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("peering", "pcx-unseen")
    assert result.reason == "peering pcx-unseen is not in the snapshot (not visible to this account)."


def test_without_a_peering_id_the_far_side_is_the_peerings_other_vpc():
    """An address in no known subnet, no peering named: the peering the route uses tells the far VPC."""
    for snap, src, dst in ((world(), IP_A, "10.7.200.1"),
                           (with_group(world(), "sg-a", ingress=(ALL,)), IP_B, "10.6.200.1")):
        result = run(snap, src, dst, peering_id=None)
        far = "VPC B" if src == IP_A else "VPC A"
        assert result.reason == f"{dst} is in no subnet of {far} in the snapshot.", result.reason


def test_a_peering_that_joins_other_vpcs_names_the_vpcs_it_joins():
    peering = world().peerings[PCX]
    snap = replace(world(), peerings={PCX: replace(peering, requester=replace(peering.requester, vpc_id="vpc-c"),
                                                   accepter=replace(peering.accepter, vpc_id="vpc-d"))})
    result = run(snap)
    well_formed(result)
    assert result.reason == "peering pcx-ab joins vpc-c and vpc-d, not VPC A and VPC B."


def test_the_route_back_must_use_the_same_peering():
    snap = replace(world(), peerings={**world().peerings, "pcx-other": replace(world().peerings[PCX],
                                                                               peering_id="pcx-other")})
    result = run(with_routes(snap, "rtb-b", LOCAL_B, Route("10.6.0.0/16", "pcx-other")))
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("route-back", "rtb-b")
    assert result.reason == ("route table rtb-b of subnet-b (VPC B) has no route back to 10.6.0.0/16 through pcx-ab: "
                             "its best match 10.6.0.0/16 sends 10.6.1.10 to pcx-other.")


def test_missing_tables_and_acls_block_at_the_subnet_that_lacks_them():
    no_tables = replace(world(), route_tables=())
    result = run(no_tables)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("route", "subnet-a")
    assert result.reason == "subnet subnet-a (VPC A) has no route table in the snapshot."
    no_acls = replace(world(), network_acls=())
    result = run(no_acls)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("nacl-egress", "subnet-a")
    assert result.reason == "subnet subnet-a (VPC A) has no network ACL in the snapshot."


def test_within_one_subnet_the_acl_hop_says_the_traffic_stays_in_it():
    snap = world()
    neighbour = Interface("eni-a2", "subnet-a", "vpc-a", ("10.6.1.11",), ("sg-a",), "i-a2", "running")
    snap = with_group(replace(snap, interfaces=(*snap.interfaces, neighbour)), "sg-a", ingress=(ALL,))
    result = run(snap, IP_A, "10.6.1.11")
    well_formed(result)
    assert result.reachable
    assert result.hops[0].sentence == ("route table rtb-a of subnet-a (VPC A) delivers 10.6.1.11 through its local "
                                       "route (same VPC).")
    assert (result.hops[-1].kind, result.hops[-1].component, result.hops[-1].sentence) == (
        "nacl", "subnet-a", "network ACLs do not apply within subnet subnet-a (VPC A): the traffic stays in it.")
    assert result.reason.endswith("is reachable on tcp/22 from instance i-a (10.6.1.10) within VPC A: the request "
                                  "path and its reply path are open (routes, security groups, network ACLs).")


def test_a_subnet_source_is_admitted_only_for_all_of_its_range():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.0/25",)),))
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    well_formed(result)
    assert result.reason == ("security group sg-b (app-b) of instance i-b (10.7.1.20) does not admit tcp/22 from "
                             "all of 10.6.1.0/24 (10.6.1.128/25 is not covered).")


def test_a_denial_of_replies_lists_the_ports_in_numeric_order_and_the_ranges_it_catches():
    entries = (AclEntry(90, True, "6", True, "10.6.1.0/24", 1024, 9999),
               AclEntry(100, True, "6", True, "10.6.1.0/24", 20000, 65535),
               AclEntry(110, True, "-1", False, "10.6.0.0/16"))
    snap = with_acl(world(), "acl-b", True, *entries)
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    well_formed(result)
    assert result.reason == ("network ACL acl-b of subnet-b (VPC B) does not let replies out to 10.6.1.0/24 on "
                             "tcp/10000-19999 (rule 110), but replies go to the client's ephemeral port, anywhere in "
                             "1024-65535.")
    split = with_acl(world(), "acl-b", False, AclEntry(90, False, "6", False, "10.6.1.0/25", 22, 22),
                     AclEntry(100, False, "-1", True, "0.0.0.0/0"))
    result = analyze(split, endpoint_for_subnet(split, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    assert result.reason == ("network ACL acl-b of subnet-b (VPC B) denies tcp/22 in from 10.6.1.0/24 (for "
                             "10.6.1.0/25) (rule 90).")


def test_acl_rules_for_other_protocols_ports_or_ranges_are_passed_over():
    entries = (AclEntry(80, False, "17", False, "0.0.0.0/0"),  # udp: another protocol
               AclEntry(85, False, "6", False, "0.0.0.0/0", 80, 80),  # tcp, another port
               AclEntry(88, False, "-1", False, "10.9.0.0/16"),  # another range
               AclEntry(100, False, "6", True, "10.6.0.0/16", 22, 22))
    result = run(with_acl(world(), "acl-b", False, *entries))
    assert result.reachable, result.reason
    assert next(h for h in result.hops if h.kind == "nacl-ingress").sentence.endswith("(rule 100).")


def test_icmp_and_other_protocols_read_without_ports():
    assert flow_text("icmp", (8, 8)) == "icmp"
    assert flow_text("47", (0, 0)) == "protocol 47"
    assert flow_text("tcp", (1024, 65535)) == "tcp/1024-65535" and flow_text("udp", (53, 53)) == "udp/53"
    assert flow_text("tcp", None) == "tcp"
    with pytest.raises(ValueError, match=r"^Unknown protocol 'smtp': use tcp, udp, icmp, icmpv6 or a protocol "
                                         r"number\.$"):
        protocol_number("smtp")
    acl = with_acl(world(), "acl-b", True, AclEntry(100, True, "6", True, "0.0.0.0/0"))
    result = analyze(with_group(acl, "sg-b", ingress=(ALL,)), Endpoint("a", "subnet-a", ("sg-a",), IP_A), IP_B, 8,
                     PCX, protocol="icmp")
    well_formed(result)
    assert result.reason == ("network ACL acl-b of subnet-b (VPC B) does not let replies out to 10.6.1.10 on icmp "
                             "(no rule allows it, so rule * denies it).")


def test_the_wire_form_is_what_the_cli_and_console_read():
    blocked = run(with_routes(world(), "rtb-b", LOCAL_B))
    wire = blocked.wire()
    assert wire == {
        "reachable": False, "reason": blocked.reason, "blockedBy": "rtb-b",
        "hops": [{"kind": h.kind, "path": h.path, "component": h.component, "passed": h.passed,
                  "sentence": h.sentence} for h in blocked.hops]}
    assert [h["path"] for h in wire["hops"]] == ["request path", "request path", "reply path"]
    assert run(world()).wire()["blockedBy"] is None


def test_a_source_in_the_other_family_uses_its_own_address_of_the_destinations_family():
    snap = world()
    snap = replace(snap, subnets={**snap.subnets,
                                  "subnet-a": replace(snap.subnets["subnet-a"], ipv6_cidr="fd00:6:1::/64"),
                                  "subnet-b": replace(snap.subnets["subnet-b"], ipv6_cidr="fd00:7:1::/64")},
                   interfaces=(replace(snap.interfaces[0], ips=(IP_A, "fd00:6:1::10")),
                               replace(snap.interfaces[1], ips=(IP_B, "fd00:7:1::20"))))
    snap = with_routes(with_routes(snap, "rtb-a", LOCAL_A, TO_B, Route("fd00:7::/32", PCX)), "rtb-b", LOCAL_B,
                       TO_A, Route("fd00:6::/32", PCX))
    snap = with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("fd00:6::/32",)),))
    result = run(snap, IP_A, "fd00:7:1::20")
    assert result.reachable, result.reason
    assert "from instance i-a (10.6.1.10)" in result.reason
    assert result.hops[2].sentence.startswith("route table rtb-b of subnet-b (VPC B) sends fd00:6:1::10 back")
    ipv4_only = Endpoint("the probe", "subnet-a", ("sg-a",), None)
    bare = replace(snap, subnets={**snap.subnets, "subnet-a": Subnet("subnet-a", "vpc-a", "10.6.1.0/24")})
    assert analyze(bare, ipv4_only, "fd00:7:1::20", 22, PCX).reason == (
        "subnet subnet-a of the probe has no IPv6 block.")


# -- the security group rules' semantics ------------------------------------------------------------------------


@pytest.mark.parametrize("rule, port, admitted", [
    (SgRule("tcp", 20, 30, ("10.6.0.0/16",)), 22, True),  # a port range holds every port in it
    (SgRule("tcp", 0, 20, ("10.6.0.0/16",)), 22, False),  # ... and no other, from port 0 too
    (SgRule("tcp", -1, -1, ("10.6.0.0/16",)), 22, True),  # -1: all ports
    (SgRule("tcp", None, None, ("10.6.0.0/16",)), 22, True),  # no ports given: all ports
    (SgRule("icmp", 8, -1, ("10.6.0.0/16",)), 8, True),  # ICMP: from_port is the type
    (SgRule("icmp", 0, -1, ("10.6.0.0/16",)), 8, False),  # echo reply (0) is not echo (8)
    (SgRule("icmp", -1, -1, ("10.6.0.0/16",)), 8, True),  # any type
    (SgRule("icmp", None, None, ("10.6.0.0/16",)), 8, True),
])
def test_security_group_rules_admit_their_ports_or_icmp_types_and_no_others(rule, port, admitted):
    protocol = "icmp" if rule.protocol == "icmp" else "tcp"
    snap = with_group(with_acl(with_acl(world(), "acl-a", False, AclEntry(100, False, "-1", True, "0.0.0.0/0")),
                               "acl-b", True, AclEntry(100, True, "-1", True, "0.0.0.0/0")),
                      "sg-b", ingress=(SgRule("udp", 53, 53, ("10.6.0.0/16",)), rule))
    result = analyze(snap, Endpoint("a", "subnet-a", ("sg-a",), IP_A), IP_B, port, PCX, protocol=protocol)
    assert result.reachable is admitted, result.reason


def test_egress_rules_of_a_port_or_a_referenced_group_admit_the_flow():
    by_port = with_group(world(), "sg-a", egress=(SgRule("tcp", 22, 22, ("10.7.0.0/16",)),))
    assert run(by_port).reachable
    by_group = run(with_group(world(), "sg-a", egress=(SgRule("-1", group_ids=("sg-b",)),)))
    assert by_group.reachable and by_group.hops[3].sentence.endswith("(its rule referencing sg-b).")
    across = run(with_peering(with_group(world(), "sg-a", egress=(SgRule("-1", group_ids=("sg-b",)),)),
                              accepter_region="eu-west-1"))
    assert across.reason == ("security group sg-a (app-a) of instance i-a (10.6.1.10) does not admit tcp/22 to "
                             "10.7.1.20 (its rule referencing sg-b does not apply across the inter-region peering "
                             "pcx-ab).")


def test_a_rule_referencing_groups_the_peer_is_not_in_names_them_all():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, group_ids=("sg-x", "sg-y")),))
    assert run(snap).reason == ("security group sg-b (app-b) of instance i-b (10.7.1.20) does not admit tcp/22 from "
                                "10.6.1.10 (10.6.1.10 is not in sg-x, sg-y, the group its rule references).")


def test_what_a_subnet_source_leaves_uncovered_is_listed_piece_by_piece_in_address_order():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.64/26",)),))
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    assert result.reason.endswith("does not admit tcp/22 from all of 10.6.1.0/24 (10.6.1.0/26, 10.6.1.128/25 is "
                                  "not covered).")


def test_groups_missing_from_the_snapshot_or_unnamed_are_named_by_id():
    snap = world()
    snap = replace(snap, security_groups={**snap.security_groups,
                                          "sg-b": replace(snap.security_groups["sg-b"], name="")},
                   interfaces=(snap.interfaces[0], replace(snap.interfaces[1], security_group_ids=("sg-b", "sg-gone"))))
    result = run(snap)
    assert result.reachable
    assert result.hops[5].sentence.startswith("security groups sg-b, sg-gone of instance i-b (10.7.1.20) admit")


# -- routes ---------------------------------------------------------------------------------------------------


def test_route_destinations_that_are_not_cidrs_are_passed_over():
    snap = with_routes(world(), "rtb-a", LOCAL_A, Route("pl-0123456789abcdef0", "vpce-1"), TO_B)
    assert run(snap).reachable


def test_a_blackhole_to_the_peering_itself_drops_the_traffic():
    snap = with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", PCX, "blackhole"))
    assert run(snap).reason == ("route table rtb-a of subnet-a (VPC A) drops traffic to 10.7.1.20: its best match "
                                "10.7.0.0/16 is a blackhole route (its target pcx-ab no longer exists).")
    untargeted = with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", None, "blackhole"))
    assert run(untargeted).reason == ("route table rtb-a of subnet-a (VPC A) drops traffic to 10.7.1.20: its best "
                                      "match 10.7.0.0/16 is a blackhole route.")


def test_a_route_without_a_target_and_any_peering_asked_read_as_such():
    snap = with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", None))
    assert run(snap, peering_id=None).reason == (
        "route table rtb-a of subnet-a (VPC A) has no route to 10.7.0.0/16 through a peering connection: its best "
        "match 10.7.0.0/16 sends 10.7.1.20 to an unknown target.")


def test_a_more_specific_route_elsewhere_names_the_route_it_beats():
    snap = with_routes(world(), "rtb-a", LOCAL_A, Route("0.0.0.0/0", "nat-1"), TO_B,
                       Route("10.7.1.0/24", "tgw-1"))
    assert run(snap).reason == ("route table rtb-a of subnet-a (VPC A) sends 10.7.1.20 to tgw-1 through its more "
                                "specific route 10.7.1.0/24, which beats the route 10.7.0.0/16 to pcx-ab.")


def test_a_subnet_wide_route_back_reads_every_route_that_takes_part_of_it():
    source = Endpoint("subnet subnet-a", "subnet-a", ("sg-a",))
    split = with_routes(world(), "rtb-b", LOCAL_B, Route("10.6.1.0/25", PCX), Route("10.6.1.128/25", PCX))
    assert analyze(split, source, IP_B, 22, PCX).hops[2].sentence == (
        "route table rtb-b of subnet-b (VPC B) sends 10.6.1.0/24 back to pcx-ab (route 10.6.1.0/25, 10.6.1.128/25).")
    partial = with_routes(world(), "rtb-b", LOCAL_B, Route("10.6.1.64/26", PCX), Route("10.6.1.192/26", PCX))
    assert analyze(partial, source, IP_B, 22, PCX).reason == (
        "route table rtb-b of subnet-b (VPC B) has no route back to 10.6.1.0/26, 10.6.1.128/26, part of 10.6.1.0/24.")
    elsewhere = with_routes(world(), "rtb-b", LOCAL_B, TO_A, Route("10.6.1.0/25", "tgw-1"))
    assert analyze(elsewhere, source, IP_B, 22, PCX).reason == (
        "route table rtb-b of subnet-b (VPC B) has no route back to 10.6.0.0/16 through pcx-ab: its route for part of "
        "it, 10.6.1.0/25 sends 10.6.1.0/24 to tgw-1.")


def test_without_the_vpcs_blocks_a_missing_route_names_the_address_or_the_subnet():
    snap = replace(with_routes(with_routes(world(), "rtb-a", LOCAL_A), "rtb-b", LOCAL_B), vpc_cidrs={})
    assert run(snap).reason == "route table rtb-a of subnet-a (VPC A) has no route to 10.7.1.20."
    source = Endpoint("subnet subnet-a", "subnet-a", ("sg-a",))
    back = with_routes(replace(world(), vpc_cidrs={}), "rtb-b", LOCAL_B)
    assert analyze(back, source, IP_B, 22, PCX).reason == (
        "route table rtb-b of subnet-b (VPC B) has no route back to 10.6.1.0/24.")


def test_tables_and_acls_of_subnets_the_snapshot_does_not_hold_are_none():
    assert world().route_table_of("subnet-unknown") is None
    assert world().network_acl_of("subnet-unknown") is None


# -- where the destination is -------------------------------------------------------------------------------


def overlapping(snap: Snapshot) -> Snapshot:
    """VPC C reuses B's range; its subnet sorts first. The peering joins A and B only."""
    return replace(snap, subnets={"subnet-0c": Subnet("subnet-0c", "vpc-c", "10.7.1.0/24"), **snap.subnets},
                   vpc_names={**snap.vpc_names, "vpc-c": "C"})


def test_with_overlapping_vpcs_an_address_without_an_interface_is_looked_for_across_the_peering():
    assert run(overlapping(world()), dst_ip="10.7.1.99").reason == (
        "no network interface in subnet-b (VPC B) has the address 10.7.1.99.")


def test_an_interface_decides_the_destinations_subnet_even_where_vpcs_overlap():
    snap = overlapping(world())
    snap = replace(snap, interfaces=(*snap.interfaces,
                                     Interface("eni-c", "subnet-0c", "vpc-c", ("10.7.1.30",), (), None, "in-use")))
    assert run(snap, dst_ip="10.7.1.30").reason == "peering pcx-ab joins VPC A and VPC B, not VPC A and VPC C."


def test_an_address_in_no_subnet_is_placed_in_the_peered_vpc_to_name_its_block():
    snap = with_routes(world(), "rtb-a", LOCAL_A)
    assert run(snap, dst_ip="10.7.200.1").reason == "route table rtb-a of subnet-a (VPC A) has no route to 10.7.0.0/16."


def test_a_peering_that_leaves_out_the_source_and_an_unknown_far_side_say_so():
    peering = world().peerings[PCX]
    snap = replace(world(), peerings={PCX: replace(peering, requester=replace(peering.requester, vpc_id="vpc-c"),
                                                   accepter=replace(peering.accepter, vpc_id="vpc-d"))})
    assert run(snap, dst_ip="10.7.200.1", peering_id=None).reason == (
        "peering pcx-ab joins vpc-c and vpc-d, not VPC A and ?.")


def test_an_interface_without_an_instance_is_named_by_its_id_and_vpcs_named_vpc_keep_their_name():
    snap = world()
    snap = replace(snap, interfaces=(snap.interfaces[0], replace(snap.interfaces[1], instance_id=None,
                                                                 state="in-use")),
                   vpc_names={"vpc-a": "A", "vpc-b": "shared-VPC"})
    result = run(snap)
    well_formed(result)
    assert result.hops[4].sentence == "eni-b (10.7.1.20) is in-use."
    assert result.hops[1].sentence == "peering pcx-ab between VPC A and shared-VPC is active (in one region)."


def test_a_source_address_of_the_other_family_without_an_interface_has_no_address_to_use():
    result = analyze(world(), Endpoint("the probe", "subnet-a", ("sg-a",), "fd00:6:1::10"), IP_B, 22, PCX)
    well_formed(result)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("source", "subnet-a")
    assert result.reason == "the probe has no IPv4 address to reach a IPv4 destination from."


def test_a_subnet_wide_ipv6_source_uses_the_subnets_ipv6_block():
    snap = world()
    snap = replace(snap, subnets={"subnet-a": replace(snap.subnets["subnet-a"], ipv6_cidr="fd00:6:1::/64"),
                                  "subnet-b": replace(snap.subnets["subnet-b"], ipv6_cidr="fd00:7:1::/64")},
                   interfaces=(snap.interfaces[0], replace(snap.interfaces[1], ips=(IP_B, "fd00:7:1::20"))))
    snap = with_routes(with_routes(snap, "rtb-a", LOCAL_A, Route("fd00:7::/32", PCX)), "rtb-b", LOCAL_B,
                       Route("fd00:6::/32", PCX))
    snap = with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("fd00:6::/32",)),))
    result = analyze(snap, Endpoint("subnet subnet-a", "subnet-a", ("sg-a",)), "fd00:7:1::20", 22, PCX)
    assert result.reachable, result.reason
    assert "sends fd00:6:1::/64 back to pcx-ab" in result.hops[2].sentence


# -- network ACL sentences ---------------------------------------------------------------------------------------


def test_denied_reply_ports_are_listed_in_numeric_order_and_a_single_port_alone():
    gaps = with_acl(world(), "acl-b", True, AclEntry(100, True, "6", True, "0.0.0.0/0", 1024, 8999),
                    AclEntry(110, True, "6", True, "0.0.0.0/0", 10000, 19999))
    assert run(gaps).reason == ("network ACL acl-b of subnet-b (VPC B) does not let replies out to 10.6.1.10 on "
                                "tcp/9000-9999, 20000-65535 (no rule allows it, so rule * denies it), but replies go "
                                "to the client's ephemeral port, anywhere in 1024-65535.")
    one = with_acl(world(), "acl-b", True, AclEntry(100, True, "6", True, "0.0.0.0/0", 1024, 4999),
                   AclEntry(110, True, "6", True, "0.0.0.0/0", 5001, 65535))
    assert "on tcp/5000 (no rule allows it" in run(one).reason


def test_the_ranges_an_acl_denies_are_listed_in_address_order():
    snap = with_acl(world(), "acl-b", False, AclEntry(100, False, "-1", True, "10.6.1.0/26"),
                    AclEntry(110, False, "-1", True, "10.6.1.128/26"))
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    assert result.reason == ("network ACL acl-b of subnet-b (VPC B) denies tcp/22 in from 10.6.1.0/24 (for "
                             "10.6.1.64/26, 10.6.1.192/26) (no rule allows it, so rule * denies it).")


def test_several_allow_rules_that_together_admit_are_all_named():
    snap = with_acl(world(), "acl-b", True, AclEntry(100, True, "6", True, "0.0.0.0/0", 1024, 30000),
                    AclEntry(110, True, "6", True, "0.0.0.0/0", 30001, 65535))
    assert run(snap).hops[8].sentence.endswith("on tcp/1024-65535 (rule 100, rule 110).")
