"""The real ASL definition, run by moto's Step Functions interpreter, handlers executed in-process.

Given the seed network (docs/tutorial.md), when the peering request carries the trigger
tag, then the workflow accepts it, routes both sides and records the outcome; every refusal and
failure leaves all route tables exactly as they were.
"""

import json
import warnings

import pytest

from peering_tools import seed
from tests.conftest import all_route_tables, consent, peering_tags

STATUS = "peering-automation/status"


def output(described: dict) -> dict:
    return json.loads(described["output"])


def test_seed_scenario_is_accepted_routed_on_both_sides_verified_and_recorded(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    assert described["status"] == "SUCCEEDED"
    summary = output(described)
    assert summary["status"] == "verified"
    assert summary["executionArn"] == described["executionArn"]
    peering = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert peering["Status"]["Code"] == "active"
    assert seed.routes(ec2, network.rtb_a) == sorted(
        [("0.0.0.0/0", network.igw_a), ("10.6.0.0/16", "local"), ("10.7.0.0/16", pcx)])
    assert seed.routes(ec2, network.rtb_b) == sorted([("10.6.0.0/16", pcx), ("10.7.0.0/16", "local")])
    tags = peering_tags(ec2, pcx)
    assert tags[STATUS] == "verified"
    assert tags["peering-automation/execution"] == described["executionArn"]
    assert peering["RequesterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert peering["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True
    assert summary["routesCreated"] == 2 and summary["routesAlreadyPresent"] == 0
    assert summary["details"] == f"s3://{stack.run_bucket}/runs/{described['executionArn'].rsplit(':', 1)[1]}/"
    assert {(r["routeTableId"], r["destination"]) for r in stack.stored_routes(summary, "created")} == {
        (network.rtb_a, "10.7.0.0/16"), (network.rtb_b, "10.6.0.0/16")}


def test_history_shows_every_stage_in_order(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)
    arn = stack.run(pcx)["executionArn"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(arn) if "stateEnteredEventDetails" in e]
    expected = ["Init", "Inspect", "Decide", "Accept", "AcceptedActive", "PlanRoutes",
                "ApplyRoutes", "ConfigureDns", "PrepareProbe", "ProbeApplicable", "Verify", "Report", "Outcome",
                "Done"]
    assert entered == expected  # ApplyRoutes' items run as the Distributed Map's child executions


def test_a_second_run_on_the_active_peering_is_a_no_op(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)
    stack.run(pcx, "first")
    before = all_route_tables(ec2)

    described = stack.run(pcx, "second")

    assert output(described)["status"] == "verified"
    assert (output(described)["routesCreated"], output(described)["routesAlreadyPresent"]) == (0, 2)
    assert all_route_tables(ec2) == before


def test_untagged_peering_is_rejected_and_nothing_changes(stack, ec2, network):
    pcx = seed.request_peering(ec2, network, tagged=False)
    before = all_route_tables(ec2)

    described = stack.run(pcx)

    summary = output(described)
    assert (described["status"], summary["status"]) == ("SUCCEEDED", "rejected")
    assert "does not carry the tag peering-automation/auto-accept=true" in summary["reason"]
    assert all_route_tables(ec2) == before
    assert STATUS not in peering_tags(ec2, pcx), "a peering that did not opt in is not tagged"
    pcx_state = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert pcx_state["Status"]["Code"] == "pending-acceptance"


def test_tag_set_to_false_is_rejected_with_a_status_tag(stack, ec2, network):
    pcx = seed.request_peering(ec2, network, tagged=False)
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": seed.TRIGGER_TAG, "Value": "false"}])
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected"
    assert peering_tags(ec2, pcx)[STATUS] == "rejected"
    assert all_route_tables(ec2) == before


def test_requester_outside_allowed_accounts_is_rejected(make_stack, ec2, network):
    stack = make_stack(AllowedRequesterAccounts="222222222222")
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected"
    assert "Requester account 123456789012 is not in AllowedRequesterAccounts (222222222222)" in summary["reason"]
    assert all_route_tables(ec2) == before
    state = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert state["Status"]["Code"] == "pending-acceptance"


def test_peer_cidr_outside_allowed_ranges_is_rejected(make_stack, ec2, network):
    stack = make_stack(AllowedPeerCidrs="10.6.0.0/16")
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected" and "outside AllowedPeerCidrs" in summary["reason"]
    assert all_route_tables(ec2) == before


def test_overlapping_vpcs_are_rejected_although_moto_would_accept_the_peering(stack, ec2, network):
    other = ec2.create_vpc(CidrBlock="10.6.128.0/17")["Vpc"]["VpcId"]
    consent(ec2, other, "*")
    consent(ec2, network.vpc_a, "*")
    pcx = ec2.create_vpc_peering_connection(
        VpcId=network.vpc_a, PeerVpcId=other,
        TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                            "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected" and "overlaps" in summary["reason"]
    assert all_route_tables(ec2) == before


def test_an_amazon_provided_ipv6_block_is_outside_the_default_private_ranges(stack, ec2, network):
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, AmazonProvidedIpv6CidrBlock=True)
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected" and "outside AllowedPeerCidrs (10.0.0.0/8" in summary["reason"]
    assert all_route_tables(ec2) == before


def test_secondary_cidr_and_ipv6_blocks_are_routed_in_every_table(make_stack, ec2, network):
    stack = make_stack(AllowedPeerCidrs="10.0.0.0/8,2000::/3")  # Amazon-provided IPv6 is global unicast
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, CidrBlock="10.8.0.0/16")
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, AmazonProvidedIpv6CidrBlock=True)
    ec2.associate_vpc_cidr_block(VpcId=network.vpc_a, AmazonProvidedIpv6CidrBlock=True)
    extra_a = ec2.create_route_table(VpcId=network.vpc_a)["RouteTable"]["RouteTableId"]
    ipv6 = {vpc: ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
            for vpc in (network.vpc_a, network.vpc_b)}
    pcx = seed.request_peering(ec2, network)

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified"
    for rtb in (network.rtb_a, extra_a):
        routes = seed.routes(ec2, rtb)
        for destination in ("10.7.0.0/16", "10.8.0.0/16", ipv6[network.vpc_b]):
            assert (destination, pcx) in routes, (rtb, destination)
    assert ("10.6.0.0/16", pcx) in seed.routes(ec2, network.rtb_b)
    assert (ipv6[network.vpc_a], pcx) in seed.routes(ec2, network.rtb_b)


def test_table_tagged_skip_is_left_out(stack, ec2, network):
    skipped = ec2.create_route_table(VpcId=network.vpc_a)["RouteTable"]["RouteTableId"]
    ec2.create_tags(Resources=[skipped], Tags=[{"Key": "peering-automation/skip", "Value": "true"}])
    pcx = seed.request_peering(ec2, network)

    assert output(stack.run(pcx))["status"] == "verified"
    assert seed.routes(ec2, skipped) == [("10.6.0.0/16", "local")]


def test_conflicting_route_fails_before_any_change_and_names_it(stack, ec2, network):
    ec2.create_route(RouteTableId=network.rtb_b, DestinationCidrBlock="10.6.0.0/16", GatewayId=network.igw_b)
    pcx = seed.request_peering(ec2, network)
    before_routes = all_route_tables(ec2)

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert described["error"] == "PeeringFailed"
    assert network.rtb_b in described["cause"] and "10.6.0.0/16" in described["cause"]
    assert network.igw_b in described["cause"]
    assert all_route_tables(ec2) == before_routes
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert "already sends 10.6.0.0/16" in peering_tags(ec2, pcx)["peering-automation/reason"]


def test_route_quota_fails_before_any_change(make_stack, ec2, network):
    stack = make_stack(RouteTableQuota="2")  # A's table holds local + 0.0.0.0/0: full; B's has room
    pcx = seed.request_peering(ec2, network)
    before = all_route_tables(ec2)

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert f"Route table {network.rtb_a}" in described["cause"] and "quota of 2" in described["cause"]
    assert all_route_tables(ec2) == before


def test_dns_can_be_left_off(make_stack, ec2, network):
    stack = make_stack(EnableDnsResolution="false")
    pcx = seed.request_peering(ec2, network)

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified" and summary["dns"]["enabled"] is False
    peering = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert not peering["RequesterVpcInfo"].get("PeeringOptions", {}).get("AllowDnsResolutionFromRemoteVpc")


def test_failure_after_routing_rolls_back_exactly_this_runs_routes(stack, ec2, network, monkeypatch):
    """DNS fails after both sides were routed: the rollback removes the two new routes and nothing else."""
    from peering.aws.ec2 import Ec2
    from peering.errors import AwsCallFailed

    # a route that already points at the peering before the run must survive the rollback
    pcx = seed.request_peering(ec2, network)
    ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    before = all_route_tables(ec2)

    def broken(self, peering_id, *roles):
        raise AwsCallFailed("ModifyVpcPeeringConnectionOptions failed with UnauthorizedOperation: denied.")

    monkeypatch.setattr(Ec2, "allow_remote_dns", broken)

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert described["cause"] == "ModifyVpcPeeringConnectionOptions failed with UnauthorizedOperation: denied."
    assert all_route_tables(ec2) == before
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a)
    report = [e for e in stack.history(described["executionArn"])
              if e.get("stateExitedEventDetails", {}).get("name") == "Rollback"]
    rollback = json.loads(report[0]["stateExitedEventDetails"]["output"])["rollback"]
    assert (rollback["removed"], rollback["leftAlone"]) == (1, 0)
    assert stack.stored(rollback["details"].split("/", 3)[3])["removed"] == [
        {"routeTableId": network.rtb_b, "destination": "10.6.0.0/16"}]


@pytest.mark.parametrize("event_file", ["create-tags-peering.json", "create-peering-tagged.json"])
def test_intake_starts_one_execution_per_tagged_peering(stack, ec2, network, event_file):
    import boto3

    from tests.conftest import load_event

    pcx = seed.request_peering(ec2, network)
    event = load_event(event_file)
    detail = event["detail"]
    if detail["eventName"] == "CreateTags":
        detail["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx}]
    else:
        detail["responseElements"]["vpcPeeringConnection"]["vpcPeeringConnectionId"] = pcx
    lam = boto3.client("lambda", region_name="us-east-1")

    response = lam.invoke(FunctionName="peering-autopilot-IntakeFunction", Payload=json.dumps(event))

    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert len(result["started"]) == 1 and pcx in result["started"][0]
    assert stack.wait(result["started"][0])["status"] == "SUCCEEDED"


@pytest.mark.parametrize("event", [
    {"detail": "not an object"},
    {"source": "aws.ec2"},
    {"version": "0", "id": "x", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
     "account": "1", "time": "2026-11-28T01:00:00Z", "region": "us-east-1", "resources": [], "detail": {}},
])
def test_intake_refuses_malformed_events_without_error_or_execution(stack, event):
    import boto3

    lam = boto3.client("lambda", region_name="us-east-1")
    response = lam.invoke(FunctionName="peering-autopilot-IntakeFunction", Payload=json.dumps(event))
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert result["started"] == [] and result["reason"].startswith("The event is not a CloudTrail API call event")
    assert stack.sfn.list_executions(stateMachineArn=stack.deployed.state_machine_arn)["executions"] == []


# -- verification: the probe and the path analysis ------------------------------------------------

def test_probe_in_vpc_a_reaches_b_and_the_run_is_verified(make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    summary = output(described)
    assert (described["status"], summary["status"]) == ("SUCCEEDED", "verified")
    verification = summary["verification"]
    assert verification["probeApplicable"] is True
    assert [(r["target"]["host"], r["target"]["port"], r["reachable"]) for r in verification["probeResults"]] == [
        (network.ip_b, 22, True)]
    assert f"reached {network.ip_b}:22" in summary["reason"]
    assert peering_tags(ec2, pcx)[STATUS] == "verified"


def test_security_group_that_blocks_the_probe_fails_naming_it_and_keeps_the_routes(make_stack, ec2, network):
    """Given B's instance group does not admit the probe port, the run fails naming that group; routes stay."""
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="2")
    ec2.revoke_security_group_ingress(GroupId=network.sg_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "VerificationFailed")
    assert network.sg_b in described["cause"] and "22" in described["cause"]
    assert peering_tags(ec2, pcx)[STATUS] == "failed"
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a), "a failed verification keeps the routes"
    assert ("10.6.0.0/16", pcx) in seed.routes(ec2, network.rtb_b)
    probes = [e for e in stack.history(described["executionArn"])
              if e.get("stateEnteredEventDetails", {}).get("name") == "Probe"]
    assert len(probes) == 2, "the probe is retried while routes propagate, as many times as ProbeAttempts"


def test_probe_targets_tag_overrides_the_instances(make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
    pcx = seed.request_peering(ec2, network)
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": "peering-automation/probe-targets",
                                            "Value": f"{network.ip_b}:22, {network.ip_b}:5432"}])

    described = stack.run(pcx)

    assert described["status"] == "FAILED"  # 22 answers, 5432 is not admitted by B's group
    assert f"{network.ip_b}" in described["cause"] and "5432" in described["cause"]
    assert network.sg_b in described["cause"]


def test_probe_outside_both_vpcs_is_not_applicable_and_the_analysis_decides(make_stack, ec2, network):
    elsewhere = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=elsewhere, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    stack = make_stack(ProbeSubnetIds=subnet)
    pcx = seed.request_peering(ec2, network)

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified"
    assert summary["verification"]["probeApplicable"] is False
    assert f"The probe runs in {elsewhere}, which is neither side of {pcx}" in summary["reason"]
    assert [(p["asked"], p["reachable"]) for p in summary["verification"]["paths"]] == [(True, True), (False, True)], \
        "A -> B asked; B -> A analysed for information only"


def test_without_running_instances_nothing_is_verified_and_the_run_ends_routed(stack, ec2):
    a = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    b = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, a, b)
    consent(ec2, b, a)
    pcx = ec2.create_vpc_peering_connection(VpcId=a, PeerVpcId=b, TagSpecifications=[
        {"ResourceType": "vpc-peering-connection", "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    summary = output(stack.run(pcx))

    assert summary["status"] == "routed"
    assert summary["verification"]["performed"] is False
    assert "has no running instance" in summary["verification"]["reason"]


def test_a_verified_run_makes_no_empty_metrics_warning_but_where_two_chunks_share_one_process(stack, ec2, network):
    """Powertools warns on each invocation whose handler flushes no metric (cloudwatch_emf/cloudwatch.py:472-476 in
    3.37.0): on Lambda a line in CloudWatch Logs per call. Only the handlers of stages that publish carry Metrics.

    Before that, the seed run warned 5 times. One warning is still possible here and not on Lambda: the seed's two
    ApplyRoutes chunks run at once in this one process and share Powertools' class-level metric set
    (aws_lambda_powertools/metrics/metrics.py:82), so the first flush can take both chunks' metrics."""
    pcx = seed.request_peering(ec2, network)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # not pytest's recwarn: it files repeats from one line under "default"
        described = stack.run(pcx)
    assert (described["status"], output(described)["status"]) == ("SUCCEEDED", "verified")
    empty = [w for w in caught if "No application metrics to publish" in str(w.message)]
    assert len(empty) <= 1, [f"{w.filename}:{w.lineno}" for w in empty]
