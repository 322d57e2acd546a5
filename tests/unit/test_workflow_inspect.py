"""The inspect stage (``peering.workflow.inspect``) on a Deps against moto in-process: the decision and its
sentence for each state and refusal, what it reads (nothing of a VPC before the peering-record rules pass), what it
tags (only a peering it will work on), and a duplicate run that reads and changes nothing."""

from __future__ import annotations

import boto3
import pytest

from peering.config import EXECUTION_TAG, PROBE_TARGETS_TAG, STATUS_TAG
from peering.errors import LimitExceeded, PeeringNotFound, PeeringNotReady
from peering.models import WorkflowState
from peering.workflow.inspect import inspect
from tests.conftest import ACCOUNT, REGION
from tests.unit.stage_support import TRIGGER, Calls, deps, record, request, set_state, state_machine, tags_of

EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:peering-autopilot:run-1"
TAGGED = {TRIGGER: "true"}


def document(peering_id: str, execution_arn: str | None = EXECUTION) -> WorkflowState:
    return WorkflowState(peering_id=peering_id, execution_arn=execution_arn)


def test_a_consented_pending_request_is_to_be_accepted_with_both_vpcs_read_and_is_tagged_in_progress(moto):
    pcx, vpc_a, vpc_b = request(tags=TAGGED, consent="*")
    flow = deps()
    calls = record(flow, Calls())

    inspection = inspect(flow, document(pcx))

    assert (inspection.decision, inspection.reason, inspection.opted_in) == (
        "accept", f"{pcx} is pending-acceptance.", True)
    sides = inspection.peering.requester, inspection.peering.accepter
    assert [(s.vpc_id, s.cidrs, s.accept_from) for s in sides] == [
        (vpc_a, ["10.6.0.0/16"], ["*"]), (vpc_b, ["10.7.0.0/16"], ["*"])]
    assert [sorted(p["VpcIds"]) for _, p in calls.of("DescribeVpcs")] == [sorted([vpc_a, vpc_b])], \
        "both VPCs of one place in one call"
    assert tags_of(pcx) == {**TAGGED, STATUS_TAG: "in-progress", EXECUTION_TAG: EXECUTION}


@pytest.mark.parametrize(("code", "decision"), [("provisioning", "await"), ("active", "route")])
def test_an_accepted_peering_is_awaited_or_routed(moto, code, decision):
    pcx, _, _ = request(tags=TAGGED, consent="*")
    set_state(pcx, code)
    inspection = inspect(deps(), document(pcx))
    assert (inspection.decision, inspection.reason) == (decision, f"{pcx} is {code}.")


def test_a_request_still_initiating_is_not_ready_by_name_and_nothing_is_tagged(moto):
    pcx, _, _ = request(tags=TAGGED, consent="*")
    set_state(pcx, "initiating-request")
    with pytest.raises(PeeringNotReady, match=rf"^{pcx} is still initiating-request; it will be checked again\.$"):
        inspect(deps(), document(pcx))
    assert tags_of(pcx) == TAGGED


def test_a_request_without_the_trigger_tag_is_refused_before_any_vpc_is_read_and_is_not_tagged(moto):
    pcx, _, _ = request(consent="*")
    flow = deps()
    calls = record(flow, Calls())

    inspection = inspect(flow, document(pcx))

    assert (inspection.decision, inspection.opted_in) == ("refuse", False)
    assert inspection.reason == f"{pcx} does not carry the tag {TRIGGER}=true, so it was left alone."
    assert [name for _, name, _ in calls.made] == ["DescribeVpcPeeringConnections"]
    assert tags_of(pcx) == {}


def test_a_request_without_consent_is_refused_with_the_vpcs_read_and_is_not_tagged(moto):
    pcx, vpc_a, _ = request(tags=TAGGED)
    inspection = inspect(deps(), document(pcx))
    assert (inspection.decision, inspection.opted_in) == ("refuse", True)
    assert inspection.reason.startswith(f"Requester VPC {vpc_a} (account {ACCOUNT}) does not consent to ")
    assert inspection.peering.requester.cidrs == ["10.6.0.0/16"] and tags_of(pcx) == TAGGED


def test_probe_targets_inside_the_vpcs_pass_and_others_or_a_malformed_tag_are_refused(moto):
    inside, _, _ = request(tags={**TAGGED, PROBE_TARGETS_TAG: "10.7.0.5:22"}, consent="*")
    assert inspect(deps(), document(inside)).decision == "accept"

    targets = "10.7.0.5:22,192.168.9.9:443,icmp:172.16.0.1"
    outside, _, _ = request(tags={**TAGGED, PROBE_TARGETS_TAG: targets}, consent="*")
    refused = inspect(deps(), document(outside))
    assert (refused.decision, refused.reason) == ("refuse", (
        f"The {PROBE_TARGETS_TAG} tag names 192.168.9.9, 172.16.0.1, outside both VPCs of {outside}; the probe is "
        "only aimed inside the peered VPCs, so nothing was changed."))
    assert tags_of(outside) == {**TAGGED, PROBE_TARGETS_TAG: targets}

    malformed, _, _ = request(tags={**TAGGED, PROBE_TARGETS_TAG: "10.7.0.5:notaport"}, consent="*")
    refused = inspect(deps(), document(malformed))
    assert (refused.decision, refused.reason) == ("refuse", (
        f"The {PROBE_TARGETS_TAG} tag is not usable: Probe target '10.7.0.5:notaport' is not an IP address and "
        "port (host:port)."))


def test_the_vpcs_names_and_ipv6_blocks_are_read_into_the_inspection(moto):
    """A refusal keeps what was read: here VPC A's Amazon-provided IPv6 block is outside AllowedPeerCidrs."""
    ec2 = boto3.client("ec2", region_name=REGION)
    pcx, vpc_a, vpc_b = request(tags=TAGGED, consent="*")
    ec2.create_tags(Resources=[vpc_a], Tags=[{"Key": "Name", "Value": "app-a"}])
    block = ec2.associate_vpc_cidr_block(VpcId=vpc_a, AmazonProvidedIpv6CidrBlock=True)[
        "Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"]

    inspection = inspect(deps(), document(pcx))

    assert inspection.decision == "refuse" and f"Requester VPC {vpc_a} has {block}, outside" in inspection.reason
    requester, accepter = inspection.peering.requester, inspection.peering.accepter
    assert (requester.name, requester.ipv6_cidrs, accepter.name, accepter.ipv6_cidrs) == ("app-a", [block], "", [])


def test_a_cross_region_request_is_read_in_both_regions_and_tagged_in_progress_in_both(moto):
    pcx, vpc_a, vpc_b = request(peer_region="us-west-2", tags=TAGGED, consent="*")
    flow = deps()
    calls = record(flow, Calls(), REGION, "us-west-2")

    inspection = inspect(flow, document(pcx))

    assert inspection.decision == "accept" and inspection.peering.accepter.cidrs == ["10.7.0.0/16"]
    assert [(region, p["VpcIds"]) for region, p in calls.of("DescribeVpcs")] == [
        (REGION, [vpc_a]), ("us-west-2", [vpc_b])]
    assert [region for region, _ in calls.of("CreateTags")] == [REGION, "us-west-2"]


def test_the_state_document_is_measured_as_inspect_leaves_it(moto):
    """The guard's verdict turns on the document's exact size (``runstore.guard``): with an input that brings the
    projected size to the limit Inspect refuses, one byte less and it proceeds. So the document is measured as
    Step Functions will carry it: camelCase, no nulls, with the inspection."""
    from peering import runstore
    from peering.models import Inspection

    pcx, _, _ = request(tags=TAGGED, consent="*")
    flow = deps(max_probe_targets=1)
    probe = WorkflowState(peering_id=pcx, execution_arn=EXECUTION, input={"pad": ""})
    inspect(flow, probe)  # tags the peering in-progress: from now on every read is the same
    peering = inspect(flow, probe).peering
    inspection = Inspection(decision="accept", reason=f"{pcx} is pending-acceptance.", peering=peering,
                            opted_in=True)
    fixed = (runstore.STORED_PLAN_BYTES + len('"plan":,') + runstore.LATER_BYTES + 2 * runstore.FLOW_BYTES)

    def size(pad: int) -> int:
        state = probe.model_copy(update={"input": {"pad": "x" * pad}})
        return len(runstore.canonical({**state.model_dump(mode="json", by_alias=True, exclude_none=True),
                                       "inspection": inspection.wire()}))

    at_limit = runstore.STATE_LIMIT - fixed - size(0)
    assert size(at_limit) + fixed == runstore.STATE_LIMIT
    with pytest.raises(LimitExceeded):
        inspect(flow, probe.model_copy(update={"input": {"pad": "x" * at_limit}}))
    below = inspect(flow, probe.model_copy(update={"input": {"pad": "x" * (at_limit - 1)}}))
    assert below.decision == "accept"


def test_an_empty_probe_targets_tag_asks_for_nothing(moto):
    pcx, _, _ = request(tags={**TAGGED, PROBE_TARGETS_TAG: "  "}, consent="*")
    assert inspect(deps(), document(pcx)).decision == "accept"


def test_a_run_that_could_outgrow_the_state_document_is_refused_before_anything_is_tagged(moto):
    pcx, _, _ = request(tags=TAGGED, consent="*")
    with pytest.raises(LimitExceeded, match=r"so nothing was changed; lower MaxProbeTargets or the probe-targets "
                                            r"tag\.$"):
        inspect(deps(max_probe_targets=40), document(pcx))
    assert tags_of(pcx) == TAGGED
    assert inspect(deps(max_probe_targets=20), document(pcx)).decision == "accept", "2 x 20 flows fit"


def test_a_peering_ec2_does_not_know_is_not_found_by_name(moto):
    with pytest.raises(PeeringNotFound, match=r"^Peering pcx-0000000000000000a was not found in us-east-1\.$"):
        inspect(deps(), document("pcx-0000000000000000a"))


def test_a_duplicate_execution_reads_and_changes_nothing(moto):
    from peering.once import start_once
    from peering.runs import execution_arn

    pcx, _, _ = request(tags=TAGGED, consent="*")
    machine = state_machine()
    flow = deps(lease_table="leases")
    first = start_once(flow.sfn(), flow.leases(), machine, pcx, {"eventId": "e-1"})
    other = boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=machine, name=f"{pcx}-by-hand", input="{}")["executionArn"]
    assert other == execution_arn(machine, f"{pcx}-by-hand") and first.started
    calls = record(flow, Calls())

    inspection = inspect(flow, document(pcx, other))

    assert inspection.decision == "duplicate" and first.execution_arn.rsplit(":", 1)[1] in inspection.reason
    assert calls.made == [] and tags_of(pcx) == TAGGED
    assert inspect(flow, document(pcx, first.execution_arn)).decision == "accept", "the holder itself proceeds"
