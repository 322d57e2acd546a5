"""The seed scenario's network (docs/tutorial.md): VPC A 10.6.0.0/16 and VPC B 10.7.0.0/16,
a subnet, an internet gateway and an instance in each, an EIP on A's instance, 0.0.0.0/0 -> igw on A only.
The tutorial's instances answer A's ping, so their security groups are part of the seed: A's admits SSH
from anywhere (the operator logs in through the EIP), B's admits SSH and ICMP from VPC A's range.
Used by the demo and by the tests, against any EC2 endpoint (moto in-process or the emulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRIGGER_TAG = "peering-automation/auto-accept"
CONSENT_TAG = "peering-automation/accept-from"


@dataclass
class SeedNetwork:
    vpc_a: str
    vpc_b: str
    subnet_a: str
    subnet_b: str
    igw_a: str
    igw_b: str
    instance_a: str
    instance_b: str
    ip_a: str
    ip_b: str
    eip_a: str
    rtb_a: str
    rtb_b: str
    sg_a: str
    sg_b: str


def _name(ec2: Any, resource_id: str, name: str) -> None:
    ec2.create_tags(Resources=[resource_id], Tags=[{"Key": "Name", "Value": name}])


def _main_table(ec2: Any, vpc_id: str) -> str:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return next(t["RouteTableId"] for t in tables if any(a.get("Main") for a in t.get("Associations", [])))


def build(ec2: Any, image_id: str | None = None) -> SeedNetwork:
    """Steps 1-6 of the manual procedure, through ordinary EC2 calls."""
    ids: dict[str, str] = {}
    image = image_id or ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    admits = {"a": [("tcp", 22, 22, "0.0.0.0/0")],
              "b": [("tcp", 22, 22, "10.6.0.0/16"), ("icmp", -1, -1, "10.6.0.0/16")]}
    for side, cidr, subnet_cidr in (("a", "10.6.0.0/16", "10.6.1.0/24"), ("b", "10.7.0.0/16", "10.7.1.0/24")):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        _name(ec2, vpc, f"peeringVPC-{side.upper()}")
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        group = ec2.create_security_group(GroupName=f"instance-{side.upper()}", VpcId=vpc,
                                          Description=f"seed instance {side.upper()}")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": proto, "FromPort": low, "ToPort": high, "IpRanges": [{"CidrIp": source}]}
            for proto, low, high, source in admits[side]])
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     SubnetId=subnet, SecurityGroupIds=[group])["Instances"][0]
        _name(ec2, instance["InstanceId"], f"instance-{side.upper()}")
        ids.update({f"vpc_{side}": vpc, f"subnet_{side}": subnet, f"igw_{side}": igw,
                    f"instance_{side}": instance["InstanceId"], f"ip_{side}": instance["PrivateIpAddress"],
                    f"rtb_{side}": _main_table(ec2, vpc), f"sg_{side}": group})
    allocation = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=allocation["AllocationId"], InstanceId=ids["instance_a"])
    ec2.create_route(RouteTableId=ids["rtb_a"], DestinationCidrBlock="0.0.0.0/0", GatewayId=ids["igw_a"])
    # each VPC's owner consents to a peering with the other VPC (ConsentMode=tag, the default)
    for side, peer in (("a", "b"), ("b", "a")):
        ec2.create_tags(Resources=[ids[f"vpc_{side}"]], Tags=[{"Key": CONSENT_TAG, "Value": ids[f"vpc_{peer}"]}])
    return SeedNetwork(eip_a=allocation["PublicIp"], **ids)


def request_peering(ec2: Any, seed: SeedNetwork, tagged: bool = True) -> str:
    """Step 8's request, A -> B; with ``tagged`` the trigger tag is set at creation."""
    kwargs: dict[str, Any] = {"VpcId": seed.vpc_a, "PeerVpcId": seed.vpc_b}
    if tagged:
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc-peering-connection",
                                        "Tags": [{"Key": TRIGGER_TAG, "Value": "true"}]}]
    return ec2.create_vpc_peering_connection(**kwargs)["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def routes(ec2: Any, route_table_id: str) -> list[tuple[str, str]]:
    """(destination, target) pairs of a table, sorted: what a person compares before and after."""
    table = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"][0]
    pairs = []
    for r in table["Routes"]:
        destination = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or r.get(
            "DestinationPrefixListId", "?")
        target = (r.get("VpcPeeringConnectionId") or r.get("GatewayId") or r.get("NatGatewayId")
                  or r.get("NetworkInterfaceId") or r.get("InstanceId") or "?")
        pairs.append((destination, target))
    return sorted(pairs)
