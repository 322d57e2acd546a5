"""Settings from the environment and the run summary derived from the state document."""

import json

import pytest

from peering.config import Settings
from peering.errors import InvalidInput
from peering.models import Status, WorkflowState
from peering.workflow.report import summarize

PCX = "pcx-0123456789abcdef0"


def test_settings_default_to_the_stack_account_and_the_documented_defaults():
    s = Settings.from_env({"STACK_ACCOUNT_ID": "111111111111"})
    assert s.requester_allow_list == ("111111111111",)
    assert s.trigger_tag_key == "peering-automation/auto-accept"
    assert s.route_table_quota == 50 and s.enable_dns_resolution is True
    # safe defaults (issue 11): private and shared ranges only, both VPCs must consent by tag, fan-out of 10
    assert s.allowed_peer_cidrs == ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fd00::/8")
    assert s.consent_mode == "tag" and s.max_peerings_per_event == 10 and s.allow_shadowing is False
    assert s.allowed_taggers == ()


def test_settings_parse_lists_and_flags():
    s = Settings.from_env({"STACK_ACCOUNT_ID": "1", "ALLOWED_REQUESTER_ACCOUNTS": " 2, 3 ,", "ENABLE_DNS_RESOLUTION":
                           "false", "ALLOWED_PEER_CIDRS": "10.0.0.0/8", "ROUTE_TABLE_QUOTA": "100"})
    assert s.requester_allow_list == ("2", "3") and not s.enable_dns_resolution
    assert s.allowed_peer_cidrs == ("10.0.0.0/8",) and s.route_table_quota == 100


@pytest.mark.parametrize("env, fragment", [
    ({}, "STACK_ACCOUNT_ID"),
    ({"STACK_ACCOUNT_ID": "1", "ALLOWED_PEER_CIDRS": "10.0.0.0/33"}, "not a CIDR block"),
    ({"STACK_ACCOUNT_ID": "1", "ROUTE_TABLE_QUOTA": "fifty"}, "must be numbers"),
    ({"STACK_ACCOUNT_ID": "1", "MAX_PEERINGS_PER_EVENT": "0"}, "at least 1"),
    ({"STACK_ACCOUNT_ID": "1", "CONSENT_MODE": "anyone"}, "must be one of tag, account"),
])
def test_bad_settings_are_one_sentence_errors(env, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        Settings.from_env(env)


def lambda_error(error_type, message):
    return {"Error": error_type, "Cause": json.dumps({"errorMessage": message, "errorType": error_type})}


def test_summary_of_a_failed_run_takes_the_lambda_message_and_the_stage_that_did_not_finish():
    state = WorkflowState.model_validate({
        "peeringId": PCX, "inspection": {"decision": "route", "reason": "active", "optedIn": True},
        "error": lambda_error("RouteConflict", "Route table rtb-1 already sends 10.7.0.0/16 to igw-1."),
    })
    summary = summarize(state)
    assert summary.status is Status.FAILED
    assert summary.reason == "Route table rtb-1 already sends 10.7.0.0/16 to igw-1."
    assert summary.stage == "plan-routes"


def test_summary_of_a_refusal_is_rejected_with_the_inspection_reason():
    state = WorkflowState.model_validate({"peeringId": PCX, "inspection": {"decision": "refuse", "reason": "No."}})
    summary = summarize(state)
    assert (summary.status, summary.reason, summary.stage) == (Status.REJECTED, "No.", "inspect")


def test_failure_during_the_activation_wait_is_attributed_to_it():
    state = WorkflowState.model_validate({
        "peeringId": PCX, "inspection": {"decision": "accept", "reason": "pending"},
        "acceptance": {"acceptedNow": True, "peeringState": "provisioning"},
        "activation": {"state": "waiting", "attempt": 3, "peeringState": "provisioning"},
        "error": {"Error": "States.Timeout", "Cause": ""},
    })
    assert summarize(state).stage == "wait-active" and summarize(state).reason == "A stage timed out."


def test_a_state_without_a_valid_peering_id_is_rejected():
    with pytest.raises(ValueError):
        WorkflowState.model_validate({"peeringId": "vpc-123"})
