"""The verify stages (``peering.workflow.verify``) on a Deps against moto in-process: which probe sends which
flows (the stack's probe, a probe tagged for a side's VPC, or none, always said), where the network facts travel
(the state document, or the run store once there is a stored plan), one probe attempt on loopback, and the verdict
from the analysis of the live VPCs (the fast counterpart of tests/workflow's verify paths)."""

from __future__ import annotations

import socket
from dataclasses import replace

import boto3
import pytest

from peering import runstore
from peering.deps import Deps
from peering.models import ApplyRequest, ErrorInfo, NetworkFacts, ProbeRequest, ProbeRound, ProbeTarget
from peering.records import Placement
from peering.workflow import routes
from peering.workflow import verify as stage
from tests.conftest import REGION
from tests.unit.test_workflow_routes import active_run, chunks_of, objects

PROBE = "arn:aws:lambda:us-east-1:123456789012:function:probe"


def hosts(vpc_a: str, vpc_b: str, running_b: bool = True, instance_a: bool = False) -> dict[str, str]:
    """A subnet in each VPC, an instance in B admitting tcp/22 from A (running unless told), the probe's group, and
    with ``instance_a`` a running instance in A (the source of A's flows when A has no probe)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet_a = ec2.create_subnet(VpcId=vpc_a, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(VpcId=vpc_b, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group_b = ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc_b)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group_b, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
    group_a = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc_a)["GroupId"]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet_b,
                                 SecurityGroupIds=[group_b])["Instances"][0]
    if not running_b:
        ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    found = {"subnet_a": subnet_a, "subnet_b": subnet_b, "group_a": group_a, "ip_b": instance["PrivateIpAddress"]}
    if instance_a:
        found["ip_a"] = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet_a,
                                          SecurityGroupIds=[group_a])["Instances"][0]["PrivateIpAddress"]
    return found


def with_settings(flow: Deps, **changes) -> Deps:
    """The Deps with other settings and the same clients."""
    return Deps(flow.settings.__class__(**{**flow.settings.__dict__, **changes}), flow.clients, flow.region)


def routed(**settings):
    """An active peering, routed both ways by this run's stages, with hosts on both sides."""
    pcx, vpc_a, vpc_b, flow, state, _ = active_run(**settings)
    net = hosts(vpc_a, vpc_b, instance_a=True)
    stored = routes.plan_routes(flow, state)
    for chunk in chunks_of(stored):
        routes.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    return pcx, vpc_a, vpc_b, net, flow, state.model_copy(update={"plan": stored})


def test_without_a_probe_the_round_says_so_and_carries_the_flows_and_the_network(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run(probe_attempts=3, probe_timeout_seconds=1.5)
    net = hosts(vpc_a, vpc_b)

    round_ = stage.prepare_probe(flow, state)

    assert (round_.applicable, round_.reason) == (False, "No probe is configured (ProbeSubnetIds is empty).")
    assert (round_.max_attempts, round_.timeout_seconds, round_.runs) == (3, 1.5, [])
    assert [(f.source_side, f.target.host, f.target.port, f.asked) for f in round_.flows] == [
        ("requester", net["ip_b"], 22, True)]
    assert sorted(s.subnet_id for s in round_.network.subnets) == sorted([net["subnet_a"], net["subnet_b"]])
    assert [i.private_ip for i in round_.network.instances] == [net["ip_b"]]


def test_the_stacks_probe_in_the_requester_vpc_sends_the_asked_flows_from_its_subnet(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b)
    probing = with_settings(flow, probe_subnet_ids=(net["subnet_a"],), probe_security_group_ids=(net["group_a"],),
                            probe_function_arn=PROBE)

    round_ = stage.prepare_probe(probing, state)

    assert round_.applicable and round_.targets == [ProbeTarget(host=net["ip_b"], port=22)]
    assert round_.reason == f"1 target(s) from the running instances of {vpc_b}."
    assert (round_.source_subnet_id, round_.source_side, round_.source_security_group_ids, round_.function_name) == (
        net["subnet_a"], "requester", [net["group_a"]], PROBE)
    [only] = round_.runs
    assert (only.targets, only.source_subnet_id, only.function_name) == (round_.targets, net["subnet_a"], PROBE)


def test_a_probe_outside_both_vpcs_does_not_apply_and_says_where_it_runs(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    hosts(vpc_a, vpc_b)
    ec2 = boto3.client("ec2", region_name=REGION)
    elsewhere = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=elsewhere, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]

    round_ = stage.prepare_probe(with_settings(flow, probe_subnet_ids=(subnet,)), state)

    assert (round_.applicable, round_.reason) == (False, (
        f"The probe runs in {elsewhere}, which is neither side of {pcx}, so the live probe does not apply."))


def test_a_probe_with_nothing_to_probe_on_the_far_side_says_so(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b, running_b=False)
    round_ = stage.prepare_probe(with_settings(flow, probe_subnet_ids=(net["subnet_a"],)), state)
    assert (round_.applicable, round_.reason) == (False, (
        f"The probe runs in {vpc_a}, but there is nothing to probe in {vpc_b} (the running instances of {vpc_b})."))


def test_a_probe_in_the_accepter_vpc_does_not_send_the_requesters_flows(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b)
    round_ = stage.prepare_probe(with_settings(flow, probe_subnet_ids=(net["subnet_b"],)), state)
    assert (round_.applicable, round_.reason) == (False, (
        f"The probe runs in {vpc_b}, but the flows asked start in the other VPC (the running instances of "
        f"{vpc_b})."))


def test_a_side_without_the_stacks_probe_uses_the_probe_tagged_for_its_vpc_if_it_is_attached_there(
        bucket, monkeypatch):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b)
    asked: list[list[str]] = []
    tagged = {vpc_a: Placement(PROBE, vpc_a, ("subnet-elsewhere", net["subnet_a"]), (net["group_a"],))}

    def tagged_probes(self, vpc_ids):
        asked.append(list(vpc_ids))
        return {vpc: tagged[vpc] for vpc in vpc_ids if vpc in tagged}

    monkeypatch.setattr(Deps, "tagged_probes", tagged_probes)
    round_ = stage.prepare_probe(flow, state)
    assert asked == [[vpc_a]], "only the sides with asked flows and no probe of the stack's"
    assert round_.applicable and (round_.source_subnet_id, round_.function_name, round_.source_side) == (
        net["subnet_a"], PROBE, "requester")
    assert round_.reason == f"1 target(s) from the running instances of {vpc_b}."

    tagged[vpc_a] = Placement(PROBE, vpc_a, ("subnet-elsewhere",), ())  # attached outside the VPC: not trusted
    assert not stage.prepare_probe(flow, state).applicable


def test_a_tagged_probe_in_another_account_or_region_is_not_asked_for(bucket, monkeypatch):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    hosts(vpc_a, vpc_b)
    peering = state.inspection.peering
    moved = replace(peering, requester=replace(peering.requester, region="eu-west-1"))
    monkeypatch.setattr(Deps, "tagged_probes", lambda self, vpc_ids: pytest.fail(f"asked for {vpc_ids}"))
    assert stage._tagged_probes(flow, moved, ["requester"]) == {}
    assert stage._tagged_probes(flow, replace(peering, requester=replace(peering.requester, account_id="9" * 12)),
                                ["requester"]) == {}


def test_with_a_stored_plan_the_network_is_kept_in_the_run_store_and_verify_reads_it_back(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()

    round_ = stage.prepare_probe(flow, state)

    assert round_.network is None
    kept = NetworkFacts.model_validate(objects()[runstore.network_key(state.plan.prefix)])
    assert sorted(i.private_ip for i in kept.instances) == sorted([net["ip_a"], net["ip_b"]])
    assert stage._kept_network(flow, state.model_copy(update={"probe": round_})) == kept
    assert stage._kept_network(flow, state) is None, "no probe round: nothing was kept"


def test_verify_without_a_probe_decides_by_the_analysis_of_the_live_vpcs(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    state = state.model_copy(update={"probe": stage.prepare_probe(flow, state)})

    verification = stage.verify(flow, state)

    assert verification.performed and verification.reachable is True
    assert f"{net['ip_b']}" in verification.reason and pcx in verification.reason
    assert [(p.destination, p.reachable) for p in verification.paths][0] == (f"{net['ip_b']}:22", True)


def test_verify_sees_a_route_removed_after_the_plan(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    state = state.model_copy(update={"probe": stage.prepare_probe(flow, state)})
    ec2 = boto3.client("ec2", region_name=REGION)
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_b]}])["RouteTables"][0]
    ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="10.6.0.0/16")

    verification = stage.verify(flow, state)

    assert verification.performed and verification.reachable is False
    assert "has no route back to" in verification.reason


def test_verify_without_a_probe_round_plans_the_flows_itself(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    verification = stage.verify(flow, state)
    assert verification.reachable is True
    assert [(p.destination, p.asked, p.reachable) for p in verification.paths] == [
        (f"{net['ip_b']}:22", True, True), (f"{net['ip_a']}:22", False, False)], "B's reverse flow, not asked"
    [note] = verification.information
    assert note.startswith("Not asked, for information: ") and "does not admit tcp/22" in note


def test_a_failed_probe_function_is_the_verdicts_sentence(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    probing = with_settings(flow, probe_subnet_ids=(net["subnet_a"],), probe_function_arn=PROBE)
    round_ = stage.prepare_probe(probing, state)
    failed = state.model_copy(update={"probe": round_, "probe_error": ErrorInfo(
        Error="Lambda.Unknown", Cause='{"errorMessage": "The probe crashed."}')})
    verification = stage.verify(probing, failed)
    assert (verification.reachable, verification.reason) == (False, "The probe function failed (The probe crashed.).")


def test_one_probe_attempt_connects_on_loopback_and_counts_the_attempt():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        target = ProbeTarget(host="127.0.0.1", port=port)
        request = ProbeRequest(peering_id="pcx-1", probe=ProbeRound(applicable=True, reason="r", targets=[target],
                                                                       attempt=1, timeout_seconds=2))
        done = stage.run_probe(request)
    assert (done.probe.attempt, done.probe.all_reachable) == (2, True)
    assert [(r.target, r.reachable) for r in done.probe.results] == [(target, True)]
    assert done.peering_id == "pcx-1" and done.probe.reason == "r"


def test_a_probe_attempt_without_targets_or_that_does_not_apply_reaches_nothing():
    empty = stage.run_probe(ProbeRequest(peering_id="pcx-1", probe=ProbeRound(applicable=True, reason="r")))
    assert (empty.probe.attempt, empty.probe.results, empty.probe.all_reachable) == (1, [], False)
    idle = ProbeRequest(peering_id="pcx-1", probe=ProbeRound(applicable=False, reason="none"))
    assert stage.run_probe(idle) == idle



def test_verify_reads_only_what_can_change_since_prepare_probe_read_the_rest(bucket):
    """Inspect read the VPCs, PrepareProbe the subnets and instances (kept in the run store), and the run got past
    the activation wait: Verify reads routes, groups, ACLs and interfaces, nothing else. Neither stage needs the
    RunBucket setting: the stored plan names its bucket."""
    from tests.unit.stage_support import Calls, deps, record

    pcx, vpc_a, vpc_b, net, flow, state = routed()
    plain = deps()
    state = state.model_copy(update={"probe": stage.prepare_probe(plain, state)})
    calls = record(plain, Calls())

    verification = stage.verify(plain, state)

    assert verification.reachable is True
    assert sorted({name for _, name, _ in calls.made}) == [
        "DescribeNetworkAcls", "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeSecurityGroups"]


def inspected_as(run_state, /, **changes):
    """``run_state`` as if Inspect had seen its peering with ``changes`` (a state or tags the run did not make)."""
    peering = replace(run_state.inspection.peering, **changes)
    return run_state.model_copy(update={"inspection": run_state.inspection.model_copy(update={"peering": peering})})


def test_a_peering_inspect_saw_pending_is_analysed_as_the_active_peering_it_has_become(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    state = inspected_as(state, state="pending-acceptance")
    net = hosts(vpc_a, vpc_b, instance_a=True)
    stored = routes.plan_routes(flow, state)
    for chunk in chunks_of(stored):
        routes.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    verification = stage.verify(flow, state.model_copy(update={"plan": stored}))
    assert verification.reachable is True and net["ip_b"] in verification.reason


def second_instance(subnet: str) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0][
        "PrivateIpAddress"]


def test_verify_checks_the_flows_prepare_probe_planned_not_flows_of_hosts_started_since(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    round_ = stage.prepare_probe(flow, state)
    assert [(f.source_side, f.asked) for f in round_.flows] == [("requester", True), ("accepter", False)]
    later = second_instance(net["subnet_b"])  # started after PrepareProbe: not this run's flow

    verification = stage.verify(flow, state.model_copy(update={"probe": round_}))

    assert [p.destination for p in verification.paths] == [f"{f.target.host}:22" for f in round_.flows]
    assert all(later not in p.destination for p in verification.paths)
    planned_here = stage.verify(flow, state)  # no probe round: Verify plans the flows itself, from the live VPCs
    assert sorted(p.destination for p in planned_here.paths if p.asked) == sorted(
        [f"{net['ip_b']}:22", f"{later}:22"])


def test_verify_checks_exactly_the_flows_of_the_probe_round(bucket):
    """The round's flows are what the probe sent: Verify analyses those (here the asked one alone), and plans
    flows itself only for a round without any."""
    pcx, vpc_a, vpc_b, net, flow, state = routed()
    round_ = stage.prepare_probe(flow, state)
    asked_only = round_.model_copy(update={"flows": [f for f in round_.flows if f.asked]})

    verification = stage.verify(flow, state.model_copy(update={"probe": asked_only}))

    assert [(p.destination, p.asked) for p in verification.paths] == [(f"{net['ip_b']}:22", True)]
    replanned = stage.verify(flow, state.model_copy(update={"probe": round_.model_copy(update={"flows": None})}))
    assert len(replanned.paths) == 2


def test_at_most_max_probe_targets_flows_are_planned_by_either_stage(bucket):
    pcx, vpc_a, vpc_b, net, flow, state = routed(max_probe_targets=1)
    second_instance(net["subnet_b"])
    round_ = stage.prepare_probe(flow, state)
    assert [(f.source_side, f.asked) for f in round_.flows] == [("requester", True), ("accepter", False)]
    planned_here = stage.verify(flow, state)
    assert len([p for p in planned_here.paths if p.asked]) == 1


def test_a_probe_round_carries_the_configured_attempts_and_timeout(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run(probe_attempts=7, probe_timeout_seconds=0.25)
    net = hosts(vpc_a, vpc_b)
    round_ = stage.prepare_probe(with_settings(flow, probe_subnet_ids=(net["subnet_a"],)), state)
    assert round_.applicable and (round_.max_attempts, round_.timeout_seconds) == (7, 0.25)
    assert [(r.max_attempts, r.timeout_seconds) for r in round_.runs] == [(7, 0.25)]


def tagged_for(monkeypatch, placements: dict):
    monkeypatch.setattr(Deps, "tagged_probes",
                        lambda self, vpc_ids: {v: placements[v] for v in vpc_ids if v in placements})


def test_a_probe_tagged_for_the_accepter_sends_the_accepters_flows_when_those_are_asked(bucket, monkeypatch):
    from peering.config import VERIFY_DIRECTION_TAG

    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b, instance_a=True)
    state = inspected_as(state, tags={**state.inspection.peering.tags, VERIFY_DIRECTION_TAG: "accepter-to-requester"})
    tagged_for(monkeypatch, {vpc_b: Placement(PROBE, vpc_b, (net["subnet_b"],), ())})

    round_ = stage.prepare_probe(flow, state)

    assert round_.applicable and round_.source_side == "accepter"
    assert round_.targets == [ProbeTarget(host=net["ip_a"], port=22)]


def test_probes_on_both_sides_each_send_their_own_flows_and_the_reason_names_both(bucket, monkeypatch):
    from peering.config import VERIFY_DIRECTION_TAG

    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    net = hosts(vpc_a, vpc_b, instance_a=True)
    state = inspected_as(state, tags={**state.inspection.peering.tags, VERIFY_DIRECTION_TAG: "both"})
    tagged_for(monkeypatch, {vpc_b: Placement(PROBE + "-b", vpc_b, (net["subnet_b"],), ())})

    round_ = stage.prepare_probe(with_settings(flow, probe_subnet_ids=(net["subnet_a"],),
                                               probe_function_arn=PROBE), state)

    assert round_.applicable and [(r.source_side, r.function_name, r.targets) for r in round_.runs] == [
        ("requester", PROBE, [ProbeTarget(host=net["ip_b"], port=22)]),
        ("accepter", PROBE + "-b", [ProbeTarget(host=net["ip_a"], port=22)])]
    assert round_.reason == (f"1 target(s) from the running instances of {vpc_b} (probe in {vpc_a}). "
                             f"1 target(s) from the running instances of {vpc_a} (probe in {vpc_b}).")
    assert round_.targets == [ProbeTarget(host=net["ip_b"], port=22), ProbeTarget(host=net["ip_a"], port=22)]


def test_the_probes_own_results_decide_the_verdict(bucket):
    from peering.models import ProbeResult

    pcx, vpc_a, vpc_b, net, flow, state = routed()
    probing = with_settings(flow, probe_subnet_ids=(net["subnet_a"],), probe_function_arn=PROBE)
    round_ = stage.prepare_probe(probing, state)
    [only] = round_.runs
    answered = only.model_copy(update={"attempt": 1, "all_reachable": True, "results": [
        ProbeResult(target=only.targets[0], reachable=True, latency_ms=1.5)]})
    done = state.model_copy(update={"probe": round_, "probe_runs": [ProbeRequest(peering_id=pcx, probe=answered)]})

    verification = stage.verify(probing, done)

    assert verification.reachable is True and verification.probe_applicable
    assert f"reached {net['ip_b']}:22 (1.5 ms) through {pcx}" in verification.reason


def test_a_target_that_never_answers_is_given_up_after_the_rounds_timeout():
    """A full accept queue drops the SYN (Linux: listen(0) holds one pending connection), so the connect waits:
    the round's timeout, not the operating system's, ends it."""
    import time

    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect(("127.0.0.1", port))
        target = ProbeTarget(host="127.0.0.1", port=port)
        started = time.monotonic()
        done = stage.run_probe(ProbeRequest(peering_id="pcx-1", probe=ProbeRound(
            applicable=True, reason="r", targets=[target], timeout_seconds=0.3)))
        took = time.monotonic() - started
    assert [(r.reachable, r.error) for r in done.probe.results] == [(False, "timeout")]
    assert took < 5 and not done.probe.all_reachable
