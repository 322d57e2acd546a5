"""Handlers called directly, as Lambda would: bad input is one sentence and changes nothing."""

import importlib.util

import pytest

from peering.errors import InvalidInput
from peering.models import WorkflowState
from peering.stages import STAGES
from peering_tools import REPO_ROOT
from peering_tools.inprocess import Context


def handler(stage: str):
    spec = importlib.util.spec_from_file_location(f"handler_{stage}", REPO_ROOT / "functions" / stage / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture(autouse=True)
def _stack_env(monkeypatch):
    monkeypatch.setenv("STACK_ACCOUNT_ID", "123456789012")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")


@pytest.mark.parametrize("stage", [row.directory for row in STAGES if row.input is WorkflowState])
@pytest.mark.parametrize("event", [{}, {"peeringId": "vpc-123"}, {"peeringId": 7}, []])
def test_state_handlers_refuse_malformed_state_in_one_sentence(stage, event, aws):
    with pytest.raises(InvalidInput) as caught:
        handler(stage)(event, Context(function_name=stage))
    message = str(caught.value)
    assert message.startswith("The workflow state is malformed") and "\n" not in message


def test_apply_handler_refuses_a_chunk_of_an_unknown_side(aws):
    side = {"vpcId": "v", "accountId": "1", "region": "r", "create": 1}
    plan = {"peeringId": "pcx-1", "bucket": "b", "prefix": "runs/x/", "digest": "d", "chunks": 1, "chunkSize": 250,
            "manifest": "runs/x/chunks.json", "requester": {**side, "side": "requester"},
            "accepter": {**side, "side": "accepter", "create": 0}}
    event = {"peeringId": "pcx-1", "plan": plan, "chunk": {"side": "middle", "index": 0, "key": "runs/x/c.json"}}
    with pytest.raises(InvalidInput, match="The route request is malformed: chunk.side"):
        handler("apply_routes")(event, Context(function_name="apply_routes"))
    del event["chunk"]["side"]
    with pytest.raises(InvalidInput, match="The route request is malformed: chunk.side: Field required."):
        handler("apply_routes")(event, Context(function_name="apply_routes"))


def test_inspect_of_an_unknown_peering_is_retryable_not_found(aws):
    from peering.errors import PeeringNotFound

    with pytest.raises(PeeringNotFound, match="pcx-0000000000000000a was not found in us-east-1"):
        handler("inspect")({"peeringId": "pcx-0000000000000000a"}, Context(function_name="inspect"))


def test_a_defect_in_a_stage_is_wrapped_as_unexpected_with_a_sentence(aws, monkeypatch):
    from peering.errors import Unexpected
    from peering.workflow import verify

    monkeypatch.setattr(verify, "verify", lambda deps, state: {}["missing"])
    with pytest.raises(Unexpected, match=r"The verify stage failed unexpectedly \(KeyError: 'missing'\)\."):
        handler("verify")({"peeringId": "pcx-1"}, Context(function_name="verify"))


def test_report_for_a_vanished_peering_keeps_one_sentence_and_says_why_the_tag_is_missing(aws):
    import json

    from peering.config import Settings
    from peering.deps import Deps
    from peering.models import WorkflowState
    from peering.workflow.report import report

    state = WorkflowState.model_validate({"peeringId": "pcx-0000000000000000b", "error": {
        "Error": "PeeringNotFound",
        "Cause": json.dumps({"errorMessage": "Peering pcx-0000000000000000b was not found in us-east-1."})}})
    deps = Deps.of(Settings(stack_account_id="123456789012"), region="us-east-1", metric=lambda name, value: None)
    summary = report(deps, state)
    assert summary.reason == "Peering pcx-0000000000000000b was not found in us-east-1."
    assert "pcx-0000000000000000b is not visible to EC2" in summary.status_tag_error
