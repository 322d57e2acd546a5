"""The data plane built from a snapshot carries exactly what VPC networking would: a real ping and the
probe's own TCP connect cross an active peering, and each component (route, peering state, security
group, network ACL on the request or the reply path) stops them; nothing is left behind."""

from __future__ import annotations

import subprocess

import pytest

from peering.analysis import AclEntry, Interface, SgRule
from peering_tools.dataplane.layout import build_layout
from peering_tools.dataplane.netns import referenced_inodes
from peering_tools.dataplane.plane import DataPlane

from .snapshots import ALLOW_ALL, IP_A, IP_B, tutorial, with_interface

QUICK = 0.5
# A check that expects an answer (connected or refused) returns as soon as it comes, so it may wait long: only a
# check that expects silence waits QUICK, and a slow answer under load must not read as a timeout.
ANSWER = 10.0


def host_state() -> tuple[str, str, str]:
    """What the host's own namespace has: links, routes, nftables rules (none of it may change)."""
    run = lambda *args: subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: E731
    return run("ip", "-o", "link"), run("ip", "route", "show", "table", "all"), run("nft", "list", "ruleset")


@pytest.fixture
def host_untouched():
    before = host_state()
    yield
    assert host_state() == before, "the host's own namespace must not change"


def test_tutorial_peered_ping_answers_and_the_probe_connects(host_untouched):
    with DataPlane(build_layout(tutorial())) as plane:
        answered, summary = plane.ping("eni-a", IP_B)
        assert answered, summary
        assert plane.connect("eni-a", IP_B, 22, ANSWER).reachable
        # B's group admits tcp/22 from A, not tcp/80: dropped (a timeout, as a VPC drops)
        assert plane.connect("eni-a", IP_B, 80, QUICK).error == "timeout"
        # A's group admits tcp/22 from anywhere and replies need no rule (stateful): B reaches A too
        assert plane.connect("eni-b", IP_A, 22, ANSWER).reachable
        # B's group admits ICMP from A only: A's group admits no ICMP, so B's ping is not answered
        assert not plane.ping("eni-b", IP_A)[0]


@pytest.mark.parametrize("state", ["pending-acceptance", "deleted", "rejected"])
def test_a_peering_that_is_not_active_carries_nothing(state):
    with DataPlane(build_layout(tutorial(peering_state=state))) as plane:
        assert not plane.layout.peer_links
        assert not plane.ping("eni-a", IP_B, wait=QUICK)[0]
        assert plane.connect("eni-a", IP_B, 22, QUICK).error == "timeout"


def test_without_routes_the_default_route_to_the_internet_gateway_does_not_reach_b():
    with DataPlane(build_layout(tutorial(routes=False))) as plane:
        assert not plane.ping("eni-a", IP_B, wait=QUICK)[0]
        assert plane.connect("eni-a", IP_B, 22, QUICK).error == "timeout"


def test_a_port_nothing_listens_on_is_refused_when_the_groups_admit_it():
    open_b = (SgRule("tcp", 0, 65535, ("10.6.0.0/16",)),)
    with DataPlane(build_layout(tutorial(ingress_b=open_b), {"eni-b": (22,)})) as plane:
        assert plane.connect("eni-a", IP_B, 22, ANSWER).reachable
        assert plane.connect("eni-a", IP_B, 8080, ANSWER).error == "refused"


def test_network_acl_deny_rule_before_the_allow_blocks_the_request():
    acl = (AclEntry(50, False, "tcp", False, "10.6.1.0/24", 22, 22), *ALLOW_ALL)
    with DataPlane(build_layout(tutorial(acl_b=acl))) as plane:
        assert plane.connect("eni-a", IP_B, 22, QUICK).error == "timeout"
        assert plane.ping("eni-a", IP_B)[0], "the deny is for tcp/22 only"


def test_network_acl_is_stateless_the_reply_needs_the_client_port_out():
    # B's ACL lets tcp/22 in, and out only to ports 0-1023: the SYN-ACK to A's ephemeral port is dropped
    acl = (AclEntry(100, False, "-1", True, "0.0.0.0/0"), AclEntry(100, True, "tcp", True, "0.0.0.0/0", 0, 1023))
    with DataPlane(build_layout(tutorial(acl_b=acl))) as plane:
        assert plane.connect("eni-a", IP_B, 22, QUICK).error == "timeout"
    # ... and with the ephemeral range out as well, it answers
    acl = (*acl, AclEntry(110, True, "tcp", True, "0.0.0.0/0", 1024, 65535))
    with DataPlane(build_layout(tutorial(acl_b=acl))) as plane:
        assert plane.connect("eni-a", IP_B, 22, ANSWER).reachable


def test_group_reference_admits_members_in_one_region_not_across_regions():
    by_group = (SgRule("tcp", 22, 22, group_ids=("sg-a",)),)
    with DataPlane(build_layout(tutorial(ingress_b=by_group))) as plane:
        assert plane.connect("eni-a", IP_B, 22, ANSWER).reachable
    with DataPlane(build_layout(tutorial(ingress_b=by_group, accepter_region="us-west-2"))) as plane:
        assert plane.connect("eni-a", IP_B, 22, QUICK).error == "timeout"


def test_the_probe_interface_is_a_host_with_its_own_groups():
    probe = Interface("probe-eni", "subnet-a", "vpc-a", ("10.6.1.253",), ("sg-a",), None, "in-use")
    with DataPlane(build_layout(with_interface(tutorial(), probe), {"probe-eni": ()})) as plane:
        assert plane.connect("probe-eni", IP_B, 22, ANSWER).reachable


def test_a_stopped_instance_answers_nothing():
    stopped = Interface("eni-c", "subnet-b", "vpc-b", ("10.7.1.9",), ("sg-b",), "i-c", "stopped")
    with DataPlane(build_layout(with_interface(tutorial(), stopped))) as plane:
        assert "eni-c" not in plane.hosts
        assert plane.connect("eni-a", "10.7.1.9", 22, QUICK).error == "timeout"


def test_close_frees_every_namespace(host_untouched):
    plane = DataPlane(build_layout(tutorial())).up()
    made = plane.inodes
    assert len(made) == 4 and made <= referenced_inodes()
    plane.close()
    assert not made & referenced_inodes(), "no process may hold a namespace of a closed data plane"
