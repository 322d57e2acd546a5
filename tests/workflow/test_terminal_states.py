"""Every terminal path: the execution's outcome and the peering's status tag agree, and the tag is the last thing
the run changes - it never says ``verified`` (or ``routed``) for an execution that failed.

Report notifies and counts first, tags last; nothing after the tag can fail the execution (the lease's release
cannot, the remaining states are a Choice and a Pass or Fail over a state the size guard keeps small).
"""

import json

import pytest

from peering import runstore
from peering.aws.ec2 import Ec2
from peering.aws.notify import Topic
from peering.errors import AwsCallFailed
from peering.workflow import report
from peering_tools import seed
from tests.conftest import REGION, all_route_tables, consent, peering_tags

STATUS = "peering-automation/status"
SUCCEEDED = {"verified", "routed", "rejected"}


def _overlapping_request(ec2, network) -> str:
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=vpc, TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [
            {"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def _routed_request(ec2) -> str:
    """Two consenting VPCs without instances: routed, nothing to verify."""
    a = ec2.create_vpc(CidrBlock="10.16.0.0/16")["Vpc"]["VpcId"]
    b = ec2.create_vpc(CidrBlock="10.17.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, a, b)
    consent(ec2, b, a)
    return ec2.create_vpc_peering_connection(VpcId=a, PeerVpcId=b, TagSpecifications=[
        {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def _raise(error: Exception):
    def fail(*args, **kwargs):
        raise error
    return fail


@pytest.mark.parametrize(("path", "status", "error", "tag"), [
    ("verified", "SUCCEEDED", None, "verified"),
    ("routed", "SUCCEEDED", None, "routed"),
    ("rejected", "SUCCEEDED", None, "rejected"),
    ("verification failed", "FAILED", "VerificationFailed", "failed"),
    ("failed and rolled back", "FAILED", "PeeringFailed", "failed"),
    ("refused by the size guard", "FAILED", "PeeringFailed", "failed"),
    ("report failed", "FAILED", "ReportFailed", "accepted"),
])
def test_each_terminal_path_ends_with_a_status_tag_that_matches_the_executions_outcome(
        path, status, error, tag, make_stack, ec2, network, monkeypatch):
    if path == "verification failed":
        stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
        ec2.revoke_security_group_ingress(GroupId=network.sg_b, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    else:
        stack = make_stack()
    if path == "failed and rolled back":
        monkeypatch.setattr(Ec2, "allow_remote_dns", _raise(AwsCallFailed("Denied.")))
    if path == "refused by the size guard":
        monkeypatch.setattr(runstore, "STATE_LIMIT", 8 * 1024)  # as if the run could pass the payload limit
    if path == "report failed":
        monkeypatch.setattr(Topic, "publish", _raise(AwsCallFailed("Publishing failed: AuthorizationError.")))
    pcx = (_overlapping_request(ec2, network) if path == "rejected" else _routed_request(ec2) if path == "routed"
           else seed.request_peering(ec2, network))
    before = all_route_tables(ec2)

    described = stack.run(pcx)

    assert (described["status"], described.get("error")) == (status, error)
    assert peering_tags(ec2, pcx)[STATUS] == tag
    if status == "SUCCEEDED":
        assert json.loads(described["output"])["status"] == tag
    assert (tag in SUCCEEDED) == (status == "SUCCEEDED"), "a succeeded run's tag, and only a succeeded run's"
    if path == "refused by the size guard":
        assert described["cause"].startswith("The run's state document could reach ")
        assert described["cause"].endswith("nothing was changed; lower MaxProbeTargets or the probe-targets tag.")
        assert all_route_tables(ec2) == before, "refused before any route was changed"
        assert stack.stored(runstore.plan_key(runstore.prefix_for(described["executionArn"], pcx))) is None
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
        assert found["Status"]["Code"] == "pending-acceptance", "refused at Inspect: not even accepted"
    if path == "report failed":
        assert described["cause"] == "Publishing failed: AuthorizationError."


def test_the_status_tag_is_set_after_the_notification(stack, ec2, network, monkeypatch):
    """The order inside Report: the SNS summary first, the tag after it (so a failed notification leaves no
    final-looking tag behind)."""
    order: list[str] = []
    original_publish, original_tag = Topic.publish, report.tag_status

    def publish(*args, **kwargs):
        order.append("publish")
        return original_publish(*args, **kwargs)

    def tag_status(deps, peering_id, status, *args, **kwargs):
        order.append(f"tag {status.value}")
        return original_tag(deps, peering_id, status, *args, **kwargs)

    monkeypatch.setattr(Topic, "publish", publish)
    monkeypatch.setattr(report, "tag_status", tag_status)
    pcx = seed.request_peering(ec2, network)

    assert stack.run(pcx)["status"] == "SUCCEEDED"

    assert order[-2:] == ["publish", "tag verified"]
    assert boto3_topic_messages(stack)[-1]["status"] == "verified"


def boto3_topic_messages(stack) -> list[dict]:
    from moto.sns.models import sns_backends

    topic = sns_backends[stack.deployed.spec.account_id][REGION].topics[stack.deployed.topic_arn]
    return [json.loads(message) for _, message, *_ in topic.sent_notifications]
