"""Bad input: fuzzed CloudTrail events at the intake, fuzzed workflow state at every stage handler.

The intake must end every event in a clean refusal (``started == []`` and a one-sentence reason) or
a correct start (one execution per tagged peering named in the event), never an unhandled exception,
and a refused event changes nothing. The expected outcome of each generated event is computed here
by construction (each part of an event is drawn with its label, written down from the documented rules in
README, *Trigger* and *Parameters*), never by running a rule over the event:

* only ``CreateTags`` and ``CreateVpcPeeringConnection`` from ``ec2.amazonaws.com`` without an
  ``errorCode`` can start anything;
* the peerings are the ``pcx-`` ids the call names (several in one CreateTags: one execution each);
* the call must set the tag ``peering-automation/auto-accept`` (the key exactly, tag keys are
  case-sensitive) to ``true`` in any case, surrounding whitespace trimmed.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from peering_tools import REPO_ROOT, deploy, template
from peering_tools.inprocess import Context
from tests.conftest import ACCOUNT, REGION, load_event

TRIGGER = "peering-automation/auto-accept"
NO_EXECUTION = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": False}}
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


def handler(stage: str):
    path = REPO_ROOT / "functions" / stage / "app.py"
    spec = importlib.util.spec_from_file_location(f"fuzz_handler_{stage}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture(autouse=True)
def _stack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACK_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Fuzz")
    monkeypatch.delenv("TOPIC_ARN", raising=False)
    monkeypatch.delenv("PROBE_SUBNET_IDS", raising=False)


def one_sentence(text: Any) -> None:
    assert isinstance(text, str) and text.strip(), text
    assert "\n" not in text and len(text) < 2000, text[:300]
    assert "Traceback" not in text


# -- event strategies ---------------------------------------------------------------------------------

HUGE = st.integers(min_value=10_000, max_value=200_000).map(lambda n: "x" * n)
ODD_TEXT = st.one_of(st.text(max_size=40), HUGE, st.sampled_from(["", " ", "\u0000", "\u202e", "ｔｒｕｅ", "🙂"]))
WRONG_TYPE = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(),
                       st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                            max_size=2))

PCX_IDS = st.one_of(
    st.from_regex(r"\Apcx-[0-9a-zA-Z]{1,32}\Z"),
    st.sampled_from(["pcx-0a1b2c3d4e5f60718", "pcx-0123456789abcdef0"]),
)
NOT_PCX_IDS = st.one_of(
    st.sampled_from(["vpc-0aaaaaaaaaaaaaaa1", "subnet-1", "PCX-0a1b2c3d4e5f60718", " pcx-0a1b2c3d4e5f60718",
                     "pcx-", "pcx-" + "a" * 33, "pcx-0a1b_2c3d", "pcx-０１２", "pcx-0a1b2c3d4e5f60718\n"]),
    ODD_TEXT.filter(lambda v: not v.startswith("pcx-")),
    WRONG_TYPE,
)
RESOURCE_IDS = st.one_of(PCX_IDS.map(lambda i: (i, True)), NOT_PCX_IDS.map(lambda i: (i, False)))
"""(resource id, whether it names a peering): labelled by how it was made, never by a pattern."""

OPT_IN_VALUES = {"true": True, "TRUE": True, "True": True, " true ": True, "\ttRuE\n": True,
                 "\u00a0true\u2003": True, "true\u200b": False, "ｔｒｕｅ": False, "false": False, "yes": False,
                 "1": False, "": False, "t rue": False, "truee": False}
"""Trigger tag values and whether each opts in, written down by hand (README, *Trigger*: ``true`` in any case,
surrounding whitespace, Unicode's included, trimmed; a zero-width space is not whitespace)."""
TAG_KEYS = st.one_of(
    st.just((TRIGGER, True)),
    st.sampled_from([TRIGGER.upper(), "Peering-Automation/Auto-Accept", f" {TRIGGER}", f"{TRIGGER} ",
                     f"{TRIGGER}\t", "peering-automation/auto_accept", "peering-automation/auto-accept\u200b",
                     "peering-automation/status", "Name"]).map(lambda k: (k, False)),
    ODD_TEXT.filter(lambda k: k != TRIGGER).map(lambda k: (k, False)),
)
TAG_VALUES = st.one_of(
    st.sampled_from(sorted(OPT_IN_VALUES.items())),
    ODD_TEXT.filter(lambda v: "true" not in v.lower()).map(lambda v: (v, False)),
)
EVENT_IDS = itertools.count()
RARELY = st.sampled_from([False] * 9 + [True])
TAGS = st.lists(st.tuples(TAG_KEYS, TAG_VALUES).map(lambda kv: ({"key": kv[0][0], "value": kv[1][0]},
                                                                 kv[0][1] and kv[1][1])), max_size=4)
"""(tag, whether it opts in), labelled by how each was made."""


@st.composite
def events(draw: st.DrawFn) -> tuple[dict, dict]:
    """A CloudTrail event (often broken) and what it must lead to, known from how it was made: every id, tag
    and call field is drawn with a label saying whether it names a peering, opts in, or is the right call."""
    kind = draw(st.sampled_from(["CreateTags", "CreateVpcPeeringConnection"]))
    event = copy.deepcopy(load_event("create-tags-peering.json" if kind == "CreateTags"
                                     else "create-peering-tagged.json"))
    detail = event["detail"]
    event["id"] = detail["eventID"] = f"fuzz-{next(EVENT_IDS)}"  # fresh: the same id is the same execution
    valid = draw(st.booleans())  # half the events are well-formed opt-ins, however odd their other tags and ids
    labelled_tags = draw(TAGS)
    if valid:  # opt in
        good = {"key": TRIGGER, "value": draw(st.sampled_from(["true", "TRUE", " True ", "\ttrue\n", "tRuE"]))}
        labelled_tags.insert(draw(st.integers(0, len(labelled_tags))), (good, True))
    elif draw(st.booleans()):  # the trigger key with a value that may or may not opt in
        value, opts_in = draw(st.sampled_from(sorted(OPT_IN_VALUES.items())))
        labelled_tags.insert(draw(st.integers(0, len(labelled_tags))), ({"key": TRIGGER, "value": value}, opts_in))
    tags = [tag for tag, _ in labelled_tags]
    if kind == "CreateTags":
        ids = draw(st.lists(st.one_of(PCX_IDS.map(lambda i: (i, True)), RESOURCE_IDS), min_size=0, max_size=5))
        if valid:
            ids.insert(draw(st.integers(0, len(ids))), (draw(PCX_IDS), True))
        detail["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": i} for i, _ in ids]
        detail["requestParameters"]["tagSet"]["items"] = tags
        named = [i for i, names_a_peering in ids if names_a_peering]
        opt_ins = [ok for _, ok in labelled_tags]
    else:
        pcx, names_a_peering = draw(PCX_IDS.map(lambda i: (i, True)) if valid else RESOURCE_IDS)
        detail["responseElements"]["vpcPeeringConnection"]["vpcPeeringConnectionId"] = pcx
        resource_type = draw(st.sampled_from(["vpc-peering-connection", None] if valid else [
            "vpc-peering-connection", "vpc-peering-connection", "vpc", "instance", "VPC-Peering-Connection", None]))
        spec = {"resourceType": resource_type, "tags": tags} if resource_type else {"tags": tags}
        detail["requestParameters"]["tagSpecificationSet"]["items"] = [spec]
        named = [pcx] if names_a_peering else []
        opt_ins = [ok for _, ok in labelled_tags] if resource_type in (None, "vpc-peering-connection") else []

    refused_envelope = another_call = False
    if valid:
        return event, {"envelope": False, "ids": sorted(set(named))}
    # the call itself: other services, other calls, failed calls
    if draw(RARELY):
        detail["eventSource"] = draw(st.sampled_from(["s3.amazonaws.com", "EC2.amazonaws.com", "ec2.amazonaws.com ",
                                                      "sts.amazonaws.com"]))
        another_call = True
    if draw(RARELY):
        detail["eventName"] = draw(st.one_of(
            st.sampled_from(["DeleteTags", "createtags", "CreateTags ", "AcceptVpcPeeringConnection",
                             "DeleteVpcPeeringConnection", "RunInstances", "CreateVpcPeeringConnections",
                             "Create\nTags"]),
            ODD_TEXT.filter(lambda name: name != kind)))
        another_call = True
    if draw(RARELY):
        detail["errorCode"] = draw(st.sampled_from(["Client.UnauthorizedOperation", "InvalidParameterValue",
                                                    "Client.RequestLimitExceeded"]))
        detail["errorMessage"] = "You are not authorized to perform this operation."
        another_call = True
    # structure: fields missing, fields of the wrong type, parameters not where CloudTrail puts them
    breakage = draw(st.sampled_from([None] * 10 + list(range(10))))
    if breakage == 0:
        del event[draw(st.sampled_from(["detail", "source", "id", "account", "region", "detail-type", "version",
                                        "time", "resources"]))]
        refused_envelope = True
    elif breakage == 1:
        event[draw(st.sampled_from(["detail", "source", "detail-type", "region", "account", "resources"]))] = None
        refused_envelope = True
    elif breakage == 2:
        event["detail"] = draw(st.one_of(st.text(max_size=10), st.lists(st.integers(), max_size=2), st.integers()))
        refused_envelope = True
    elif breakage == 3:
        del detail[draw(st.sampled_from(["eventSource", "eventName"]))]
        refused_envelope = True
    elif breakage == 4:
        detail[draw(st.sampled_from(["eventSource", "eventName"]))] = draw(st.one_of(
            st.none(), st.integers(), st.lists(st.text(max_size=3), max_size=2)))
        refused_envelope = True
    elif breakage == 5:
        detail["requestParameters"] = draw(st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2)))
        refused_envelope = True
    elif breakage == 6:  # CloudTrail omits requestParameters (null) for some calls: no tags, and no ids for CreateTags
        detail["requestParameters"] = None
        opt_ins = []
        named = [] if kind == "CreateTags" else named
    elif breakage == 7:  # lists not wrapped in {"items": [...]}, or items of the wrong type
        target = "resourcesSet" if kind == "CreateTags" else "tagSpecificationSet"
        detail["requestParameters"][target] = draw(st.one_of(WRONG_TYPE, st.just([{"resourceId": "pcx-1"}])))
        if kind == "CreateTags":
            named = []
        else:
            opt_ins = []
    elif breakage == 8:
        detail["responseElements"] = None
        if kind == "CreateVpcPeeringConnection":
            named = []
    elif breakage == 9:
        event["time"] = draw(st.sampled_from(["yesterday", "", "2026-13-40T99:00:00Z"]))
        refused_envelope = True

    expected_ids = sorted(set(named)) if not (refused_envelope or another_call) and any(opt_ins) else []
    return event, {"envelope": refused_envelope, "ids": expected_ids}


# -- the intake ---------------------------------------------------------------------------------------------

def test_fuzzed_cloudtrail_events_end_in_a_clean_refusal_or_a_correct_start(monkeypatch):
    with mock_aws(config=NO_EXECUTION):
        ec2 = boto3.client("ec2", region_name=REGION)
        ec2.create_vpc(CidrBlock="10.6.0.0/16")
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="peering-autopilot-PeeringStateMachine", roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", machine)
        leases = deploy.create_tables(boto3.client("dynamodb", region_name=REGION), template.stack_spec())
        monkeypatch.setenv("LEASE_TABLE", leases["LeaseTable"])  # the intake takes a lease before each start
        from peering import runtime

        runtime._clients.cache_clear()
        intake = handler("intake")
        seen = {"refused": 0, "started": 0}

        def stop_running() -> None:
            for execution in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])

        @FUZZ
        @given(case=events())
        def check(case: tuple[dict, dict]) -> None:
            event, expected = case
            stop_running()
            result = intake(copy.deepcopy(event), Context(function_name="peering-autopilot-IntakeFunction"))

            assert isinstance(result, dict) and isinstance(result.get("started"), list)
            running = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
            if not expected["ids"]:
                assert result["started"] == [] and not result.get("skipped"), result
                one_sentence(result["reason"])
                if expected["envelope"]:
                    assert result["reason"].startswith("The event is not a CloudTrail API call event")
                assert running == [], "a refused event started an execution"
                seen["refused"] += 1
            else:
                assert len(result["started"]) == len(expected["ids"]), (result, expected)
                names = sorted(arn.rsplit(":", 1)[-1] for arn in result["started"])
                assert sorted(n.rsplit("-", 1)[0] for n in names) == expected["ids"]
                assert sorted(e["name"] for e in running) == names
                for execution in running:
                    payload = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
                    assert payload["peeringId"] in expected["ids"]
                    assert payload["trigger"]["eventId"] == event["detail"]["eventID"]
                seen["started"] += 1

        check()
        assert seen["refused"] >= 40 and seen["started"] >= 40, seen  # both outcomes were really exercised


def test_a_peering_id_with_a_trailing_newline_is_refused_cleanly(monkeypatch):
    event = load_event("create-tags-peering.json")
    event["detail"]["requestParameters"]["resourcesSet"]["items"] = [{"resourceId": "pcx-0a1b2c3d4e5f60718\n"}]
    with mock_aws(config=NO_EXECUTION):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="peering-autopilot-PeeringStateMachine", roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", machine)
        from peering import runtime

        runtime._clients.cache_clear()
        result = handler("intake")(event, Context(function_name="peering-autopilot-IntakeFunction"))

        assert result["started"] == []
        one_sentence(result["reason"])
        assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


@pytest.mark.parametrize("field", ["eventName", "eventSource"])
def test_the_reason_never_echoes_raw_event_text(field):
    from peering.events import PeeringApiCallEvent, trigger_from

    event = load_event("create-tags-peering.json")
    event["detail"][field] = "Create\nTags" + "x" * 100_000
    reason = trigger_from(PeeringApiCallEvent.model_validate(event), TRIGGER).reason

    one_sentence(reason)


# -- every stage handler, fed random (mostly malformed) state ----------------------------------------------
# Input validation only: in an empty account nothing here can reach a peering. What each stage does with the
# documents the state machine really hands it is fuzzed per stage in tests/fault/test_fuzz_stages.py.

STAGES = ["inspect", "accept", "check_active", "plan_routes", "apply_routes", "dns", "prepare_probe", "probe",
          "verify", "report", "rollback"]
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
FIELDS = ["executionArn", "input", "inspection", "acceptance", "activation", "plan", "routes", "dns", "probe",
          "probeError", "verification", "rollback", "error", "side", "targets"]
SIDE = st.fixed_dictionaries({
    "side": st.sampled_from(["requester", "accepter", "middle"]), "vpcId": st.sampled_from(["vpc-1", ""]),
    "accountId": st.sampled_from([ACCOUNT, "", "999999999999"]), "region": st.sampled_from([REGION, "", "mars-1"]),
    "create": st.lists(st.fixed_dictionaries({"routeTableId": st.sampled_from(["rtb-1", ""]),
                                              "destination": st.sampled_from(["10.7.0.0/16", "::/0", "nope"])}),
                       max_size=2)})
PEERING = st.fixed_dictionaries({
    "peeringId": st.sampled_from(["pcx-0a1b2c3d4e5f60718", "pcx-1"]), "state": st.sampled_from(["active", "x"]),
    "requester": SIDE, "accepter": SIDE, "tags": st.dictionaries(st.sampled_from([TRIGGER, "x"]), st.text(max_size=5))})
STRUCTURED = {
    "executionArn": st.sampled_from(["arn:aws:states:us-east-1:123456789012:execution:m:pcx-1-a", "not-an-arn",
                                     "arn:aws:states:us-east-1:123456789012:execution:", ":execution:x"]),
    "inspection": st.fixed_dictionaries({"decision": st.sampled_from(["accept", "route", "refuse", "duplicate"]),
                                         "reason": st.text(max_size=10), "peering": st.one_of(st.none(), PEERING),
                                         "optedIn": st.booleans()}),
    "plan": st.fixed_dictionaries({"peeringId": st.just("pcx-1"), "requester": SIDE, "accepter": SIDE}),
    "error": st.fixed_dictionaries({"Error": st.text(max_size=10), "Cause": st.one_of(st.none(), JSON.map(json.dumps),
                                                                                       st.text(max_size=30))}),
    "probe": st.fixed_dictionaries({"applicable": st.booleans(), "reason": st.text(max_size=10),
                                    "targets": st.lists(st.fixed_dictionaries({
                                        "host": st.sampled_from(["10.7.1.4", "not-an-ip", "::1", ""]),
                                        "port": st.integers(-5, 70000)}), max_size=2),
                                    "sourceSubnetId": st.sampled_from(["subnet-1", ""])}),
}


@st.composite
def stage_inputs(draw: st.DrawFn) -> tuple[str, Any]:
    stage = draw(st.sampled_from(STAGES))
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return stage, draw(JSON)
    state: dict[str, Any] = {"peeringId": draw(st.one_of(PCX_IDS, NOT_PCX_IDS))}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        state[field] = draw(STRUCTURED[field]) if field in STRUCTURED and draw(st.booleans()) else draw(JSON)
    if stage == "apply_routes" and draw(st.booleans()):
        state["plan"] = draw(SIDE)
    return stage, state


def test_random_state_makes_every_stage_refuse_or_fail_with_the_projects_errors_in_one_line(monkeypatch):
    from peering import probe, runtime
    from peering.errors import PeeringError, Unexpected
    from peering.models import ProbeResult, ProbeTarget

    probed: list[str] = []

    def no_sockets(host: str, port: int, timeout: float) -> ProbeResult:  # never a packet off this machine
        probed.append(host)
        return ProbeResult(target=ProbeTarget(host=host, port=port), reachable=False, error="unreachable")

    monkeypatch.setattr(probe, "connector", no_sockets)
    with mock_aws(config=NO_EXECUTION):
        runtime._clients.cache_clear()
        handlers = {stage: handler(stage) for stage in STAGES}
        outcomes: dict[str, int] = {}

        @FUZZ
        @given(case=stage_inputs())
        def check(case: tuple[str, Any]) -> None:
            stage, state = case
            try:
                result = handlers[stage](copy.deepcopy(state), Context(function_name=stage))
            except PeeringError as e:
                one_sentence(str(e))
                assert not isinstance(e, Unexpected), f"{stage} hit a defect on {state!r}: {e}"
                outcomes[type(e).__name__] = outcomes.get(type(e).__name__, 0) + 1
            else:
                assert isinstance(result, dict)
                outcomes["returned"] = outcomes.get("returned", 0) + 1

        check()
        # both sides of validation are reached: many refusals, and some states that pass it and meet the stage's
        # own logic (a peering not found or not active, or a result). Which of those kinds come up is luck: with
        # --hypothesis-seed=1..20 there were 6 to 28 such cases, of two kinds in 3 runs and of three in 17.
        past_validation = sum(n for kind, n in outcomes.items() if kind != "InvalidInput")
        assert outcomes.get("InvalidInput", 0) > 50 and past_validation >= 3, outcomes
