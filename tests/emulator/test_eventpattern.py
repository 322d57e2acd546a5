"""EventBridge pattern semantics of the emulator's matcher (peering_tools.eventpattern).

Given a pattern and an event, when matched, then the result is what EventBridge decides - in
particular for CloudTrail's arrays of objects (``{"items": [{...}]}``), which moto's own matcher
gets wrong. The template's real rules are checked against CloudTrail events built the way the
emulator records calls.
"""

from __future__ import annotations

import copy

import pytest

from peering_tools import cloudtrail, template
from peering_tools.eventpattern import PatternError, matches
from tests.conftest import load_event

TRIGGER = "peering-automation/auto-accept"
IDENTITY = cloudtrail.identity("123456789012", "arn:aws:sts::123456789012:assumed-role/Net/eng", "AROAX:eng", "ASIAX")
CREATE_PCX_XML = (
    '<CreateVpcPeeringConnectionResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><vpcPeeringConnection>'
    "<vpcPeeringConnectionId>pcx-0123456789abcdef0</vpcPeeringConnectionId><status><code>initiating-request</code>"
    "</status><tagSet><item><key>k</key><value>v</value></item></tagSet></vpcPeeringConnection>"
    "<requestId>r</requestId></CreateVpcPeeringConnectionResponse>"
)
EMPTY_XML = '<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><requestId>r</requestId></CreateTagsResponse>'


def envelope(action: str, params: dict, xml: str = EMPTY_XML) -> dict:
    """An EventBridge event for one EC2 call, as the emulator records it (query parameters in, CloudTrail out)."""
    detail = cloudtrail.api_call_event(action, params, xml, account_id="123456789012", region="us-east-1",
                                       identity=IDENTITY)
    return {"version": "0", "id": "e", "detail-type": cloudtrail.DETAIL_TYPE, "source": cloudtrail.SOURCE,
            "account": "123456789012", "time": "2026-11-28T01:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


def create_tags(resources: list[str], tags: dict[str, str]) -> dict:
    params = {f"ResourceId.{i}": [r] for i, r in enumerate(resources, 1)}
    for i, (k, v) in enumerate(tags.items(), 1):
        params.update({f"Tag.{i}.Key": [k], f"Tag.{i}.Value": [v]})
    return envelope("CreateTags", params)


def create_peering(tags: dict[str, str] | None, resource_type: str = "vpc-peering-connection") -> dict:
    params = {"VpcId": ["vpc-a"], "PeerVpcId": ["vpc-b"]}
    if tags is not None:
        params["TagSpecification.1.ResourceType"] = [resource_type]
        for i, (k, v) in enumerate(tags.items(), 1):
            params.update({f"TagSpecification.1.Tag.{i}.Key": [k], f"TagSpecification.1.Tag.{i}.Value": [v]})
    return envelope("CreateVpcPeeringConnection", params, CREATE_PCX_XML)


def with_error(event: dict) -> dict:
    failed = copy.deepcopy(event)
    failed["detail"]["errorCode"] = "Client.InvalidID"
    return failed


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    """The template's rule patterns, by the EC2 call they listen for (the sweeper's schedule has none)."""
    spec = template.stack_spec()
    return {rule.pattern["detail"]["eventName"][0]: rule.pattern for rule in spec.rules if rule.pattern}


# -- the template's rules against CloudTrail events ------------------------------------------------
TEMPLATE_CASES = [
    # (rule, event, expected, why)
    ("CreateTags", lambda: create_tags(["pcx-0123456789abcdef0"], {TRIGGER: "true"}), True, "tag on a peering"),
    ("CreateTags", lambda: create_tags(["i-0123456789abcdef0", "pcx-0123456789abcdef0"], {TRIGGER: "true"}), True,
     "an instance and a peering in one call: one element of resourcesSet.items is enough"),
    ("CreateTags", lambda: create_tags(["pcx-0123456789abcdef0"], {"Name": "x", TRIGGER: "true"}), True,
     "the trigger tag second in tagSet.items"),
    ("CreateTags", lambda: create_tags(["pcx-0123456789abcdef0"], {"Name": "x"}), False, "a peering, other tags only"),
    ("CreateTags", lambda: create_tags(["pcx-0123456789abcdef0"], {"peering-automation/status": "routed"}), False,
     "the workflow's own status tag must not retrigger it"),
    ("CreateTags", lambda: create_tags(["i-0123456789abcdef0"], {TRIGGER: "true"}), False, "the tag on an instance"),
    ("CreateTags", lambda: with_error(create_tags(["pcx-0123456789abcdef0"], {TRIGGER: "true"})), False,
     "a failed call (errorCode present)"),
    ("CreateTags", lambda: create_peering({TRIGGER: "true"}), False, "another call"),
    ("CreateVpcPeeringConnection", lambda: create_peering({TRIGGER: "true"}), True, "created with the trigger tag"),
    ("CreateVpcPeeringConnection", lambda: create_peering({"Name": "x", TRIGGER: "true"}), True,
     "the trigger tag among others"),
    ("CreateVpcPeeringConnection", lambda: create_peering(None), False, "created untagged"),
    ("CreateVpcPeeringConnection", lambda: create_peering({"Name": "x"}), False, "created with other tags"),
    ("CreateVpcPeeringConnection", lambda: with_error(create_peering({TRIGGER: "true"})), False, "a failed call"),
    ("CreateVpcPeeringConnection", lambda: create_tags(["pcx-0123456789abcdef0"], {TRIGGER: "true"}), False,
     "another call"),
]


@pytest.mark.parametrize(("rule", "make_event", "expected", "why"), TEMPLATE_CASES,
                         ids=[f"{c[0]}: {c[3]}" for c in TEMPLATE_CASES])
def test_template_rule_matches_recorded_cloudtrail_event_as_eventbridge_does(rules, rule, make_event, expected, why):
    assert matches(rules[rule], make_event()) is expected, why


@pytest.mark.parametrize(("rule", "sample", "expected"), [
    ("CreateTags", "create-tags-peering.json", True),
    ("CreateTags", "create-tags-instance.json", False),
    ("CreateTags", "create-tags-peering-failed-call.json", False),
    ("CreateTags", "create-peering-tagged.json", False),
    ("CreateVpcPeeringConnection", "create-peering-tagged.json", True),
    ("CreateVpcPeeringConnection", "create-tags-peering.json", False),
    ("DeleteVpcPeeringConnection", "delete-peering.json", True),
    ("DeleteVpcPeeringConnection", "create-tags-peering.json", False),
    ("CreateTags", "delete-peering.json", False),
])
def test_template_rule_against_the_sample_events(rules, rule, sample, expected):
    assert matches(rules[rule], load_event(sample)) is expected


def test_moto_own_matcher_misses_arrays_of_objects_which_is_why_the_emulator_replaces_it(rules):
    """Documents the defect the emulator works around; if moto fixes it, this test says so."""
    from moto.events.models import EventPattern

    event = create_tags(["pcx-0123456789abcdef0"], {TRIGGER: "true"})
    assert matches(rules["CreateTags"], event)
    assert not EventPattern(None, rules["CreateTags"]).matches_event(event), (
        "moto now matches arrays of objects: the emulator's own matcher may no longer be needed")


# -- operators and array semantics -------------------------------------------------------------------
SEMANTICS = [
    # (pattern, event, expected, why)
    ({"a": ["x", "y"]}, {"a": "y"}, True, "array of values = OR"),
    ({"a": ["x"]}, {"a": "z"}, False, "exact value differs"),
    ({"a": ["x"]}, {"a": ["z", "x"]}, True, "event array: any element"),
    ({"a": ["x"]}, {"a": []}, False, "empty event array"),
    ({"a": [5]}, {"a": 5.0}, True, "numbers compare by value"),
    ({"a": ["5"]}, {"a": 5}, False, "a string does not equal a number"),
    ({"a": [True]}, {"a": True}, True, "booleans"),
    ({"a": [None]}, {"a": None}, True, "null"),
    ({"a": {"b": ["x"]}}, {"a": {"b": "x"}}, True, "nested object"),
    ({"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"b": "x"}]}, True, "nested pattern over an array of objects"),
    ({"a": {"b": ["x"]}}, {"a": [{"b": "y"}, {"c": "x"}]}, False, "no element of the array matches"),
    ({"a": {"b": {"c": ["x"]}}}, {"a": {"b": [{"c": ["q", "x"]}]}}, True, "arrays of objects of arrays"),
    ({"a": {"k": ["p"], "v": ["1"]}}, {"a": [{"k": "p", "v": "2"}, {"k": "q", "v": "1"}]}, False,
     "array-consistent: both keys must match in the same element"),
    ({"a": [{"prefix": "pcx-"}]}, {"a": "pcx-123"}, True, "prefix"),
    ({"a": [{"prefix": "pcx-"}]}, {"a": "vpc-123"}, False, "prefix differs"),
    ({"a": [{"prefix": "pcx-"}]}, {"a": 5}, False, "prefix never matches a number"),
    ({"a": [{"prefix": {"equals-ignore-case": "PCX-"}}]}, {"a": "pcx-1"}, True, "prefix ignoring case"),
    ({"a": [{"suffix": ".json"}]}, {"a": "x.json"}, True, "suffix"),
    ({"a": [{"equals-ignore-case": "TRUE"}]}, {"a": "true"}, True, "equals-ignore-case"),
    ({"a": [{"wildcard": "pcx-*-x"}]}, {"a": "pcx-1-x"}, True, "wildcard"),
    ({"a": [{"wildcard": "pcx-*-x"}]}, {"a": "pcx-1-y"}, False, "wildcard differs"),
    ({"a": [{"exists": False}]}, {"b": 1}, True, "exists false: field missing"),
    ({"a": [{"exists": False}]}, {"a": "x"}, False, "exists false: field present"),
    ({"a": {"b": [{"exists": False}]}}, {"c": 1}, True, "exists false under a missing parent"),
    ({"a": [{"exists": True}]}, {"a": "x"}, True, "exists true: field present"),
    ({"a": [{"exists": True}]}, {"b": "x"}, False, "exists true: field missing"),
    ({"a": [{"anything-but": "x"}]}, {"a": "y"}, True, "anything-but a value"),
    ({"a": [{"anything-but": "x"}]}, {"a": "x"}, False, "anything-but: the excluded value"),
    ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "y"}, False, "anything-but a list"),
    ({"a": [{"anything-but": {"prefix": "pcx-"}}]}, {"a": "vpc-1"}, True, "anything-but a prefix"),
    ({"a": [{"anything-but": {"prefix": "pcx-"}}]}, {"a": "pcx-1"}, False, "anything-but a prefix: excluded"),
    ({"a": [{"anything-but": "x"}]}, {"b": "y"}, False, "anything-but never matches a missing field"),
    ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True, "numeric range, upper bound"),
    ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 0}, False, "numeric range, excluded lower bound"),
    ({"a": [{"numeric": ["=", 3]}]}, {"a": 3.0}, True, "numeric equality"),
    ({"a": [{"numeric": [">", 0]}]}, {"a": "5"}, False, "numeric never matches a string"),
    ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False, "every key must match"),
    ({}, {"a": 1}, True, "the empty pattern matches everything"),
]


@pytest.mark.parametrize(("pattern", "event", "expected", "why"), SEMANTICS, ids=[c[3] for c in SEMANTICS])
def test_pattern_semantics(pattern, event, expected, why):
    assert matches(pattern, event) is expected, why


@pytest.mark.parametrize("pattern", [
    {"a": "x"},
    {"a": [{"nope": 1}]},
    {"a": [{"prefix": "x", "suffix": "y"}]},
    {"a": [{"numeric": [">"]}]},
    {"a": [{"numeric": ["~", 1]}]},
])
def test_an_invalid_pattern_is_an_error_naming_it(pattern):
    with pytest.raises(PatternError):
        matches(pattern, {"a": 1})
