"""The intake stage (``peering.workflow.intake``) on a Deps against moto in-process: which executions an event
starts, under which name and with which input, and what it leaves alone (the fast counterpart of the intake tests
in tests/workflow, which deliver events to the deployed stack)."""

from __future__ import annotations

import copy

import pytest

from peering.errors import InvalidInput
from peering.events import PeeringApiCallEvent, execution_name
from peering.runs import execution_arn
from peering.workflow.intake import start_from_event
from tests.conftest import load_event
from tests.unit.stage_support import deps, executions, leases, state_machine

PCX = "pcx-0a1b2c3d4e5f60718"  # the peering events/create-tags-peering.json tags
EVENT_ID = "11111111-aaaa-bbbb-cccc-000000000001"


def tagging(*peering_ids: str, event_id: str = EVENT_ID, key: str = "peering-automation/auto-accept"):
    event = copy.deepcopy(load_event("create-tags-peering.json"))
    event["detail"]["eventID"] = event_id
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": p} for p in peering_ids]
    event["detail"]["requestParameters"]["tagSet"]["items"] = [{"key": key, "value": "true"}]
    return PeeringApiCallEvent.model_validate(event)


@pytest.fixture
def machine(moto):
    return state_machine()


def test_a_tagged_peering_starts_one_execution_named_after_the_event_and_a_redelivery_starts_no_second(machine):
    flow = deps(state_machine_arn=machine, lease_table="leases")
    name = execution_name(PCX, EVENT_ID)

    result = start_from_event(flow, tagging(PCX))

    assert result == {"started": [execution_arn(machine, name)], "skipped": [], "refused": [],
                      "reason": "tagged for automation"}
    [run] = executions(machine)
    assert run["name"] == name and run["input"] == {"peeringId": PCX, "trigger": {
        "eventName": "CreateTags", "eventId": EVENT_ID, "eventTime": "2026-11-28T01:00:00Z"}}
    assert leases()[PCX]["executionArn"]["S"] == execution_arn(machine, name)

    # a redelivered event is the same request: StartExecution with the same name and input answers with the
    # running execution (see peering.aws.executions.start_execution), and the lease is already its own
    assert start_from_event(flow, tagging(PCX)) == result
    assert len(executions(machine)) == 1

    # another event for the same peering finds the lease held by the running execution
    other = start_from_event(flow, tagging(PCX, event_id="another-event"))
    assert other == {"started": [], "refused": [], "reason": "tagged for automation", "skipped": [
        {"peeringId": PCX, "started": False, "executionArn": execution_arn(machine, name),
         "reason": f"Execution {name} is already handling {PCX}."}]}
    assert len(executions(machine)) == 1


def test_a_peering_another_execution_holds_is_skipped_while_the_others_of_the_event_start(machine):
    flow = deps(state_machine_arn=machine, lease_table="leases")
    other = "pcx-0a1b2c3d4e5f60719"
    first = start_from_event(flow, tagging(PCX))["started"]

    result = start_from_event(flow, tagging(other, PCX, event_id="second-event"))

    assert result["started"] == [execution_arn(machine, execution_name(other, "second-event"))]
    assert [(s["peeringId"], s["executionArn"], s["started"]) for s in result["skipped"]] == [(PCX, first[0], False)]
    assert sorted(r["input"]["peeringId"] for r in executions(machine)) == [PCX, other]


def test_an_event_that_asks_for_nothing_starts_nothing_and_needs_no_lease_table(machine):
    event = PeeringApiCallEvent.model_validate(load_event("create-tags-instance.json"))

    result = start_from_event(deps(state_machine_arn=machine), event)

    assert result["started"] == [] and result["skipped"] == [] and result["refused"] == []
    assert result["reason"].endswith(".") and "\n" not in result["reason"]
    assert executions(machine) == []


def test_a_tagged_peering_without_a_lease_table_is_refused_in_one_sentence_and_nothing_starts(machine):
    with pytest.raises(InvalidInput, match=r"^The function has no LEASE_TABLE setting; redeploy the stack\.$"):
        start_from_event(deps(state_machine_arn=machine), tagging(PCX))
    assert executions(machine) == []


def test_a_tagged_peering_without_a_state_machine_setting_is_refused_before_any_lease_is_taken(machine):
    with pytest.raises(InvalidInput, match=r"^The intake has no STATE_MACHINE_ARN setting; redeploy the stack\.$"):
        start_from_event(deps(lease_table="leases"), tagging(PCX))
    assert leases() == {} and executions(machine) == []


def test_peerings_past_the_limit_are_refused_and_reported_and_the_first_ones_start(machine):
    ids = [f"pcx-0a1b2c3d4e5f6071{n}" for n in (3, 1, 2)]
    flow = deps(state_machine_arn=machine, lease_table="leases", max_peerings_per_event=2)

    result = start_from_event(flow, tagging(*ids))

    assert result["started"] == [execution_arn(machine, execution_name(p, EVENT_ID)) for p in sorted(ids)[:2]]
    assert result["refused"] == [sorted(ids)[2]] and result["skipped"] == []
    assert result["reason"] == ("The CreateTags call names 3 peerings, more than MaxPeeringsPerEvent (2): the "
                                "first 2 were started and 1 were refused.")
    assert sorted(r["input"]["peeringId"] for r in executions(machine)) == sorted(ids)[:2]
    assert sorted(leases()) == sorted(ids)[:2]


def test_the_trigger_tag_key_comes_from_the_settings(machine):
    flow = deps(state_machine_arn=machine, lease_table="leases", trigger_tag_key="team/auto")

    ignored = start_from_event(flow, tagging(PCX))
    assert ignored["started"] == [] and ignored["reason"] == "The CreateTags call does not set team/auto=true."
    assert executions(machine) == []

    assert len(start_from_event(flow, tagging(PCX, key="team/auto"))["started"]) == 1


def test_with_allowed_taggers_only_a_matching_identity_starts_a_run(machine):
    refused = deps(state_machine_arn=machine, lease_table="leases",
                   allowed_taggers=("arn:aws:iam::123456789012:role/ops",))
    result = start_from_event(refused, tagging(PCX))
    assert result["started"] == [] and "matches no AllowedTaggers pattern" in result["reason"]
    assert executions(machine) == [] and leases() == {}

    allowed = deps(state_machine_arn=machine, lease_table="leases",
                   allowed_taggers=("arn:aws:sts::123456789012:assumed-role/NetworkEngineer/*",))
    assert len(start_from_event(allowed, tagging(PCX))["started"]) == 1
