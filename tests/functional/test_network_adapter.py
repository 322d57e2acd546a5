"""The network adapter under moto: read_snapshot on the seed network returns what the path analysis needs,
and the analysis over it tells the seed's story (no route before the peering, reachable after).
Plus: records outside the asked-for VPCs are dropped, AWS errors become the project's errors, and the
adapter calls exactly the EC2 actions it declares for IAM.
"""

from __future__ import annotations

import ipaddress

import boto3
import pytest
from botocore.stub import Stubber

from peering.analysis import analyze, endpoint_for_ip
from peering.aws.network import IAM_ACTIONS, ec2_actions, read_snapshot
from peering.errors import AwsCallFailed, Throttled
from peering_tools import seed


def instance_groups(ec2, instance_id: str) -> tuple[str, ...]:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return tuple(g["GroupId"] for g in instance["SecurityGroups"])


def test_read_snapshot_returns_subnets_tables_groups_acls_instances_and_names(ec2, network):
    pcx = seed.request_peering(ec2, network)

    snap = read_snapshot([(ec2, [network.vpc_a, network.vpc_b])], [pcx])

    assert {(s.subnet_id, s.vpc_id, s.cidr) for s in snap.subnets.values()} == {
        (network.subnet_a, network.vpc_a, "10.6.1.0/24"), (network.subnet_b, network.vpc_b, "10.7.1.0/24")}
    main_a = snap.route_table_of(network.subnet_a)
    assert main_a.route_table_id == network.rtb_a and main_a.main
    assert {(r.destination, r.target) for r in main_a.routes} == {("10.6.0.0/16", "local"),
                                                                   ("0.0.0.0/0", network.igw_a)}
    assert snap.route_table_of(network.subnet_b).route_table_id == network.rtb_b
    for vpc, instance in ((network.vpc_a, network.instance_a), (network.vpc_b, network.instance_b)):
        assert {"default", *(snap.security_groups[g].name for g in instance_groups(ec2, instance))} == \
            {g.name for g in snap.security_groups.values() if g.vpc_id == vpc}
    acl_b = snap.network_acl_of(network.subnet_b)
    assert acl_b.vpc_id == network.vpc_b and acl_b.default
    assert {(e.rule_number, e.egress, e.allow) for e in acl_b.entries} == {
        (100, True, True), (100, False, True), (32767, True, False), (32767, False, False)}
    by_instance = {i.instance_id: i for i in snap.interfaces}
    assert by_instance[network.instance_b].ips[0] == network.ip_b
    assert by_instance[network.instance_b].state == "running"
    assert by_instance[network.instance_b].security_group_ids == instance_groups(ec2, network.instance_b)
    assert snap.vpc_names == {network.vpc_a: "peeringVPC-A", network.vpc_b: "peeringVPC-B"}
    assert snap.vpc_cidrs == {network.vpc_a: ("10.6.0.0/16",), network.vpc_b: ("10.7.0.0/16",)}
    peering = snap.peerings[pcx]
    assert (peering.state, peering.requester.vpc_id, peering.accepter.vpc_id) == (
        "pending-acceptance", network.vpc_a, network.vpc_b)
    assert peering.same_region


def test_analysis_on_the_seed_says_no_route_before_the_peering_and_reachable_after(ec2, network):
    pcx = seed.request_peering(ec2, network)
    snap = read_snapshot([(ec2, [network.vpc_a, network.vpc_b])], [pcx])
    source = endpoint_for_ip(snap, network.ip_a)

    before = analyze(snap, source, network.ip_b, 22, pcx)

    assert not before.reachable
    assert before.blocked_by.component == network.rtb_a
    assert "no route to 10.7.0.0/16" in before.reason
    back = analyze(snap, endpoint_for_ip(snap, network.ip_b), network.ip_a, 22, pcx)
    assert f"route table {network.rtb_b} of {network.subnet_b} (peeringVPC-B) has no route to 10.6.0.0/16" \
        in back.reason

    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    group_b = instance_groups(ec2, network.instance_b)[0]
    ec2.authorize_security_group_ingress(GroupId=group_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.6.1.0/24"}]}])
    snap = read_snapshot([(ec2, [network.vpc_a, network.vpc_b])], [pcx])

    after = analyze(snap, endpoint_for_ip(snap, network.ip_a), network.ip_b, 8080, pcx)

    assert after.reachable, after.reason
    assert f"through {pcx}" in after.reason


def test_instance_state_secondary_and_ipv6_blocks_are_read(ec2, network):
    ec2.stop_instances(InstanceIds=[network.instance_b])
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, CidrBlock="10.9.0.0/16")
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, AmazonProvidedIpv6CidrBlock=True)
    v6_block = next(a["Ipv6CidrBlock"] for a in ec2.describe_vpcs(VpcIds=[network.vpc_b])["Vpcs"][0]
                    ["Ipv6CidrBlockAssociationSet"])
    v6_subnet = str(next(ipaddress.ip_network(v6_block).subnets(new_prefix=64)))
    subnet = ec2.create_subnet(VpcId=network.vpc_b, CidrBlock="10.9.1.0/24", Ipv6CidrBlock=v6_subnet)["Subnet"]
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Ipv6AddressCount=1)["NetworkInterface"]

    snap = read_snapshot([(ec2, [network.vpc_b])])

    assert snap.vpc_cidrs[network.vpc_b] == ("10.7.0.0/16", "10.9.0.0/16", v6_block)
    assert snap.subnets[subnet["SubnetId"]].ipv6_cidr == v6_subnet
    bare = next(i for i in snap.interfaces if i.interface_id == eni["NetworkInterfaceId"])
    assert bare.ips == (eni["PrivateIpAddress"], eni["Ipv6Addresses"][0]["Ipv6Address"])
    assert (bare.state, bare.instance_id) == ("available", None)
    assert next(i for i in snap.interfaces if i.instance_id == network.instance_b).state in ("stopping", "stopped")


def test_only_the_asked_for_vpcs_are_read(ec2, network):
    other = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=other, CidrBlock="10.20.1.0/24")

    snap = read_snapshot([(ec2, [network.vpc_a])])

    assert {s.vpc_id for s in snap.subnets.values()} == {network.vpc_a}
    assert {t.vpc_id for t in snap.route_tables} == {network.vpc_a}
    assert {g.vpc_id for g in snap.security_groups.values()} == {network.vpc_a}
    assert {a.vpc_id for a in snap.network_acls} == {network.vpc_a}
    assert {i.vpc_id for i in snap.interfaces} == {network.vpc_a}


def test_without_peering_ids_every_peering_of_the_vpcs_is_read(ec2, network):
    pcx = seed.request_peering(ec2, network)
    stranger = ec2.create_vpc_peering_connection(
        VpcId=ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"],
        PeerVpcId=ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"])["VpcPeeringConnection"]

    snap = read_snapshot([(ec2, [network.vpc_b])])

    assert set(snap.peerings) == {pcx}
    assert stranger["VpcPeeringConnectionId"] not in snap.peerings


def test_the_adapter_calls_exactly_the_actions_it_declares_for_iam(ec2, network):
    pcx = seed.request_peering(ec2, network)
    called: set[str] = set()
    ec2.meta.events.register("before-call.ec2.*", lambda model, **_: called.add(f"ec2:{model.name}"))

    read_snapshot([(ec2, [network.vpc_a, network.vpc_b])], [pcx])

    assert called == set(IAM_ACTIONS) == set(ec2_actions())


@pytest.mark.parametrize(("code", "error"), [("UnauthorizedOperation", AwsCallFailed),
                                             ("RequestLimitExceeded", Throttled)])
def test_aws_errors_become_the_projects_errors_naming_the_call(code, error):
    client = boto3.client("ec2", region_name="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_vpcs", code, "nope")
        with pytest.raises(error, match="DescribeVpcs"):
            read_snapshot([(client, ["vpc-a"])])
