"""Cleanup on delete: the routes that point at a deleted peering go, on both sides, in each side's own
account and region; nothing else changes.

The peerings are set up by full workflow runs (the real ASL under moto). moto keeps routes to a deleted
peering active where AWS would show blackholes, which makes "nothing else changed" easy to check.
"""

from __future__ import annotations

import json

import boto3
import pytest

from peering_tools import seed
from tests.conftest import all_route_tables, consent, invoke, load_event
from tests.workflow.test_cross_account_region import EXTERNAL_ID, PEER_ACCOUNT, ROLE, build_a, build_b, peer, session_in

CLEANUP = "peering-autopilot-CleanupFunction"
SWEEPER = "peering-autopilot-SweeperFunction"


def delete_event(pcx: str) -> dict:
    event = load_event("delete-peering.json")
    event["detail"]["requestParameters"]["vpcPeeringConnectionId"] = pcx
    return event


def routes_to(ec2, table: str, pcx: str) -> list[str]:
    return [d for d, t in seed.routes(ec2, table) if t == pcx]


@pytest.fixture
def two_peerings(stack, ec2, network):
    """A↔B (the seed peering) and A↔C, both routed by the workflow; A also has its internet route."""
    pcx = seed.request_peering(ec2, network)
    assert json.loads(stack.run(pcx, "ab")["output"])["status"] == "verified"
    vpc_c = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, vpc_c, network.vpc_a)
    consent(ec2, network.vpc_a, network.vpc_b, vpc_c)
    rtb_c = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_c]}])["RouteTables"][0][
        "RouteTableId"]
    other = ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=vpc_c,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                            "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    assert json.loads(stack.run(other, "ac")["output"])["status"] in ("routed", "verified")
    return pcx, other, rtb_c


def test_deleting_a_routed_peering_removes_its_routes_on_both_sides_and_nothing_else(
        stack, ec2, network, two_peerings):
    pcx, other, rtb_c = two_peerings
    assert routes_to(ec2, network.rtb_a, pcx) == ["10.7.0.0/16"] and routes_to(ec2, network.rtb_b, pcx) == [
        "10.6.0.0/16"]
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    result = invoke(CLEANUP, delete_event(pcx))

    assert {(r["routeTableId"], r["destination"]) for r in result["removed"]} == {
        (network.rtb_a, "10.7.0.0/16"), (network.rtb_b, "10.6.0.0/16")}
    assert result["peeringState"] == "deleted" and result["problems"] == []
    assert result["reason"].startswith(f"Removed 2 route(s) to {pcx} (deleted) from ")
    assert seed.routes(ec2, network.rtb_a) == sorted(
        [("0.0.0.0/0", network.igw_a), ("10.6.0.0/16", "local"), ("10.9.0.0/16", other)])
    assert seed.routes(ec2, network.rtb_b) == [("10.7.0.0/16", "local")]
    assert routes_to(ec2, rtb_c, other) == ["10.6.0.0/16"]


def test_cleanup_is_idempotent_and_leaves_live_peerings_alone(stack, ec2, network, two_peerings):
    pcx, other, _ = two_peerings
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    invoke(CLEANUP, delete_event(pcx))
    before = all_route_tables(ec2)

    again = invoke(CLEANUP, delete_event(pcx))
    alive = invoke(CLEANUP, delete_event(other))  # a delete event for a peering that is still active

    assert again["removed"] == [] and again["reason"] == f"No route to {pcx} (deleted) had to be removed."
    assert alive["removed"] == []
    assert alive["reason"] == f"{other} is active, not deleted, so its routes were left alone."
    assert all_route_tables(ec2) == before


def test_tables_opted_out_keep_their_routes_and_the_summary_says_so(stack, ec2, network, two_peerings):
    pcx, _, _ = two_peerings
    ec2.create_tags(Resources=[network.rtb_b], Tags=[{"Key": "peering-automation/skip", "Value": "true"}])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    result = invoke(CLEANUP, delete_event(pcx))

    assert [r["routeTableId"] for r in result["removed"]] == [network.rtb_a]
    assert [r["routeTableId"] for r in result["leftAlone"]] == [network.rtb_b]
    assert routes_to(ec2, network.rtb_b, pcx) == ["10.6.0.0/16"]
    assert ("1 were left alone (tables tagged peering-automation/skip=true, or not a blackhole made by "
            "CreateRoute)") in result["reason"]


def test_events_that_are_not_a_successful_delete_change_nothing(stack, ec2, network, two_peerings):
    pcx, _, _ = two_peerings
    before = all_route_tables(ec2)
    failed = delete_event(pcx)
    failed["detail"]["errorCode"] = "Client.UnauthorizedOperation"

    assert invoke(CLEANUP, failed)["reason"] == (
        "The DeleteVpcPeeringConnection call failed (Client.UnauthorizedOperation), so nothing was deleted.")
    assert invoke(CLEANUP, {"detail": "nonsense"})["reason"] == "The event is not a CloudTrail API call event."
    assert all_route_tables(ec2) == before


def test_the_summary_is_published_to_the_topic(stack, ec2, network, two_peerings):
    pcx, _, _ = two_peerings
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="summaries")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name="us-east-1").subscribe(TopicArn=stack.deployed.topic_arn, Protocol="sqs",
                                                           Endpoint=queue_arn)

    result = invoke(CLEANUP, delete_event(pcx))

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notes = [json.loads(m["Body"]) for m in messages]
    (note,) = [n for n in notes if n["Subject"] == f"Peering {pcx}: deleted, 2 route(s) removed"]
    assert json.loads(note["Message"]) == result


def test_a_delete_whose_event_was_lost_is_cleaned_up_by_the_sweeper(stack, ec2, network, two_peerings):
    pcx, other, rtb_c = two_peerings
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)  # no cleanup invocation: the event was lost

    result = invoke(SWEEPER, {"id": "sweep-1", "time": "2026-11-28T01:15:00Z"})

    (cleaned,) = result["cleaned"]
    assert cleaned["peeringId"] == pcx and len(cleaned["removed"]) == 2
    assert routes_to(ec2, network.rtb_a, pcx) == [] and routes_to(ec2, network.rtb_b, pcx) == []
    assert routes_to(ec2, network.rtb_a, other) == ["10.9.0.0/16"] and routes_to(ec2, rtb_c, other) == ["10.6.0.0/16"]
    assert invoke(SWEEPER, {"id": "sweep-2"})["cleaned"] == []


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_in_two_accounts_each_side_is_cleaned_in_its_own_account_and_region(make_stack, aws, region):
    ec2_a = boto3.client("ec2", region_name="us-east-1")
    ec2_b = session_in(PEER_ACCOUNT).client("ec2", region_name=region)
    a, b = build_a(ec2_a), build_b(ec2_b)
    stack = make_stack(AccepterRoleName=ROLE, AccepterRoleExternalId=EXTERNAL_ID, AllowedAccepterAccounts=PEER_ACCOUNT)
    pcx = peer(ec2_a, a, b, PEER_ACCOUNT, region if region != "us-east-1" else None)
    assert json.loads(stack.run(pcx)["output"])["status"] == "verified"
    assert routes_to(ec2_b, b["rtb"], pcx) == ["10.6.0.0/16"]
    ec2_a.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    result = invoke(CLEANUP, delete_event(pcx))

    assert {(r["accountId"], r["region"], r["routeTableId"], r["destination"]) for r in result["removed"]} == {
        ("123456789012", "us-east-1", a["rtb"], "10.7.0.0/16"), (PEER_ACCOUNT, region, b["rtb"], "10.6.0.0/16")}
    assert routes_to(ec2_a, a["rtb"], pcx) == [] and routes_to(ec2_b, b["rtb"], pcx) == []


def test_a_peering_routed_by_hand_and_deleted_keeps_its_routes_the_stack_did_not_make(stack, ec2, network):
    """A route to a peering the stack never handled (no status tag from its workflow) is not the stack's to
    delete, even as a blackhole made by CreateRoute."""
    pcx = seed.request_peering(ec2, network, tagged=False)
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    before = all_route_tables(ec2)

    result = invoke(CLEANUP, delete_event(pcx))
    swept = invoke(SWEEPER, {"id": "sweep-hand"})

    assert result["removed"] == [] and "was never handled by this stack" in result["reason"]
    assert [c["removed"] for c in swept["cleaned"]] == [[]]
    assert all_route_tables(ec2) == before


def test_a_live_peering_briefly_not_described_keeps_its_routes(stack, ec2, network, monkeypatch):
    """Eventual consistency: a DescribeVpcPeeringConnections that misses a live peering is not a deletion."""
    from peering.aws.ec2 import Ec2

    pcx = seed.request_peering(ec2, network)
    assert json.loads(stack.run(pcx)["output"])["status"] == "verified"
    before = all_route_tables(ec2)
    monkeypatch.setattr(Ec2, "peering", lambda self, peering_id: None)

    result = invoke(CLEANUP, delete_event(pcx))

    assert result["removed"] == [] and result["peeringState"] == "not described"
    assert result["reason"] == (f"{pcx} is not described by EC2, so it is not known to be gone and its routes were "
                                "left alone.")
    assert all_route_tables(ec2) == before


def test_a_side_that_cannot_be_cleaned_fails_the_invocation_after_notifying(stack, ec2, network, two_peerings,
                                                                            monkeypatch):
    """Lambda retries a failed asynchronous invocation and then sends it to the OnFailure destination."""
    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed

    pcx, _, _ = two_peerings
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    original = Ec2.route_tables

    def flaky(self, vpc_id):
        if vpc_id == network.vpc_b:
            raise AwsCallFailed("DescribeRouteTables failed with RequestLimitExceeded: slow down.")
        return original(self, vpc_id)

    monkeypatch.setattr(Ec2, "route_tables", flaky)
    response = boto3.client("lambda", region_name="us-east-1").invoke(FunctionName=CLEANUP,
                                                                      Payload=json.dumps(delete_event(pcx)))
    error = json.loads(response["Payload"].read())

    assert response.get("FunctionError") and error["errorType"] == "CleanupIncomplete"
    assert "1 side(s) could not be cleaned: DescribeRouteTables failed with RequestLimitExceeded" in error[
        "errorMessage"]
    assert routes_to(ec2, network.rtb_a, pcx) == []  # the side that could be cleaned was
    assert routes_to(ec2, network.rtb_b, pcx) == ["10.6.0.0/16"]


def test_a_route_repointed_while_the_cleanup_runs_is_left_alone(stack, ec2, network, monkeypatch):
    """The cleanup lists the tables, then deletes: someone who repoints the route to the deleted peering in
    between (here to B's internet gateway) made it theirs, and the cleanup re-reads the route before deleting
    it. The repointing happens right after the cleanup's first DescribeRouteTables of B's VPC."""
    import botocore.client

    from peering_tools import inprocess

    pcx = seed.request_peering(ec2, network)
    assert json.loads(stack.run(pcx)["output"])["status"] == "verified"
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    original = botocore.client.BaseClient._make_api_call
    repointed = []

    def make_api_call(self, operation, params):
        response = original(self, operation, params)
        listing_b = operation == "DescribeRouteTables" and network.vpc_b in json.dumps(params.get("Filters", []))
        if listing_b and inprocess.current_function() == CLEANUP and not repointed:
            repointed.append(original(self, "ReplaceRoute", {"RouteTableId": network.rtb_b, "GatewayId": network.igw_b,
                                                             "DestinationCidrBlock": "10.6.0.0/16"}))
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    result = invoke(CLEANUP, delete_event(pcx))

    assert repointed, "the cleanup listed B's route tables"
    assert [(r["routeTableId"], r["destination"]) for r in result["removed"]] == [(network.rtb_a, "10.7.0.0/16")]
    assert ("10.6.0.0/16", network.igw_b) in seed.routes(ec2, network.rtb_b), "someone else's route was deleted"
