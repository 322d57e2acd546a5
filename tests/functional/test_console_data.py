"""The console's view of the two VPCs (ConsoleData.network) against moto in-process: both sides read with
the layer's read_snapshot, routes through the peering flagged, a side in another account or region
read as its own account, one that exists nowhere said in one line instead of drawn empty."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from peering_tools import seed
from peering_tools.console.data import ConsoleData
from peering_tools.executions import ExecutionRow, VpcRef

REGION = "us-east-1"
ACCOUNT = "123456789012"
PEER = "222222222222"


def data() -> ConsoleData:
    return ConsoleData("http://127.0.0.1:1", REGION, "peering-autopilot",
                       client=lambda service, **kw: boto3.client(service, region_name=kw.get("region_name", REGION)))


def row(pcx: str, requester: VpcRef, accepter: VpcRef) -> ExecutionRow:
    return ExecutionRow(peering_id=pcx, requester=requester, accepter=accepter, status="verified", stage="verify",
                        start_date=datetime.now(UTC), duration_seconds=1.0, execution_arn="arn:x",
                        execution_status="SUCCEEDED")


def test_both_vpcs_their_tables_and_the_routes_through_the_peering(aws):
    ec2 = boto3.client("ec2", region_name=REGION)
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)
    ec2.create_route(RouteTableId=net.rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)

    view = data().network(row(pcx, VpcRef(vpc_id=net.vpc_a, account_id=ACCOUNT, region=REGION),
                              VpcRef(vpc_id=net.vpc_b, account_id=ACCOUNT, region=REGION)))

    assert view["unreadable"] == []
    assert view["peering"]["peeringId"] == pcx and view["peering"]["state"] == "pending-acceptance"
    a, b = view["vpcs"]
    assert (a["role"], a["name"], a["cidrs"]) == ("requester", "peeringVPC-A", ["10.6.0.0/16"])
    assert (b["role"], b["name"], b["cidrs"]) == ("accepter", "peeringVPC-B", ["10.7.0.0/16"])
    assert [i["ips"] for i in b["instances"]] == [[net.ip_b]]
    table_b = next(t for t in b["routeTables"] if t["routeTableId"] == net.rtb_b)
    assert [(r["destination"], r["viaPeering"]) for r in table_b["routes"] if r["viaPeering"]] == [
        ("10.6.0.0/16", True)]
    table_a = next(t for t in a["routeTables"] if t["routeTableId"] == net.rtb_a)
    assert not any(r["viaPeering"] for r in table_a["routes"])


def test_a_side_in_another_account_and_region_is_read_as_that_account(aws):
    """moto (like the emulator) holds every account: the console reads the peer's VPC as the peer account
    (``ACCOUNT_HEADER``), so a cross-account peering is drawn on both sides."""
    ec2 = boto3.client("ec2", region_name=REGION)
    peer = boto3.client("ec2", region_name="eu-west-1")
    peer.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", PEER))
    vpc_a = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    vpc_b = peer.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    assert vpc_b not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]], "the stack's account cannot see it"
    peer.create_subnet(VpcId=vpc_b, CidrBlock="10.7.1.0/24")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b, PeerOwnerId=PEER, PeerRegion="eu-west-1")[
        "VpcPeeringConnection"]["VpcPeeringConnectionId"]

    view = data().network(row(pcx, VpcRef(vpc_id=vpc_a, account_id=ACCOUNT, region=REGION),
                              VpcRef(vpc_id=vpc_b, account_id=PEER, region="eu-west-1")))

    assert view["unreadable"] == []
    assert [(v["role"], v["vpcId"], v["accountId"], v["region"], v["cidrs"]) for v in view["vpcs"]] == [
        ("requester", vpc_a, ACCOUNT, REGION, ["10.6.0.0/16"]),
        ("accepter", vpc_b, PEER, "eu-west-1", ["10.7.0.0/16"])]
    assert [s["cidr"] for s in view["vpcs"][1]["subnets"]] == ["10.7.1.0/24"]


def test_a_side_that_exists_in_no_account_is_said_not_drawn_empty(aws):
    ec2 = boto3.client("ec2", region_name=REGION)
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net, tagged=False)

    view = data().network(row(pcx, VpcRef(vpc_id=net.vpc_a, account_id=ACCOUNT, region=REGION),
                              VpcRef(vpc_id="vpc-0123456789abcdef0", account_id=PEER, region="eu-west-1")))

    assert [v["role"] for v in view["vpcs"]] == ["requester"]
    assert len(view["unreadable"]) == 1 and view["unreadable"][0].startswith("vpc-0123456789abcdef0: ")


def test_the_routes_are_listed_from_the_run_store_at_most_routes_shown_of_each_kind(aws, monkeypatch):
    from peering_tools.console import data as console_data

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="runs-bucket")
    prefix = "runs/pcx-1-abc/"
    route = lambda n: {"routeTableId": f"rtb-{n}", "destination": "10.7.0.0/16"}  # noqa: E731
    put = lambda key, body: s3.put_object(Bucket="runs-bucket", Key=f"{prefix}{key}", Body=json.dumps(body))  # noqa: E731
    put("plan.json", {"requester": {"present": [route(0)]}, "accepter": {"present": []}})
    put("applied/requester-00000.json", {"created": [route(1), route(2)], "alreadyPresent": [route(3)]})
    put("applied/accepter-00000.json", {"created": [route(4)], "alreadyPresent": []})
    put("rollback.json", {"removed": [route(1)], "leftAlone": [route(2)]})
    monkeypatch.setattr(console_data, "ROUTES_SHOWN", 2)

    listed = data().routes(f"s3://runs-bucket/{prefix}", "pcx-1")

    assert listed["created"] == [{**route(4), "target": "pcx-1"}, {**route(1), "target": "pcx-1"}]  # first 2 of 3
    assert [r["routeTableId"] for r in listed["alreadyPresent"]] == ["rtb-0", "rtb-3"]
    assert [r["routeTableId"] for r in listed["removed"]] == ["rtb-1"]


def test_a_run_without_a_store_or_with_a_missing_bucket_lists_no_routes(aws):
    assert data().routes("", "pcx-1") is None
    assert data().routes("s3://no-such-bucket/runs/pcx-1-abc/", "pcx-1") is None
