"""Which flows a run verifies, through the real ASL under moto (handlers in-process).

The tutorial's security groups: B's group opens tcp/22 (and ICMP) from A's range; A's group opens SSH only
to the operator's own address (203.0.113.10/32, a documentation address) — nothing from B. A → B is the
flow the tutorial checks (the ping from A answers), so the run must end verified; the reverse connection
B → A:22 is blocked, and nobody asked for it: information, never a failure.
"""

from __future__ import annotations

import json

from peering_tools import executions, seed
from tests.conftest import consent, peering_tags

STATUS, REASON = "peering-automation/status", "peering-automation/reason"
DIRECTION, TARGETS = "peering-automation/verify-direction", "peering-automation/probe-targets"


def tutorial_groups(ec2, network: seed.SeedNetwork) -> None:
    ec2.revoke_security_group_ingress(GroupId=network.sg_a, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=network.sg_a, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.10/32"}]}])


def tag(ec2, pcx: str, **tags: str) -> None:
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def output(described: dict) -> dict:
    return json.loads(described["output"])


def show_lines(stack, described: dict) -> list[str]:
    """What `peering executions show` prints in its outcome section for this execution."""
    history = stack.history(described["executionArn"])
    return executions.render.outcome_lines(executions.detail_from(described, history))


def test_the_tutorials_groups_end_verified_and_the_blocked_reverse_leg_is_information(stack, ec2, network):
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    summary = output(described)
    assert (described["status"], summary["status"]) == ("SUCCEEDED", "verified")
    assert peering_tags(ec2, pcx)[STATUS] == "verified"
    (line,) = summary["information"]
    assert line == summary["verification"]["information"][0]
    assert line.startswith(f"Not asked, for information: instance {network.instance_b} ({network.ip_b}) → "
                           f"{network.ip_a}:22 is blocked: security group {network.sg_a} (instance-A)")
    assert [(p["asked"], p["reachable"]) for p in summary["verification"]["paths"]] == [(True, True), (False, False)]
    assert f"  information: {line}" in show_lines(stack, described)


def test_the_tutorials_groups_with_the_probe_in_a_end_verified(make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified"
    assert [(r["target"]["host"], r["reachable"]) for r in summary["verification"]["probeResults"]] == [
        (network.ip_b, True)]
    assert len(summary["information"]) == 1


def test_probe_targets_naming_a_blocked_port_fail_naming_the_group_and_keep_the_routes(stack, ec2, network):
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{TARGETS: f"{network.ip_b}:5432"})

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "VerificationFailed")
    assert f"security group {network.sg_b} (instance-B)" in described["cause"]
    assert "does not admit tcp/5432" in described["cause"]
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a), "a failed verification keeps the routes"
    assert ("10.6.0.0/16", pcx) in seed.routes(ec2, network.rtb_b)
    assert peering_tags(ec2, pcx)[REASON] == described["cause"]


def test_the_tutorials_ping_is_an_icmp_flow_the_analysis_answers_next_to_the_probes_tcp(make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
    tutorial_groups(ec2, network)  # B's group admits ICMP from A's range: the tutorial's ping answers
    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{TARGETS: f"{network.ip_b}:22, icmp:{network.ip_b}"})

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified", summary["reason"]
    assert [r["target"]["port"] for r in summary["verification"]["probeResults"]] == [22], "the probe sends tcp only"
    assert f"reached {network.ip_b}:22" in summary["reason"]
    assert f"→ {network.ip_b} (icmp echo)" in summary["reason"]


def test_both_directions_asked_with_the_reverse_blocked_fail(stack, ec2, network):
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{DIRECTION: "both"})

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "VerificationFailed")
    assert f"security group {network.sg_a} (instance-A)" in described["cause"]
    assert f"does not admit tcp/22 from {network.ip_b}" in described["cause"]
    assert output_of_report(stack, described)["information"] == []
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a)


def test_accepter_to_requester_only_checks_b_to_a(stack, ec2, network):
    pcx = seed.request_peering(ec2, network)  # the seed's A group admits 22 from anywhere
    tag(ec2, pcx, **{DIRECTION: "accepter-to-requester"})

    summary = output(stack.run(pcx))

    assert summary["status"] == "verified"
    asked = [p for p in summary["verification"]["paths"] if p["asked"]]
    assert [(p["source"], p["destination"]) for p in asked] == [
        (f"instance {network.instance_b} ({network.ip_b})", f"{network.ip_a}:22")]


def test_an_invalid_verify_direction_is_refused_and_nothing_changes(stack, ec2, network):
    from tests.conftest import all_route_tables

    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{DIRECTION: "sideways"})
    before = all_route_tables(ec2)

    summary = output(stack.run(pcx))

    assert summary["status"] == "rejected"
    assert summary["reason"] == (f"The tag {DIRECTION}='sideways' is not one of requester-to-accepter, "
                                 "accepter-to-requester, both, so the peering was left alone.")
    assert all_route_tables(ec2) == before
    state = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert state["Status"]["Code"] == "pending-acceptance"


# -- status tags stay true ------------------------------------------------------------------------

def test_a_verified_run_after_a_failed_one_removes_the_old_reason(stack, ec2, network):
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{DIRECTION: "both"})
    assert stack.run(pcx, "first")["status"] == "FAILED"
    assert "does not admit tcp/22" in peering_tags(ec2, pcx)[REASON]

    ec2.authorize_security_group_ingress(GroupId=network.sg_a, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.7.0.0/16"}]}])
    described = stack.run(pcx, "second")

    assert output(described)["status"] == "verified"
    tags = peering_tags(ec2, pcx)
    assert tags[STATUS] == "verified" and REASON not in tags
    assert tags["peering-automation/execution"] == described["executionArn"]


def test_a_routed_run_removes_an_old_reason_and_keeps_the_other_tags(stack, ec2):
    a = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    b = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, a, b)
    consent(ec2, b, a)
    pcx = ec2.create_vpc_peering_connection(VpcId=a, PeerVpcId=b, TagSpecifications=[
        {"ResourceType": "vpc-peering-connection", "Tags": [
            {"Key": seed.TRIGGER_TAG, "Value": "true"}, {"Key": REASON, "Value": "An earlier run failed."},
            {"Key": "team", "Value": "network"}]}])["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    summary = output(stack.run(pcx))

    assert summary["status"] == "routed"
    tags = peering_tags(ec2, pcx)
    assert REASON not in tags and tags[STATUS] == "routed"
    assert tags["team"] == "network" and tags[seed.TRIGGER_TAG] == "true"


def output_of_report(stack, described: dict) -> dict:
    """The Report state's result (a failed execution has no output of its own)."""
    for event in stack.history(described["executionArn"]):
        details = event.get("stateExitedEventDetails", {})
        if details.get("name") == "Report":
            return json.loads(details["output"])["report"]
    raise AssertionError("no Report state in the history")


# -- probes where the VPCs are --------------------------------------------------------------------

def tagged_probe(ec2, stack, vpc_id: str, subnet_id: str, group_id: str) -> str:
    """A probe for another VPC as probe.yaml deploys it (attached to the subnet, tagged probe-vpc)."""
    import boto3

    from peering_tools import probes

    lam = boto3.client("lambda", region_name="us-east-1")
    role = lam.get_function_configuration(FunctionName=stack.deployed.spec.functions["ProbeFunction"].name)["Role"]
    return probes.deploy_probe(lam, role, vpc_id, subnet_id, [group_id], "123456789012")


def probe_sources(stack, described: dict) -> list[str]:
    """The function each Probe task invoked, in order."""
    found = []
    for event in stack.history(described["executionArn"]):
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resource") == "invoke":
            found.append(json.loads(details["parameters"])["FunctionName"])
    return found


def test_both_directions_are_probed_each_from_its_own_side(make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
    probe_b = tagged_probe(ec2, stack, network.vpc_b, network.subnet_b, network.sg_b)
    pcx = seed.request_peering(ec2, network)  # the seed's A group admits 22 from anywhere: both ways open
    tag(ec2, pcx, **{DIRECTION: "both"})

    described = stack.run(pcx)

    summary = output(described)
    assert summary["status"] == "verified", summary["reason"]
    results = {(r["target"]["host"], r["reachable"]) for r in summary["verification"]["probeResults"]}
    assert results == {(network.ip_b, True), (network.ip_a, True)}
    assert f"The probe in subnet {network.subnet_a}" in summary["reason"]
    assert f"The probe in subnet {network.subnet_b}" in summary["reason"]
    own = stack.deployed.function_arns["ProbeFunction"]
    assert sorted(probe_sources(stack, described)) == sorted([own, probe_b])


def test_the_reverse_probe_from_b_times_out_on_the_tutorials_groups_and_the_analysis_names_the_group(
        make_stack, ec2, network):
    stack = make_stack(ProbeSubnetIds=network.subnet_a, ProbeSecurityGroupIds=network.sg_a, ProbeAttempts="1")
    tagged_probe(ec2, stack, network.vpc_b, network.subnet_b, network.sg_b)
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)
    tag(ec2, pcx, **{DIRECTION: "both"})

    described = stack.run(pcx)

    assert (described["status"], described["error"]) == ("FAILED", "VerificationFailed")
    assert f"security group {network.sg_a} (instance-A)" in described["cause"]
    assert f"from {network.subnet_b}" in described["cause"] or "10.7.1.0/24" in described["cause"]
    results = output_of_report(stack, described)["verification"]["probeResults"]
    assert {(r["target"]["host"], r["reachable"], r["error"]) for r in results} == {
        (network.ip_b, True, None), (network.ip_a, False, "timeout")}


def test_a_tagged_probe_is_used_when_the_stack_has_none(stack, ec2, network):
    probe_a = tagged_probe(ec2, stack, network.vpc_a, network.subnet_a, network.sg_a)
    tutorial_groups(ec2, network)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    summary = output(described)
    assert summary["status"] == "verified"
    assert summary["verification"]["probeApplicable"] is True
    assert probe_sources(stack, described) == [probe_a]
    assert len(summary["information"]) == 1


def test_a_subnet_tagged_probe_true_gets_a_probe_before_the_run_looks_for_one(stack, ec2, network):
    """The emulator's hook (peering_tools.probes.watch), run here in-process: no redeploy."""
    import boto3

    from peering_tools import probes

    spec = stack.deployed.spec
    remove = probes.watch(lambda service: boto3.client(service, region_name="us-east-1"),
                          spec.functions["PrepareProbeFunction"].name, spec.functions["ProbeFunction"].name,
                          "123456789012")
    ec2.create_tags(Resources=[network.subnet_a], Tags=[{"Key": "peering-automation/probe", "Value": "true"}])
    pcx = seed.request_peering(ec2, network)

    try:
        described = stack.run(pcx)
    finally:
        remove()

    summary = output(described)
    assert summary["status"] == "verified" and summary["verification"]["probeApplicable"] is True
    (invoked,) = probe_sources(stack, described)
    assert invoked.endswith(f":function:{probes.probe_name(network.vpc_a)}")
    lam = boto3.client("lambda", region_name="us-east-1")
    config = lam.get_function_configuration(FunctionName=invoked)
    assert config["VpcConfig"]["SubnetIds"] == [network.subnet_a]
    assert lam.list_tags(Resource=invoked)["Tags"] == {"peering-automation/probe-vpc": network.vpc_a}
