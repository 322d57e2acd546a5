"""The emulator's data plane follows its EC2 state: it is rebuilt when routes, peering state, security
groups or listen tags change (and only then), and the probe's connect from its subnet sees each change."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from peering_tools import seed
from peering_tools.dataplane.emulated import NetnsNetwork
from peering_tools.dataplane.netns import referenced_inodes

REGION = "us-east-1"
QUICK = 0.5
# A check that expects an answer (connected or refused) returns as soon as it comes, so it may wait long: only a
# check that expects silence waits QUICK, and a slow answer under load must not read as a timeout.
ANSWER = 10.0


class ProbeFunction:
    """The one Lambda call the data plane makes: the probe function's VpcConfig (as sam deploy sets it)."""

    def __init__(self, subnet: str, group: str):
        self.config = {"VpcConfig": {"SubnetIds": [subnet], "SecurityGroupIds": [group]}}

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return self.config


@pytest.fixture
def network(aws: None):
    ec2 = boto3.client("ec2", region_name=REGION)
    net = seed.build(ec2)
    probe = ProbeFunction(net.subnet_a, net.sg_a)
    emulated = NetnsNetwork(lambda service: probe if service == "lambda" else boto3.client(service, region_name=REGION),
                            "probe")
    yield ec2, net, emulated
    emulated.close()


def peer(ec2, net: seed.SeedNetwork) -> str:
    pcx = seed.request_peering(ec2, net, tagged=False)
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=net.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=net.rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    return pcx


def test_the_probe_crosses_the_peering_once_routed_and_each_change_rebuilds(network):
    ec2, net, emulated = network
    assert emulated.connect(net.ip_b, 22, QUICK).error == "timeout"
    assert emulated.builds == 1
    assert emulated.probe_ip() == "10.6.1.254"

    peer(ec2, net)
    assert emulated.connect(net.ip_b, 22, ANSWER).reachable
    assert emulated.ping(net.ip_a, net.ip_b)[0], "B's group admits ICMP from VPC A"
    assert emulated.builds == 2, "routes and the peering changed: one rebuild"
    assert emulated.connect(net.ip_b, 22, ANSWER).reachable
    assert emulated.builds == 2, "nothing changed: no rebuild"
    probe_ns = emulated._built.plane.hosts["probe-eni"]  # noqa: SLF001 - the probe's client ports
    with probe_ns.inside(), open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        assert f.read().split() == ["1024", "65535"], "a Lambda function's ephemeral range"

    ec2.revoke_security_group_ingress(GroupId=net.sg_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    assert emulated.connect(net.ip_b, 22, QUICK).error == "timeout"
    assert emulated.builds == 3

    held = emulated._built.plane.inodes  # noqa: SLF001 - what close must free
    assert held and held <= referenced_inodes()
    emulated.close()
    assert not held & referenced_inodes(), "close frees every namespace"


def test_listen_tag_decides_what_answers_and_a_deleted_peering_carries_nothing(network):
    ec2, net, emulated = network
    pcx = peer(ec2, net)
    ec2.authorize_security_group_ingress(GroupId=net.sg_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    assert emulated.connect(net.ip_b, 443, ANSWER).error == "refused", "by default only tcp/22 listens"
    ec2.create_tags(Resources=[net.instance_b], Tags=[{"Key": "peering-automation/listen", "Value": "443"}])
    assert emulated.connect(net.ip_b, 443, ANSWER).reachable
    assert emulated.connect(net.ip_b, 22, ANSWER).error == "refused"

    # a deleted peering carries nothing, even with its routes left behind (they become blackholes in AWS)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert emulated.connect(net.ip_b, 22, QUICK).error == "timeout"
