"""The trigger: which CloudTrail events start the workflow, for which peerings."""

import copy

import pytest
from pydantic import ValidationError

from peering.events import PeeringApiCallEvent, execution_name, trigger_from
from tests.conftest import load_event

KEY = "peering-automation/auto-accept"


def trigger(event, key=KEY):
    return trigger_from(PeeringApiCallEvent.model_validate(event), key)


def test_create_tags_on_a_peering_with_the_tag_starts_it():
    assert trigger(load_event("create-tags-peering.json")).peering_ids == ["pcx-0a1b2c3d4e5f60718"]


def test_create_peering_with_the_tag_in_tag_specifications_starts_it():
    assert trigger(load_event("create-peering-tagged.json")).peering_ids == ["pcx-0a1b2c3d4e5f60718"]


@pytest.mark.parametrize("name, fragment", [
    ("create-tags-instance.json", "names no peering"),
    ("create-tags-peering-failed-call.json", "failed (Client.UnauthorizedOperation)"),
])
def test_events_that_name_no_peering_or_failed_start_nothing(name, fragment):
    result = trigger(load_event(name))
    assert result.peering_ids == [] and fragment in result.reason


@pytest.mark.parametrize("value, started", [("true", True), (" TRUE ", True), ("True", True), ("false", False),
                                            ("", False), ("trué", False)])
def test_tag_value_is_compared_trimmed_and_case_insensitively(value, started):
    event = load_event("create-tags-peering.json")
    event["detail"]["requestParameters"]["tagSet"]["items"][0]["value"] = value
    assert bool(trigger(event).peering_ids) is started


def test_tag_key_is_the_configured_one_exactly():
    event = load_event("create-tags-peering.json")
    assert trigger(event, key="other/key").peering_ids == []
    event["detail"]["requestParameters"]["tagSet"]["items"][0]["key"] = KEY.upper()
    assert trigger(event).peering_ids == []


def test_several_peerings_in_one_create_tags_each_start_once_and_other_resources_are_ignored():
    event = load_event("create-tags-peering.json")
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [
        {"resourceId": "pcx-2"}, {"resourceId": "i-0abc"}, {"resourceId": "pcx-1"}, {"resourceId": "pcx-2"},
        {"resourceId": "pcx-bad id"}, {"resourceId": 42}]
    assert trigger(event).peering_ids == ["pcx-1", "pcx-2"]


def test_other_calls_and_sources_start_nothing():
    event = load_event("create-tags-peering.json")
    event["detail"]["eventName"] = "DeleteTags"
    assert trigger(event).peering_ids == []
    event = load_event("create-tags-peering.json")
    event["detail"]["eventSource"] = "s3.amazonaws.com"
    assert trigger(event).peering_ids == []


@pytest.mark.parametrize("mangle", [
    lambda e: e["detail"].pop("requestParameters"),
    lambda e: e["detail"].update(requestParameters={"resourcesSet": "oops"}),
    lambda e: e["detail"]["requestParameters"].update(tagSet={"items": [None, "x", {"key": KEY}]}),
])
def test_malformed_request_parameters_start_nothing_without_raising(mangle):
    event = copy.deepcopy(load_event("create-tags-peering.json"))
    mangle(event)
    assert trigger(event).peering_ids == []


def test_an_event_without_a_detail_is_rejected_by_the_model():
    event = load_event("create-tags-peering.json")
    del event["detail"]
    with pytest.raises(ValidationError):
        PeeringApiCallEvent.model_validate(event)


def test_execution_name_is_deterministic_valid_and_distinct_per_event():
    a = execution_name("pcx-0a1b2c3d4e5f60718", "event-1")
    assert a == execution_name("pcx-0a1b2c3d4e5f60718", "event-1")
    assert a != execution_name("pcx-0a1b2c3d4e5f60718", "event-2")
    assert a.startswith("pcx-0a1b2c3d4e5f60718-") and len(a) <= 80
    assert all(c.isalnum() or c in "-_" for c in a)


SSO_IDENTITY = {
    "type": "AssumedRole",
    "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_NetworkAdmin_0123456789abcdef/jane",
    "sessionContext": {"sessionIssuer": {
        "type": "Role",
        "arn": ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/"
                "AWSReservedSSO_NetworkAdmin_0123456789abcdef"),
    }},
}


@pytest.mark.parametrize("patterns, started", [
    ((), True),  # no AllowedTaggers: anyone who may tag
    (("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_NetworkAdmin_*",), True),
    (("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_NetworkAdmin_*/*",), True),
    (("arn:aws:iam::123456789012:role/NetworkAutomation",), False),
    (("arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_NetworkAdmin_*",), False),
    (("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/awsreservedsso_networkadmin_*",), False),
])
def test_allowed_taggers_match_the_identity_or_its_role_by_arn_pattern(patterns, started):
    event = load_event("create-tags-peering.json")
    event["detail"]["userIdentity"] = SSO_IDENTITY
    result = trigger_from(PeeringApiCallEvent.model_validate(event), KEY, patterns)
    assert bool(result.peering_ids) is started
    if not started:
        assert result.reason == (
            "The CreateTags call was made by arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_NetworkAdmin_"
            "0123456789abcdef/jane, arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_"
            "NetworkAdmin_0123456789abcdef, which matches no AllowedTaggers pattern, so nothing was read or "
            "started.")


def test_an_event_without_a_user_identity_is_refused_when_taggers_are_restricted():
    event = load_event("create-tags-peering.json")
    event["detail"].pop("userIdentity", None)
    result = trigger_from(PeeringApiCallEvent.model_validate(event), KEY, ("arn:aws:iam::*:role/*",))
    assert result.peering_ids == [] and "an unnamed identity" in result.reason


def test_peerings_past_max_peerings_per_event_are_refused_and_reported():
    event = load_event("create-tags-peering.json")
    ids = [f"pcx-{i:017x}" for i in range(12)]
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": pcx} for pcx in ids]
    result = trigger_from(PeeringApiCallEvent.model_validate(event), KEY, (), 10)
    assert result.peering_ids == ids[:10] and result.refused == ids[10:]
    assert result.reason == ("The CreateTags call names 12 peerings, more than MaxPeeringsPerEvent (10): the first "
                             "10 were started and 2 were refused.")
    exactly = trigger_from(PeeringApiCallEvent.model_validate(event), KEY, (), 12)
    assert exactly.peering_ids == ids and exactly.refused == []
