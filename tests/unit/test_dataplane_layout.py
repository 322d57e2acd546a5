"""The data plane's layout (pure): how EC2 records become namespaces, routes and nftables rules."""

from __future__ import annotations

import dataclasses

import pytest

from peering.analysis import AclEntry, Interface, Route, RouteTable, SgRule
from peering_tools.dataplane.emulated import probe_address
from peering_tools.dataplane.layout import build_layout, parse_listen
from tests.dataplane.snapshots import IP_A, IP_B, tutorial, with_interface


def test_each_vpc_is_a_router_each_running_interface_a_host():
    layout = build_layout(tutorial())
    assert set(layout.routers) == {"vpc-a", "vpc-b"}
    assert set(layout.hosts) == {"eni-a", "eni-b"}
    assert layout.host_at(IP_B).key == "eni-b"
    assert layout.hosts["eni-a"].ports == (22,), "the default: something listens on tcp/22"


def test_active_peering_is_a_link_routed_in_the_subnets_table_and_delivered_only_to_the_vpcs_hosts():
    layout = build_layout(tutorial())
    (link,) = layout.peer_links
    script = layout.routers["vpc-a"].script
    far = layout.routers["vpc-b"].address
    assert f"route replace 10.7.0.0/16 via {far} dev {link.dev_a} onlink table 1000" in script
    assert "rule add from 10.6.1.0/24 lookup 1000" in script
    assert f"rule add iif {link.dev_a} lookup 100 " in script, "what the peering brings goes to this VPC's hosts only"
    # the route to the internet gateway leads nowhere here: dropped
    assert "route replace blackhole 0.0.0.0/0 table 1000" in script


@pytest.mark.parametrize("state", ["pending-acceptance", "deleted", "rejected", "expired", "failed"])
def test_peering_not_active_has_no_link_and_its_routes_drop(state):
    layout = build_layout(tutorial(peering_state=state))
    assert layout.peer_links == ()
    assert "route replace blackhole 10.7.0.0/16 table 1000" in layout.routers["vpc-a"].script


def test_blackhole_route_drops():
    snapshot = tutorial()
    tables = (RouteTable("rtb-a", "vpc-a", True, (), (Route("10.6.0.0/16", "local"),
                                                           Route("10.7.0.0/16", "pcx-1", "blackhole"))),
              snapshot.route_tables[1])
    layout = build_layout(dataclasses.replace(snapshot, route_tables=tables))
    assert "route replace blackhole 10.7.0.0/16 table 1000" in layout.routers["vpc-a"].script


def test_subnets_with_their_own_route_table_get_their_own_linux_table():
    snapshot = tutorial()
    extra = RouteTable("rtb-a2", "vpc-a", False, ("subnet-a",), (Route("10.6.0.0/16", "local"),))
    layout = build_layout(dataclasses.replace(snapshot, route_tables=(*snapshot.route_tables, extra)))
    script = layout.routers["vpc-a"].script
    assert "rule add from 10.6.1.0/24 lookup 1001" in script  # rtb-a2 sorts after rtb-a
    assert not [line for line in script.splitlines() if "10.7.0.0/16" in line and "table 1001" in line]


def test_security_groups_are_stateful_allow_lists_with_group_members_resolved():
    by_group = (SgRule("tcp", 22, 22, group_ids=("sg-a",)), SgRule("icmp", 8, -1, ("10.6.0.0/16",)))
    ruleset = build_layout(tutorial(ingress_b=by_group)).hosts["eni-b"].ruleset
    assert "policy drop;" in ruleset and "ct state established,related accept" in ruleset
    assert f"ip saddr {IP_A}/32 meta l4proto tcp th dport 22 accept" in ruleset
    assert "ip saddr 10.6.0.0/16 meta l4proto icmp icmp type 8 accept" in ruleset


def test_group_reference_across_regions_admits_nobody():
    by_group = (SgRule("tcp", 22, 22, group_ids=("sg-a",)),)
    ruleset = build_layout(tutorial(ingress_b=by_group, accepter_region="us-west-2")).hosts["eni-b"].ruleset
    assert IP_A not in ruleset


def test_network_acl_entries_in_rule_number_order_then_the_star_deny():
    acl = (AclEntry(200, False, "-1", True, "0.0.0.0/0"), AclEntry(50, False, "tcp", False, "10.6.1.0/24", 22, 22),
           AclEntry(100, True, "tcp", True, "0.0.0.0/0", 1024, 65535))
    ruleset = build_layout(tutorial(acl_b=acl)).routers["vpc-b"].ruleset
    chain_in = ruleset.split("chain s1_in {")[1].split("}")[0].split("\n")
    assert [line.strip() for line in chain_in if line.strip()] == [
        "ip saddr 10.6.1.0/24 meta l4proto tcp th dport 22 drop", "ip saddr 0.0.0.0/0 return", "drop"]
    chain_out = ruleset.split("chain s1_out {")[1].split("}")[0]
    assert "ip daddr 0.0.0.0/0 meta l4proto tcp th dport 1024-65535 return" in chain_out
    assert 'iifname "s1h*" oifname "s1h*" accept' in ruleset, "no ACL between hosts of one subnet"


def test_stopped_instance_is_not_built():
    stopped = Interface("eni-c", "subnet-b", "vpc-b", ("10.7.1.9",), ("sg-b",), "i-c", "stopped")
    layout = build_layout(with_interface(tutorial(), stopped))
    assert "eni-c" not in layout.hosts
    assert "10.7.1.9" not in layout.routers["vpc-b"].script


def test_ipv6_addresses_are_left_out_and_said():
    dual = Interface("eni-c", "subnet-b", "vpc-b", ("10.7.1.9", "2600:1f18::9"), ("sg-b",), "i-c", "running")
    layout = build_layout(with_interface(tutorial(), dual))
    assert layout.hosts["eni-c"].ips == ("10.7.1.9",)
    assert any("IPv6" in note for note in layout.notes)


def test_listen_tag_ports():
    assert parse_listen(None) == (22,)
    assert parse_listen("22, 443,22") == (22, 443)
    assert parse_listen("") == ()
    with pytest.raises(ValueError, match="'http' is not a TCP port"):
        parse_listen("22,http")
    with pytest.raises(ValueError, match="'70000'"):
        parse_listen("70000")


def test_probe_address_is_the_highest_free_one_below_the_reserved_last():
    snapshot = tutorial()
    assert probe_address(snapshot, "subnet-a") == "10.6.1.254"
    taken = Interface("eni-x", "subnet-a", "vpc-a", ("10.6.1.254",), (), None, "in-use")
    assert probe_address(with_interface(snapshot, taken), "subnet-a") == "10.6.1.253"
    assert probe_address(snapshot, "subnet-nope") is None
