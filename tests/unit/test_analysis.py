"""Path analysis, table-driven: one case per component that can block a path, each checked for the hop
that blocks, the component it names and the words of its sentence; then longest-prefix match, IPv6,
secondary CIDRs, table association, subnet-wide endpoints, and a property test over generated topologies.

The base world is open: VPC A (10.6.0.0/16) and VPC B (10.7.0.0/16), one subnet and one running instance
each, routes both ways through the active same-region peering pcx-ab, B's group admitting tcp/22 from A's
range, default network ACLs allowing everything. Each case changes one thing.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peering.analysis import (
    AclEntry,
    Endpoint,
    Interface,
    NetworkAcl,
    PathResult,
    Peering,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Snapshot,
    Subnet,
    analyze,
    endpoint_for_ip,
    endpoint_for_subnet,
)

PCX = "pcx-ab"
IP_A, IP_B = "10.6.1.10", "10.7.1.20"
ALL = SgRule("-1", cidrs=("0.0.0.0/0", "::/0"))
LOCAL_A, LOCAL_B = Route("10.6.0.0/16", "local"), Route("10.7.0.0/16", "local")
TO_B, TO_A = Route("10.7.0.0/16", PCX), Route("10.6.0.0/16", PCX)


def open_acl(acl_id: str, vpc: str, subnets: tuple[str, ...] = ()) -> NetworkAcl:
    """What EC2 shows for a default ACL: rule 100 allows all, rule * denies, both ways, both families."""
    entries = tuple(AclEntry(number, egress, "-1", number == 100, cidr)
                    for egress in (True, False) for number in (100, 32767) for cidr in ("0.0.0.0/0", "::/0"))
    return NetworkAcl(acl_id, vpc, True, subnets, entries)


def world() -> Snapshot:
    return Snapshot(
        subnets={"subnet-a": Subnet("subnet-a", "vpc-a", "10.6.1.0/24"),
                 "subnet-b": Subnet("subnet-b", "vpc-b", "10.7.1.0/24")},
        route_tables=(RouteTable("rtb-a", "vpc-a", True, (), (LOCAL_A, TO_B)),
                      RouteTable("rtb-b", "vpc-b", True, (), (LOCAL_B, TO_A))),
        security_groups={
            "sg-a": SecurityGroup("sg-a", "vpc-a", "app-a", ingress=(), egress=(ALL,)),
            "sg-b": SecurityGroup("sg-b", "vpc-b", "app-b", ingress=(SgRule("tcp", 22, 22, ("10.6.0.0/16",)),),
                                  egress=(ALL,)),
        },
        network_acls=(open_acl("acl-a", "vpc-a", ("subnet-a",)), open_acl("acl-b", "vpc-b", ("subnet-b",))),
        interfaces=(Interface("eni-a", "subnet-a", "vpc-a", (IP_A,), ("sg-a",), "i-a", "running"),
                    Interface("eni-b", "subnet-b", "vpc-b", (IP_B,), ("sg-b",), "i-b", "running")),
        peerings={PCX: Peering.between(PCX, "active", "vpc-a", "vpc-b", "us-east-1", "us-east-1")},
        vpc_names={"vpc-a": "A", "vpc-b": "B"},
        vpc_cidrs={"vpc-a": ("10.6.0.0/16",), "vpc-b": ("10.7.0.0/16",)},
    )


# -- small editors, each returning a changed copy ---------------------------------------------------
def with_routes(snap: Snapshot, table_id: str, *routes: Route) -> Snapshot:
    return replace(snap, route_tables=tuple(replace(t, routes=routes) if t.route_table_id == table_id else t
                                            for t in snap.route_tables))


def with_group(snap: Snapshot, group_id: str, **changes) -> Snapshot:
    return replace(snap, security_groups={**snap.security_groups,
                                          group_id: replace(snap.security_groups[group_id], **changes)})


def with_acl(snap: Snapshot, acl_id: str, egress: bool, *entries: AclEntry) -> Snapshot:
    """Replace one direction of the ACL's entries (the other direction stays open)."""
    def edit(acl: NetworkAcl) -> NetworkAcl:
        kept = tuple(e for e in acl.entries if e.egress != egress)
        return replace(acl, entries=kept + entries)
    return replace(snap, network_acls=tuple(edit(a) if a.acl_id == acl_id else a for a in snap.network_acls))


def with_peering(snap: Snapshot, accepter_vpc: str | None = None, accepter_region: str | None = None,
                 **changes) -> Snapshot:
    """The snapshot with its peering changed (its state, or its accepter side's VPC or region)."""
    peering = snap.peerings[PCX]
    accepter = replace(peering.accepter, vpc_id=accepter_vpc or peering.accepter.vpc_id,
                       region=accepter_region or peering.accepter.region)
    return replace(snap, peerings={PCX: replace(peering, accepter=accepter, **changes)})


def deny(number: int, egress: bool, cidr: str = "0.0.0.0/0") -> AclEntry:
    return AclEntry(number, egress, "-1", False, cidr)


def run(snap: Snapshot, src_ip: str = IP_A, dst_ip: str = IP_B, port: int = 22,
        peering_id: str | None = PCX) -> PathResult:
    source = endpoint_for_ip(snap, src_ip)
    assert source is not None
    return analyze(snap, source, dst_ip, port, peering_id)


def assert_consistent(result: PathResult) -> None:
    """Every hop before the last passed; the result blocks exactly at the last hop when unreachable."""
    assert all(h.passed for h in result.hops[:-1])
    assert result.reachable == result.hops[-1].passed
    assert result.reachable == (result.blocked_by is None)
    assert result.reason == (result.blocked_by.sentence if result.blocked_by else result.summary)
    assert result.reason.count(". ") == 0, "one sentence"


# == the open world ================================================================================
def test_open_world_is_reachable_both_ways_and_says_through_what():
    forward = run(world())
    assert_consistent(forward)
    assert forward.reachable
    assert [h.kind for h in forward.hops] == [
        "route", "peering", "route-back", "sg-egress", "destination", "sg-ingress",
        "nacl-egress", "nacl-ingress", "nacl-return-egress", "nacl-return-ingress"]
    assert "reachable on tcp/22 from instance i-a (10.6.1.10) through pcx-ab" in forward.reason
    backward = run(with_group(world(), "sg-a", ingress=(SgRule("tcp", 22, 22, ("10.7.0.0/16",)),)),
                   IP_B, IP_A)
    assert backward.reachable, backward.reason


# == one case per blocking component ===============================================================
Edit = Callable[[Snapshot], Snapshot]
BLOCKING: list[tuple[str, Edit, str, str, tuple[str, ...]]] = [
    ("no route", lambda s: with_routes(s, "rtb-a", LOCAL_A),
     "route", "rtb-a", ("route table rtb-a of subnet-a (VPC A) has no route to 10.7.0.0/16",)),
    ("route to igw instead of the peering", lambda s: with_routes(s, "rtb-a", LOCAL_A, Route("0.0.0.0/0", "igw-a")),
     "route", "rtb-a", ("no route to 10.7.0.0/16 through pcx-ab", "best match 0.0.0.0/0 sends 10.7.1.20 to igw-a")),
    ("route to another peering", lambda s: with_routes(s, "rtb-a", LOCAL_A, Route("10.7.0.0/16", "pcx-zz")),
     "route", "rtb-a", ("no route to 10.7.0.0/16 through pcx-ab", "sends 10.7.1.20 to pcx-zz")),
    ("blackhole", lambda s: with_routes(s, "rtb-a", LOCAL_A, Route("10.7.0.0/16", "pcx-gone", "blackhole")),
     "route", "rtb-a", ("drops traffic to 10.7.1.20", "10.7.0.0/16 is a blackhole route", "pcx-gone no longer exists")),
    ("peering not active", lambda s: with_peering(s, state="pending-acceptance"),
     "peering", PCX, ("peering pcx-ab is pending-acceptance, not active",)),
    ("peering joins other VPCs", lambda s: with_peering(s, accepter_vpc="vpc-c"),
     "peering", PCX, ("peering pcx-ab joins VPC A and vpc-c, not VPC A and VPC B",)),
    ("no route back", lambda s: with_routes(s, "rtb-b", LOCAL_B),
     "route-back", "rtb-b", ("route table rtb-b of subnet-b (VPC B) has no route back to 10.6.0.0/16",)),
    ("security group egress", lambda s: with_group(s, "sg-a", egress=(SgRule("tcp", 443, 443, ("0.0.0.0/0",)),)),
     "sg-egress", "sg-a", ("security group sg-a (app-a) of instance i-a (10.6.1.10) does not admit tcp/22 to "
                           "10.7.1.20",)),
    ("security group ingress", lambda s: with_group(s, "sg-b", ingress=(SgRule("tcp", 443, 443, ("10.6.0.0/16",)),)),
     "sg-ingress", "sg-b", ("security group sg-b (app-b) of instance i-b (10.7.1.20) does not admit tcp/22 from "
                            "10.6.1.10",)),
    ("ingress from the wrong range",
     lambda s: with_group(s, "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.8.0.0/16",)),)),
     "sg-ingress", "sg-b", ("does not admit tcp/22 from 10.6.1.10",)),
    ("group reference to a group the source is not in",
     lambda s: with_group(s, "sg-b", ingress=(SgRule("tcp", 22, 22, group_ids=("sg-other",)),)),
     "sg-ingress", "sg-b", ("does not admit tcp/22 from 10.6.1.10",
                            "10.6.1.10 is not in sg-other, the group its rule references")),
    ("group reference across an inter-region peering",
     lambda s: with_peering(with_group(s, "sg-b", ingress=(SgRule("tcp", 22, 22, group_ids=("sg-a",)),)),
                            accepter_region="eu-west-1"),
     "sg-ingress", "sg-b", ("does not apply across the inter-region peering pcx-ab",)),
    ("network ACL out", lambda s: with_acl(s, "acl-a", True, deny(100, True)),
     "nacl-egress", "acl-a", ("network ACL acl-a of subnet-a (VPC A) denies tcp/22 out to 10.7.1.20 (rule 100)",)),
    ("network ACL in, nothing matches", lambda s: with_acl(s, "acl-b", False, AclEntry(100, False, "6", True,
                                                                                        "0.0.0.0/0", 443, 443)),
     "nacl-ingress", "acl-b", ("denies tcp/22 in from 10.6.1.10 (no rule allows it, so rule * denies it)",)),
    ("ephemeral replies out of B, Linux range only",
     lambda s: with_acl(s, "acl-b", True, AclEntry(100, True, "6", True, "10.6.0.0/16", 32768, 60999),
                        deny(32767, True)),
     "nacl-return-egress", "acl-b", ("does not let replies out to 10.6.1.10 on tcp/1024-32767, 61000-65535",
                                     "anywhere in 1024-65535")),
    ("ephemeral replies into A, only port 22 allowed in",
     lambda s: with_acl(s, "acl-a", False, AclEntry(100, False, "6", True, "0.0.0.0/0", 22, 22)),
     "nacl-return-ingress", "acl-a", ("does not let replies in from 10.7.1.20 on tcp/1024-65535",)),
    ("lower-numbered deny before an allow (listed out of order)",
     lambda s: with_acl(s, "acl-b", False, AclEntry(100, False, "-1", True, "0.0.0.0/0"),
                        AclEntry(90, False, "6", False, "10.6.1.0/24", 22, 22)),
     "nacl-ingress", "acl-b", ("(rule 90)",)),
    ("destination address held by no interface", lambda s: replace(s, interfaces=s.interfaces[:1]),
     "destination", "subnet-b", ("no network interface in subnet-b (VPC B) has the address 10.7.1.20",)),
    ("destination instance stopped",
     lambda s: replace(s, interfaces=(s.interfaces[0], replace(s.interfaces[1], state="stopped"))),
     "destination", "i-b", ("instance i-b (10.7.1.20) is stopped",)),
]


@pytest.mark.parametrize(("edit", "kind", "component", "words"), [c[1:] for c in BLOCKING],
                         ids=[c[0] for c in BLOCKING])
def test_each_component_blocks_and_is_named(edit, kind, component, words):
    result = run(edit(world()))

    assert_consistent(result)
    assert not result.reachable
    assert (result.blocked_by.kind, result.blocked_by.component) == (kind, component)
    for fragment in words:
        assert fragment in result.reason


def test_a_lower_numbered_allow_before_a_deny_passes():
    snap = with_acl(world(), "acl-b", False, deny(100, False), AclEntry(90, False, "6", True, "10.6.0.0/16", 22, 22),
                    AclEntry(80, False, "6", True, "10.6.0.0/16", 1024, 65535))
    assert run(snap).reachable


def test_ephemeral_range_may_be_admitted_by_several_rules_together():
    snap = with_acl(world(), "acl-b", True, AclEntry(100, True, "6", True, "10.6.0.0/16", 1024, 40000),
                    AclEntry(110, True, "6", True, "0.0.0.0/0", 40001, 65535))
    assert run(snap).reachable


def test_group_reference_to_the_peers_group_admits_across_a_same_region_peering():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, group_ids=("sg-a",)),))
    result = run(snap)
    assert result.reachable, result.reason
    assert "its rule referencing sg-a" in next(h for h in result.hops if h.kind == "sg-ingress").sentence


def test_without_a_peering_id_any_peering_the_routes_name_is_checked():
    assert run(world(), peering_id=None).reachable
    unknown = with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", "pcx-unknown"))
    result = run(unknown, peering_id=None)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("peering", "pcx-unknown")


# == longest-prefix match ==========================================================================
def test_a_more_specific_route_to_the_igw_beats_the_peering_route():
    snap = with_routes(world(), "rtb-a", LOCAL_A, TO_B, Route("10.7.1.0/24", "igw-a"))
    result = run(snap)
    assert result.blocked_by.component == "rtb-a"
    assert "sends 10.7.1.20 to igw-a through its more specific route 10.7.1.0/24, which beats the route " \
           "10.7.0.0/16 to pcx-ab" in result.reason


def test_a_more_specific_peering_route_beats_a_broader_igw_route():
    snap = with_routes(world(), "rtb-a", LOCAL_A, Route("10.7.0.0/16", "igw-a"), Route("10.7.1.0/24", PCX))
    result = run(snap)
    assert result.reachable
    assert "(route 10.7.1.0/24)" in result.hops[0].sentence


def test_a_more_specific_blackhole_wins_over_a_working_route():
    snap = with_routes(world(), "rtb-b", LOCAL_B, TO_A, Route("10.6.1.0/24", "pcx-old", "blackhole"))
    result = run(snap)
    assert result.blocked_by.kind == "route-back" and "blackhole" in result.reason


# == IPv6 ==========================================================================================
def ipv6_world() -> Snapshot:
    snap = world()
    snap = replace(
        snap,
        subnets={"subnet-a": replace(snap.subnets["subnet-a"], ipv6_cidr="2600:1f18:a:1::/64"),
                 "subnet-b": replace(snap.subnets["subnet-b"], ipv6_cidr="2600:1f18:b:1::/64")},
        interfaces=(replace(snap.interfaces[0], ips=(IP_A, "2600:1f18:a:1::10")),
                    replace(snap.interfaces[1], ips=(IP_B, "2600:1f18:b:1::20"))),
        vpc_cidrs={"vpc-a": ("10.6.0.0/16", "2600:1f18:a::/56"), "vpc-b": ("10.7.0.0/16", "2600:1f18:b::/56")},
    )
    return with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.0.0/16", "2600:1f18:a::/56")),))


def test_ipv6_path_needs_ipv6_routes_an_ipv4_default_route_does_not_match():
    snap = with_routes(ipv6_world(), "rtb-a", LOCAL_A, TO_B, Route("0.0.0.0/0", PCX))
    result = run(snap, dst_ip="2600:1f18:b:1::20")
    assert result.blocked_by.kind == "route"
    assert "has no route to 2600:1f18:b::/56" in result.reason


def test_ipv6_path_is_reachable_with_ipv6_routes_both_ways_from_the_sources_ipv6_address():
    snap = with_routes(ipv6_world(), "rtb-a", LOCAL_A, TO_B, Route("2600:1f18:b::/56", PCX))
    snap = with_routes(snap, "rtb-b", LOCAL_B, TO_A, Route("2600:1f18:a::/56", PCX))
    result = run(snap, dst_ip="2600:1f18:b:1::20")
    assert result.reachable, result.reason
    assert "from 2600:1f18:a:1::10" in next(h for h in result.hops if h.kind == "sg-ingress").sentence
    without_v6_rule = with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.0.0/16",)),))
    assert run(without_v6_rule, dst_ip="2600:1f18:b:1::20").blocked_by.kind == "sg-ingress"


def test_an_ipv4_only_source_cannot_reach_an_ipv6_destination():
    snap = replace(ipv6_world(), interfaces=(world().interfaces[0], ipv6_world().interfaces[1]))
    result = run(snap, dst_ip="2600:1f18:b:1::20")
    assert result.blocked_by.kind == "source" and "has no IPv6 address" in result.reason


# == secondary CIDRs and table associations ========================================================
def secondary_world() -> Snapshot:
    """VPC B also has 10.9.0.0/16, with a subnet and an instance in it."""
    snap = world()
    return replace(
        snap,
        subnets={**snap.subnets, "subnet-b2": Subnet("subnet-b2", "vpc-b", "10.9.1.0/24")},
        interfaces=(*snap.interfaces, Interface("eni-b2", "subnet-b2", "vpc-b", ("10.9.1.5",), ("sg-b",), "i-b2",
                                                "running")),
        vpc_cidrs={**snap.vpc_cidrs, "vpc-b": ("10.7.0.0/16", "10.9.0.0/16")},
    )


def test_a_secondary_cidr_needs_its_own_route_and_the_sentence_names_it():
    result = run(secondary_world(), dst_ip="10.9.1.5")
    assert "has no route to 10.9.0.0/16" in result.reason
    fixed = with_routes(secondary_world(), "rtb-a", LOCAL_A, TO_B, Route("10.9.0.0/16", PCX))
    assert run(fixed, dst_ip="10.9.1.5").reachable


def test_an_explicitly_associated_table_beats_the_main_table():
    private = RouteTable("rtb-a-private", "vpc-a", False, ("subnet-a",), (LOCAL_A,))
    snap = replace(world(), route_tables=(*world().route_tables, private))
    result = run(snap)
    assert result.blocked_by.component == "rtb-a-private"
    repaired = replace(snap, route_tables=(with_routes(snap, "rtb-a", LOCAL_A).route_tables[0],
                                           world().route_tables[1], replace(private, routes=(LOCAL_A, TO_B))))
    assert run(repaired).reachable


def test_an_explicitly_associated_network_acl_beats_the_default_one():
    strict = NetworkAcl("acl-a-strict", "vpc-a", False, ("subnet-a",), (deny(32767, True), deny(32767, False)))
    snap = replace(world(), network_acls=(replace(world().network_acls[0], subnet_ids=()), world().network_acls[1],
                                          strict))
    result = run(snap)
    assert (result.blocked_by.kind, result.blocked_by.component) == ("nacl-egress", "acl-a-strict")


# == subnet-wide endpoints =========================================================================
def test_a_subnet_source_needs_rules_covering_its_whole_cidr():
    snap = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.0/25",)),))
    source = endpoint_for_subnet(snap, "subnet-a", ("sg-a",))
    result = analyze(snap, source, IP_B, 22, PCX)
    assert result.blocked_by.kind == "sg-ingress"
    assert "from all of 10.6.1.0/24 (10.6.1.128/25 is not covered)" in result.reason
    both_halves = with_group(world(), "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.1.0/25",)),
                                                       SgRule("tcp", 22, 22, ("10.6.1.128/25",))))
    assert analyze(both_halves, source, IP_B, 22, PCX).reachable


def test_a_deny_for_part_of_a_subnet_source_blocks_and_says_which_part():
    snap = with_acl(world(), "acl-b", False, deny(50, False, "10.6.1.64/26"),
                    AclEntry(100, False, "-1", True, "0.0.0.0/0"))
    result = analyze(snap, endpoint_for_subnet(snap, "subnet-a", ("sg-a",)), IP_B, 22, PCX)
    assert result.blocked_by.kind == "nacl-ingress" and "(for 10.6.1.64/26) (rule 50)" in result.reason


def test_route_back_to_a_subnet_source_may_be_split_but_every_part_must_go_to_the_peering():
    halves = (Route("10.6.1.0/25", PCX), Route("10.6.1.128/25", PCX))
    snap = with_routes(world(), "rtb-b", LOCAL_B, *halves)
    source = endpoint_for_subnet(snap, "subnet-a", ("sg-a",))
    assert analyze(snap, source, IP_B, 22, PCX).reachable
    one_half = with_routes(world(), "rtb-b", LOCAL_B, halves[0])
    result = analyze(one_half, source, IP_B, 22, PCX)
    assert result.blocked_by.kind == "route-back"
    assert "has no route back to 10.6.1.128/25, part of 10.6.1.0/24" in result.reason


def test_endpoint_helpers():
    snap = world()
    assert endpoint_for_ip(snap, IP_B) == Endpoint("instance i-b (10.7.1.20)", "subnet-b", ("sg-b",), IP_B)
    assert endpoint_for_ip(snap, "10.7.1.99") is None
    assert endpoint_for_subnet(snap, "subnet-a", ("sg-a",)).label == "subnet subnet-a (10.6.1.0/24)"
    with pytest.raises(ValueError, match="subnet-x"):
        endpoint_for_subnet(snap, "subnet-x")


def test_same_vpc_goes_through_the_local_route():
    snap = replace(world(), interfaces=(*world().interfaces,
                                        Interface("eni-a2", "subnet-a", "vpc-a", ("10.6.1.11",), ("sg-b",), None)))
    snap = with_group(snap, "sg-b", ingress=(SgRule("tcp", 22, 22, ("10.6.0.0/16",)),))
    result = run(snap, dst_ip="10.6.1.11", peering_id=None)
    assert result.reachable and "local route" in result.hops[0].sentence and "within VPC A" in result.reason


# == property: the missing routes are exactly what is needed =======================================
@st.composite
def topologies(draw):
    """Two VPCs with open groups and ACLs, K route tables spread over them, distractor routes, and the
    routes the path needs: one out of the source's table, and back routes covering the source subnet
    in the destination's table (one route, or the subnet split into 2 or 4 parts)."""
    a_octet, b_octet = draw(st.lists(st.integers(1, 250), min_size=2, max_size=2, unique=True))
    cidr_a, cidr_b = f"10.{a_octet}.0.0/16", f"10.{b_octet}.0.0/16"
    k = draw(st.integers(2, 6))
    src_table, dst_table = draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))
    vpc_of = ["vpc-a" if i % 2 == 0 else "vpc-b" for i in range(k)]
    vpc_of[src_table] = "vpc-a"
    if dst_table == src_table:
        dst_table = (src_table + 1) % k
    vpc_of[dst_table] = "vpc-b"
    forward_prefix = draw(st.sampled_from([8, 12, 16, 20, 24, 32]))
    forward = Route(str(ipaddress.ip_network(f"10.{b_octet}.3.7/{forward_prefix}", strict=False)), PCX)
    split = draw(st.sampled_from([0, 1, 2]))
    back = tuple(Route(str(n), PCX) for n in ipaddress.ip_network(f"10.{a_octet}.3.0/24").subnets(split))
    distractors = draw(st.lists(st.sampled_from([Route("0.0.0.0/0", "igw-x"), Route("172.16.0.0/12", "tgw-x"),
                                                 Route("192.168.5.0/24", "igw-x")]), max_size=3, unique=True))
    tables = []
    for i in range(k):
        local = Route(cidr_a if vpc_of[i] == "vpc-a" else cidr_b, "local")
        tables.append(RouteTable(f"rtb-{i}", vpc_of[i], False,
                                     ("subnet-src",) if i == src_table else ("subnet-dst",) if i == dst_table else (),
                                     (local, *distractors)))
    snap = Snapshot(
        subnets={"subnet-src": Subnet("subnet-src", "vpc-a", f"10.{a_octet}.3.0/24"),
                 "subnet-dst": Subnet("subnet-dst", "vpc-b", f"10.{b_octet}.3.0/24")},
        route_tables=tuple(tables),
        security_groups={g: SecurityGroup(g, v, g, ingress=(ALL,), egress=(ALL,))
                         for g, v in (("sg-src", "vpc-a"), ("sg-dst", "vpc-b"))},
        network_acls=(open_acl("acl-a", "vpc-a", ("subnet-src",)), open_acl("acl-b", "vpc-b", ("subnet-dst",))),
        interfaces=(Interface("eni-dst", "subnet-dst", "vpc-b", (f"10.{b_octet}.3.7",), ("sg-dst",), "i-dst",
                              "running"),),
        peerings={PCX: Peering.between(PCX, "active", "vpc-a", "vpc-b", "r", "r")},
        vpc_cidrs={"vpc-a": (cidr_a,), "vpc-b": (cidr_b,)},
    )
    needed = [(f"rtb-{src_table}", forward)] + [(f"rtb-{dst_table}", r) for r in back]
    return snap, needed, f"10.{b_octet}.3.7"


def add_routes(snap: Snapshot, routes: list[tuple[str, Route]]) -> Snapshot:
    return replace(snap, route_tables=tuple(
        replace(t, routes=t.routes + tuple(r for table, r in routes if table == t.route_table_id))
        for t in snap.route_tables))


@settings(max_examples=150, deadline=None)
@given(topologies())
def test_adding_the_missing_routes_makes_the_path_reachable_and_removing_any_one_breaks_it(topology):
    snap, needed, destination = topology
    source = endpoint_for_subnet(snap, "subnet-src", ("sg-src",))

    assert not analyze(snap, source, destination, 443, PCX).reachable
    complete = analyze(add_routes(snap, needed), source, destination, 443, PCX)
    assert complete.reachable, complete.reason
    for missing in range(len(needed)):
        partial = add_routes(snap, needed[:missing] + needed[missing + 1:])
        result = analyze(partial, source, destination, 443, PCX)
        assert not result.reachable
        assert result.blocked_by.kind in ("route", "route-back")
        assert result.blocked_by.component == needed[missing][0]


# == scale =========================================================================================
def test_a_thousand_tables_and_a_thousand_rules_analyse_quickly():
    snap = world()
    tables = tuple(RouteTable(f"rtb-x{i}", "vpc-a", False, (f"subnet-x{i}",),
                                  (LOCAL_A, *(Route(f"172.{i % 16 + 16}.{j}.0/24", "tgw-x") for j in range(40))))
                   for i in range(1000))
    rules = tuple(SgRule("tcp", 1000 + i, 1000 + i, (f"192.168.{i % 256}.0/24",)) for i in range(1000))
    snap = replace(snap, route_tables=snap.route_tables + tables)
    snap = with_group(snap, "sg-b", ingress=(*rules, SgRule("tcp", 22, 22, ("10.6.0.0/16",))))
    snap = with_group(snap, "sg-a", egress=(*rules, ALL))
    started = time.perf_counter()
    for _ in range(20):
        assert run(snap).reachable
    assert (time.perf_counter() - started) / 20 < 0.05  # about 1 ms here: generous for slow CI machines


def test_icmp_echo_needs_an_icmp_rule_and_ignores_ports():
    ping = analyze(world(), endpoint_for_ip(world(), IP_A), IP_B, 8, PCX, protocol="icmp")
    assert ping.blocked_by.kind == "sg-ingress" and "does not admit icmp from 10.6.1.10" in ping.reason
    snap = with_group(world(), "sg-b", ingress=(SgRule("icmp", -1, -1, ("10.6.0.0/16",)),))
    assert analyze(snap, endpoint_for_ip(snap, IP_A), IP_B, 8, PCX, protocol="icmp").reachable


def test_an_address_in_no_known_subnet_is_named_after_the_peering_passes():
    result = run(world(), dst_ip="10.7.200.1")
    assert [h.kind for h in result.hops] == ["route", "peering", "destination"]
    assert result.reason == "10.7.200.1 is in no subnet of VPC B in the snapshot."


def test_network_acls_do_not_apply_between_hosts_of_one_subnet():
    """AWS evaluates network ACL rules when traffic enters and leaves a subnet, not as it is routed within
    it (VPC User Guide, network ACL basics); found by the differential test against the kernel."""
    deny_all = NetworkAcl("acl-deny", "vpc-a", False, ("subnet-a",),
                          tuple(AclEntry(32767, egress, "-1", False, "0.0.0.0/0") for egress in (True, False)))
    neighbour = Interface("eni-a2", "subnet-a", "vpc-a", ("10.6.1.11",), ("sg-a",), "i-a2", "running")
    open_a = replace(world().security_groups["sg-a"], ingress=(ALL,))
    snapshot = replace(world(), network_acls=(*world().network_acls, deny_all),
                       interfaces=(*world().interfaces, neighbour),
                       security_groups={**world().security_groups, "sg-a": open_a})
    source = endpoint_for_ip(snapshot, IP_A)
    result = analyze(snapshot, source, "10.6.1.11", 22)
    assert result.reachable, result.reason
    assert [h.kind for h in result.hops if h.kind.startswith("nacl")] == ["nacl"]
    # across subnets the same ACL still blocks
    assert analyze(snapshot, source, IP_B, 22).blocked_by.component == "acl-deny"


def test_a_flow_needs_its_request_and_reply_path_and_no_reverse_rule_in_a_security_group():
    """Security groups are stateful: B's group admits nothing out and A's admits nothing in, yet A → B:22 is
    reachable (the reply is part of the connection). The reverse connection B → A:22 is another flow."""
    snap = with_group(with_group(world(), "sg-b", egress=()), "sg-a", ingress=())

    forward = run(snap)
    reverse = run(snap, IP_B, IP_A)

    assert forward.reachable
    assert "the request path and its reply path are open" in forward.reason
    assert not reverse.reachable and reverse.blocked_by.kind == "sg-egress"


def test_the_reply_path_is_part_of_the_flow_routes_back_and_stateless_acls():
    no_route_back = run(with_routes(world(), "rtb-b", LOCAL_B))
    replies_denied = run(with_acl(world(), "acl-a", False,
                                  AclEntry(90, False, "tcp", True, "10.7.0.0/16", 22, 22), deny(100, False)))

    assert (no_route_back.reachable, no_route_back.blocked_by.kind) == (False, "route-back")
    assert (replies_denied.reachable, replies_denied.blocked_by.kind) == (False, "nacl-return-ingress")
