"""The accept and wait-active stages (``peering.workflow.accept``) and the shared helpers of
``peering.workflow.common``, on a Deps against moto in-process: what each stage changes, where (region), what a
re-run does, and the errors they raise by name (the fast counterpart of tests/workflow's accept paths)."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest

from peering.config import EXECUTION_TAG, REASON_TAG, STATUS_TAG
from peering.errors import PeeringNotActive, PeeringNotFound
from peering.models import Acceptance, Activation, Inspection, Status, WorkflowState
from peering.workflow import accept as stage
from peering.workflow.common import inspected, sentence, tag_status
from tests.conftest import ACCOUNT, REGION
from tests.unit.stage_support import Calls, Metrics, deps, peering, record, tags_of

EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:peering-autopilot:run-1"
PEER_REGION = "us-west-2"


def state(flow, peering_id: str, **fields) -> WorkflowState:
    """The document Accept receives: Inspect's decision with the peering as Inspect read it."""
    inspection = Inspection(decision="accept", reason="The request may be accepted.",
                            peering=flow.read_peering(peering_id))
    return WorkflowState(peering_id=peering_id, execution_arn=EXECUTION, inspection=inspection, **fields)


def described(peering_id: str, region: str = REGION) -> str:
    return boto3.client("ec2", region_name=region).describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"][0]["Status"]["Code"]


# -- accept ----------------------------------------------------------------------------------------------------


def test_accept_accepts_the_pending_request_tags_it_accepted_and_counts_it(moto):
    pcx = peering()
    metrics = Metrics()
    flow = deps(metrics)
    calls = record(flow, Calls())

    result = stage.accept(flow, state(flow, pcx))

    assert result == Acceptance(accepted_now=True, peering_state="active") and described(pcx) == "active"
    assert tags_of(pcx) == {STATUS_TAG: "accepted", EXECUTION_TAG: EXECUTION}
    assert [p["VpcPeeringConnectionId"] for _, p in calls.of("AcceptVpcPeeringConnection")] == [pcx]
    assert metrics.seen == {"PeeringsAccepted": 1}


def test_accept_of_a_request_inspect_saw_accepted_changes_nothing(moto):
    """A re-run (Step Functions retried Accept after it succeeded): Inspect's record says accepted."""
    pcx = peering()
    boto3.client("ec2", region_name=REGION).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    metrics = Metrics()
    flow = deps(metrics)
    calls = record(flow, Calls())

    result = stage.accept(flow, state(flow, pcx))

    assert result == Acceptance(accepted_now=False, peering_state="active")
    assert [name for _, name, _ in calls.made] == ["DescribeVpcPeeringConnections"]  # Inspect's read, no write
    assert tags_of(pcx) == {} and metrics.seen == {}


def test_a_cross_region_request_is_accepted_in_the_accepter_region_and_tagged_in_both(moto):
    pcx = peering(peer_region=PEER_REGION)
    flow = deps()
    calls = record(flow, Calls(), REGION, PEER_REGION)

    result = stage.accept(flow, state(flow, pcx))

    assert result.accepted_now and described(pcx, PEER_REGION) == "active"
    assert [region for region, _ in calls.of("AcceptVpcPeeringConnection")] == [PEER_REGION]
    assert [(region, {t["Key"]: t["Value"] for t in p["Tags"]}) for region, p in calls.of("CreateTags")] == [
        (REGION, {STATUS_TAG: "accepted", EXECUTION_TAG: EXECUTION}), (PEER_REGION, {STATUS_TAG: "accepted"})]


def test_a_stage_run_without_inspect_is_refused_in_one_sentence_and_changes_nothing(moto):
    pcx = peering()
    flow = deps()
    calls = record(flow, Calls())
    bare = WorkflowState(peering_id=pcx, execution_arn=EXECUTION)
    refused = WorkflowState(peering_id=pcx, inspection=Inspection(decision="refuse", reason="No."))

    for document in (bare, refused):
        with pytest.raises(PeeringNotActive, match=rf"^{pcx} was not inspected before this stage; the run is "
                                                   r"incomplete\.$"):
            stage.accept(flow, document)
    assert calls.made == [] and described(pcx) == "pending-acceptance" and tags_of(pcx) == {}


# -- check_active ----------------------------------------------------------------------------------------------


def test_an_active_peering_is_active_at_the_first_check(moto):
    pcx = peering()
    boto3.client("ec2", region_name=REGION).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    flow = deps()
    assert stage.check_active(flow, WorkflowState(peering_id=pcx)) == Activation(
        state="active", attempt=1, peering_state="active")


def test_a_peering_still_pending_waits_and_counts_its_checks_up_to_the_limit(moto):
    pcx = peering()
    flow = deps(max_activation_checks=3)
    first = stage.check_active(flow, WorkflowState(peering_id=pcx))
    assert first == Activation(state="waiting", attempt=1, peering_state="pending-acceptance")
    second = stage.check_active(flow, WorkflowState(peering_id=pcx, activation=first))
    assert second == Activation(state="waiting", attempt=2, peering_state="pending-acceptance")

    with pytest.raises(PeeringNotActive, match=rf"^{pcx} was still pending-acceptance after 3 checks, so no route "
                                               r"was added\.$"):
        stage.check_active(flow, WorkflowState(peering_id=pcx, activation=second))
    assert tags_of(pcx) == {}


@pytest.mark.parametrize("how", ["delete", "reject"])
def test_a_peering_that_is_gone_before_it_was_active_stops_the_wait_by_name(moto, how):
    pcx = peering()
    getattr(boto3.client("ec2", region_name=REGION), f"{how}_vpc_peering_connection")(VpcPeeringConnectionId=pcx)
    gone = described(pcx)
    with pytest.raises(PeeringNotActive, match=rf"^{pcx} became {gone} before it was active\.$"):
        stage.check_active(deps(), WorkflowState(peering_id=pcx))


def test_a_peering_ec2_does_not_know_is_not_found_by_name(moto):
    with pytest.raises(PeeringNotFound, match=r"^Peering pcx-0000000000000000a was not found in us-east-1\.$"):
        stage.check_active(deps(), WorkflowState(peering_id="pcx-0000000000000000a"))


# -- common ----------------------------------------------------------------------------------------------------


def test_the_status_tag_carries_the_execution_and_the_reason_only_when_given(moto):
    pcx = peering()
    flow = deps()
    tag_status(flow, pcx, Status.IN_PROGRESS, None)
    assert tags_of(pcx) == {STATUS_TAG: "in-progress"}
    tag_status(flow, pcx, Status.FAILED, EXECUTION, "Routes could not be added.")
    assert tags_of(pcx) == {STATUS_TAG: "failed", EXECUTION_TAG: EXECUTION, REASON_TAG: "Routes could not be added."}


def test_the_accepter_regions_view_is_tagged_only_for_another_region_of_the_stacks_own_account(moto):
    same_region, cross_region = peering(), peering(peer_region=PEER_REGION)
    flow = deps()
    calls = record(flow, Calls(), REGION, PEER_REGION)
    elsewhere = flow.read_peering(cross_region)
    foreign = replace(elsewhere, accepter=replace(elsewhere.accepter, account_id="210987654321"))

    tag_status(flow, same_region, Status.VERIFIED, EXECUTION, peering=flow.read_peering(same_region))
    tag_status(flow, cross_region, Status.VERIFIED, EXECUTION, peering=foreign)
    tag_status(flow, cross_region, Status.VERIFIED, EXECUTION)  # no peering record: the stack's region only
    unplaced = replace(elsewhere, accepter=replace(elsewhere.accepter, region=""))  # region not recorded: own
    tag_status(flow, cross_region, Status.VERIFIED, EXECUTION, peering=unplaced)
    assert [region for region, _ in calls.of("CreateTags")] == [REGION, REGION, REGION, REGION]

    tag_status(flow, cross_region, Status.VERIFIED, EXECUTION, peering=elsewhere)
    assert [(region, p["Resources"]) for region, p in calls.of("CreateTags")][4:] == [
        (REGION, [cross_region]), (PEER_REGION, [cross_region])]


def test_inspected_is_the_peering_inspect_read():
    peering_record = Inspection.model_validate({"decision": "accept", "reason": "ok", "peering": {
        "peeringId": "pcx-1", "state": "pending-acceptance",
        "requester": {"role": "requester", "vpcId": "vpc-a", "accountId": ACCOUNT, "region": REGION},
        "accepter": {"role": "accepter", "vpcId": "vpc-b", "accountId": ACCOUNT, "region": REGION}}})
    assert inspected(WorkflowState(peering_id="pcx-1", inspection=peering_record)) is peering_record.peering


@pytest.mark.parametrize(("text", "expected"), [
    ("Routes  were\nadded", "Routes were added."),
    ("  Done.  ", "Done."),
    ("a\tb.", "a b."),
])
def test_a_sentence_is_one_line_with_single_spaces_ending_in_a_full_stop(text, expected):
    assert sentence(text) == expected
