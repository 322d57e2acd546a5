"""The EC2 adapter against AWS's recorded behaviour (botocore Stubber), where moto is more lenient.

- DescribeVpcPeeringConnections may return more than asked for (moto ignores filters): the adapter
  picks the one with the requested id.
- Peering info carries CidrBlockSet / Ipv6CidrBlockSet on AWS but not in moto, and AWS omits the
  accepter's until the peering is active: CIDRs are read from DescribeVpcs on each side instead.
- A disassociated secondary block is listed by DescribeVpcs with its state and is not routed.
- RouteAlreadyExists from a concurrent run is success only when the route targets this peering.
- Throttling and NotFound become the errors the state machine retries on.
"""

import boto3
import pytest
from botocore.stub import Stubber

from peering.aws.ec2 import Ec2
from peering.errors import AwsCallFailed, PeeringNotFound, Throttled
from peering.records import Vpc

PCX = "pcx-0a1b2c3d4e5f60718"
ALREADY_EXISTS = "The route identified by 10.7.0.0/16 already exists."


@pytest.fixture
def stubbed():
    client = boto3.client("ec2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield Ec2(client), stubber
        stubber.assert_no_pending_responses()


def peering_record(pcx, requester_cidrs=True):
    info = {"VpcId": "vpc-a", "OwnerId": "111111111111", "Region": "us-east-1", "CidrBlock": "10.6.0.0/16"}
    if requester_cidrs:
        info["CidrBlockSet"] = [{"CidrBlock": "10.6.0.0/16"}, {"CidrBlock": "100.64.0.0/24"}]
        info["Ipv6CidrBlockSet"] = [{"Ipv6CidrBlock": "2600:1f18:a::/56"}]
    return {
        "VpcPeeringConnectionId": pcx,
        "Status": {"Code": "pending-acceptance", "Message": "Pending Acceptance by 111111111111"},
        "RequesterVpcInfo": info,
        "AccepterVpcInfo": {"VpcId": "vpc-b", "OwnerId": "111111111111", "Region": "us-east-1"},
        "Tags": [{"Key": "peering-automation/auto-accept", "Value": "true"}],
    }


def test_peering_picks_the_requested_one_even_when_more_come_back(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("describe_vpc_peering_connections",
                         {"VpcPeeringConnections": [peering_record("pcx-other"), peering_record(PCX)]},
                         {"VpcPeeringConnectionIds": [PCX]})
    peering = ec2.peering(PCX)
    assert peering.peering_id == PCX and peering.state == "pending-acceptance"
    assert (peering.requester.vpc_id, peering.accepter.vpc_id) == ("vpc-a", "vpc-b")
    assert peering.tags == {"peering-automation/auto-accept": "true"}


def test_peering_info_cidr_sets_are_not_trusted_cidrs_come_from_describe_vpcs(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("describe_vpc_peering_connections", {"VpcPeeringConnections": [peering_record(PCX)]})
    peering = ec2.peering(PCX)
    assert peering.requester.cidrs == [] and peering.accepter.cidrs == []


def test_vpc_cidrs_include_secondary_and_ipv6_and_skip_disassociated(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("describe_vpcs", {"Vpcs": [{
        "VpcId": "vpc-b", "CidrBlock": "10.7.0.0/16", "State": "available",
        "CidrBlockAssociationSet": [
            {"AssociationId": "a1", "CidrBlock": "10.7.0.0/16", "CidrBlockState": {"State": "associated"}},
            {"AssociationId": "a2", "CidrBlock": "10.8.0.0/16", "CidrBlockState": {"State": "associated"}},
            {"AssociationId": "a3", "CidrBlock": "10.9.0.0/16", "CidrBlockState": {"State": "disassociated"}},
        ],
        "Ipv6CidrBlockAssociationSet": [
            {"AssociationId": "b1", "Ipv6CidrBlock": "2600:1f18:b::/56",
             "Ipv6CidrBlockState": {"State": "associated"}},
            {"AssociationId": "b2", "Ipv6CidrBlock": "2600:1f18:c::/56",
             "Ipv6CidrBlockState": {"State": "disassociating"}},
        ],
    }]}, {"VpcIds": ["vpc-b"]})
    assert ec2.vpcs(["vpc-b"]) == {"vpc-b": Vpc("vpc-b", ["10.7.0.0/16", "10.8.0.0/16"], ["2600:1f18:b::/56"])}


def test_route_tables_read_every_target_kind_and_ignore_prefix_list_routes(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("describe_route_tables", {"RouteTables": [{
        "RouteTableId": "rtb-1", "VpcId": "vpc-a",
        "Routes": [
            {"DestinationCidrBlock": "10.6.0.0/16", "GatewayId": "local", "State": "active"},
            {"DestinationCidrBlock": "10.7.0.0/16", "VpcPeeringConnectionId": "pcx-old", "State": "blackhole"},
            {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-1", "State": "active"},
            {"DestinationPrefixListId": "pl-123", "GatewayId": "vpce-1", "State": "active"},
            {"DestinationCidrBlock": "172.16.0.0/12", "TransitGatewayId": "tgw-1", "State": "active"},
        ],
        "Tags": [{"Key": "peering-automation/skip", "Value": "true"}],
    }, {"RouteTableId": "rtb-other-vpc", "VpcId": "vpc-z", "Routes": []}]})
    (table,) = ec2.route_tables("vpc-a")
    assert [(r.destination, r.target, r.state) for r in table.routes] == [
        ("10.6.0.0/16", "local", "active"), ("10.7.0.0/16", "pcx-old", "blackhole"),
        ("::/0", "eigw-1", "active"), ("172.16.0.0/12", "tgw-1", "active")]
    assert table.tags == {"peering-automation/skip": "true"}


def _route_table_with(destination, **target):
    return {"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-a",
                             "Routes": [{"DestinationCidrBlock": destination, "State": "active", **target}]}]}


def test_route_already_there_to_this_peering_is_success_without_creating(stubbed):
    ec2, stubber = stubbed
    stubber.add_client_error("create_route", "RouteAlreadyExists", ALREADY_EXISTS)
    stubber.add_response("describe_route_tables", _route_table_with("10.7.0.0/16", VpcPeeringConnectionId=PCX))
    assert ec2.create_route("rtb-1", "10.7.0.0/16", PCX) is False


def test_route_already_there_to_another_target_is_a_failure_naming_it(stubbed):
    ec2, stubber = stubbed
    stubber.add_client_error("create_route", "RouteAlreadyExists", ALREADY_EXISTS)
    stubber.add_response("describe_route_tables", _route_table_with("10.7.0.0/16", GatewayId="igw-1"))
    with pytest.raises(AwsCallFailed, match="CreateRoute 10.7.0.0/16 in rtb-1 failed with RouteAlreadyExists"):
        ec2.create_route("rtb-1", "10.7.0.0/16", PCX)


def test_ipv6_routes_use_the_ipv6_destination_parameter(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("create_route", {"Return": True}, {
        "RouteTableId": "rtb-1", "VpcPeeringConnectionId": PCX, "DestinationIpv6CidrBlock": "2600:1f18:b::/56"})
    assert ec2.create_route("rtb-1", "2600:1f18:b::/56", PCX) is True


@pytest.mark.parametrize("code, error", [("RequestLimitExceeded", Throttled), ("Throttling", Throttled),
                                         ("InvalidVpcPeeringConnectionID.NotFound", PeeringNotFound),
                                         ("UnauthorizedOperation", AwsCallFailed)])
def test_errors_become_the_projects_errors_with_a_sentence(stubbed, code, error):
    ec2, stubber = stubbed
    stubber.add_client_error("accept_vpc_peering_connection", code, "nope")
    with pytest.raises(error) as caught:
        ec2.accept(PCX)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_deleting_a_route_that_is_already_gone_is_not_an_error(stubbed):
    ec2, stubber = stubbed
    stubber.add_client_error("delete_route", "InvalidRoute.NotFound", "no route")
    ec2.delete_route("rtb-1", "10.7.0.0/16")


def test_status_tags_are_truncated_to_the_ec2_value_limit(stubbed):
    ec2, stubber = stubbed
    stubber.add_response("create_tags", {}, {"Resources": [PCX], "Tags": [{"Key": "k", "Value": "x" * 256}]})
    ec2.tag(PCX, {"k": "x" * 300})
