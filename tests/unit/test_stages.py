"""The stage table (peering.stages) agrees with the ASL, the template, functions/ and the handlers.

``disagreements`` lists every mismatch as a sentence; the real files must give none, and each kind of
drift (a Task with no row, a row with no Task or function, a function directory with no row, a handler
passing another label, a ResultPath that is not the row's key) is shown to be caught on a copy.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
from pathlib import Path

import pytest

from peering import stages
from peering.models import WorkflowState
from peering.stages import STAGES, Stage
from peering_tools import template

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachine" / "peering.asl.json"
FUNCTIONS = ROOT / "functions"
STATE_MACHINE = "PeeringStateMachine"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def task_states(definition: dict, parallel: tuple[str, dict] | None = None):
    """(name, state, enclosing Parallel or Map (name, state) or None) for every Task, branches and Map item
    processors included."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            yield name, state, parallel
        for branch in state.get("Branches", []):
            yield from task_states(branch, (name, state))
        if state["Type"] == "Map":
            yield from task_states(state["ItemProcessor"], (name, state))


def handler_label(source: str) -> str | None:
    """The row a handler names in ``runtime.run(stages.<ROW>.name, ...)`` (None: something else)."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "runtime"):
            first = node.args[0] if node.args else None
            if (isinstance(first, ast.Attribute) and first.attr == "name" and isinstance(first.value, ast.Attribute)
                    and isinstance(first.value.value, ast.Name) and first.value.value.id == "stages"):
                row = getattr(stages, first.value.attr, None)
                return row.name if isinstance(row, Stage) else f"<no row {first.value.attr}>"
            return None
    return None


def handler_input(source: str) -> str | None:
    """The model a handler parses its event with: ``runtime.parse_state(...)`` is WorkflowState,
    ``runtime.parse(<Model>, ...)`` names it (None: neither call)."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "runtime"):
            if node.func.attr == "parse_state":
                return WorkflowState.__name__
            if node.func.attr == "parse" and node.args and isinstance(node.args[0], ast.Name):
                return node.args[0].id
    return None


def disagreements(asl: dict, cfn: dict, handlers: dict[str, str], table: tuple[Stage, ...]) -> list[str]:
    """Every way the ASL, the template's resources, the handlers (directory -> app.py source) and the
    table disagree, one sentence each."""
    problems: list[str] = []
    by_state = {state: row for row in table for state in row.states}
    functions = {k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    tasks = {name: (state, parallel) for name, state, parallel in task_states(asl)}
    document_keys = {info.alias or name for name, info in WorkflowState.model_fields.items()}

    for name, (state, parallel) in tasks.items():
        row = by_state.get(name)
        if row is None:
            problems.append(f"Task {name} has no row in the stage table.")
            continue
        if row.by_name:
            if state.get("Resource") != LAMBDA_INVOKE or "FunctionName.$" not in state.get("Parameters", {}):
                problems.append(f"Task {name} does not invoke its function by name, as its row says.")
            selected = {k.removesuffix(".$") for k in state.get("Parameters", {}).get("Payload", {})}
        elif state.get("Resource") != f"${{{row.arn_substitution}}}":
            problems.append(f"Task {name} invokes {state.get('Resource')}, its row says ${{{row.arn_substitution}}}.")
        if not row.by_name:
            selected = {k.removesuffix(".$") for k in state.get("Parameters", {})}
        if row.input is WorkflowState and selected:
            problems.append(f"Task {name} passes only {sorted(selected)}, its row says the whole state document.")
        elif row.input is not WorkflowState and row.input is not None and selected != {
                info.alias or field for field, info in row.input.model_fields.items()}:
            problems.append(f"Task {name} passes {sorted(selected)}, not the fields of {row.input.__name__}.")
        result_path = parallel[1].get("ResultPath") if parallel else state.get("ResultPath")
        if result_path != f"$.{row.key}":
            problems.append(f"Task {name} puts its result at {result_path}, its row says $.{row.key}.")
    for row in table:
        problems += [f"Row {row.name} names state {s}, which is not a Task of the ASL." for s in row.states
                     if s not in tasks]
        if row.function not in functions:
            problems.append(f"Row {row.name} names function {row.function}, which the template does not define.")
        elif functions[row.function]["Properties"].get("CodeUri") != f"functions/{row.directory}/":
            problems.append(f"Row {row.name}: {row.function}'s CodeUri is not functions/{row.directory}/.")
        if row.directory not in handlers:
            problems.append(f"Row {row.name} names functions/{row.directory}/, which has no app.py.")
        elif handler_label(handlers[row.directory]) != row.name:
            problems.append(f"functions/{row.directory}/app.py does not pass stages.<row>.name of row {row.name}.")
        if row.directory in handlers and handler_input(handlers[row.directory]) != (
                row.input.__name__ if row.input else None):
            problems.append(f"functions/{row.directory}/app.py does not parse its event as "
                            f"{row.input.__name__ if row.input else 'the function module does'}.")
        if row.states and (row.result is None or row.key is None):
            problems.append(f"Row {row.name} is in the workflow but has no result model or key.")
        if row.key and row.key not in document_keys and row is not stages.REPORT:
            problems.append(f"Row {row.name} writes {row.key}, which WorkflowState does not read.")
    rows_by_function = {row.function for row in table}
    problems += [f"Function {f} has no row in the stage table." for f in functions if f not in rows_by_function]
    problems += [f"functions/{d}/ has no row in the stage table." for d in handlers
                 if d not in {row.directory for row in table}]
    substitutions = cfn["Resources"][STATE_MACHINE]["Properties"].get("DefinitionSubstitutions", {})
    used = {row.arn_substitution for row in table if row.states and not row.by_name}
    problems += [f"DefinitionSubstitutions has {k}, no workflow row uses it." for k in substitutions
                 if k.endswith("FunctionArn") and k not in used]
    problems += [f"No DefinitionSubstitutions entry for {k}." for k in sorted(used - substitutions.keys())]
    for attribute in ("name", "directory", "function"):
        values = [getattr(row, attribute) for row in table]
        problems += [f"Two rows share the {attribute} {v}." for v in sorted({v for v in values if values.count(v) > 1})]
    return problems


@pytest.fixture(scope="module")
def real() -> tuple[dict, dict, dict[str, str]]:
    handlers = {p.parent.name: p.read_text() for p in FUNCTIONS.glob("*/app.py")}
    return json.loads(ASL.read_text()), template.load(), handlers


def test_the_asl_the_template_the_handlers_and_the_table_agree(real):
    assert disagreements(*real, STAGES) == []


def test_a_task_state_without_a_row_is_caught(real):
    asl, cfn, handlers = real
    asl = copy.deepcopy(asl)
    asl["States"]["Audit"] = {**asl["States"]["Verify"], "Resource": "${AuditFunctionArn}"}
    assert "Task Audit has no row in the stage table." in disagreements(asl, cfn, handlers, STAGES)


def test_a_row_without_its_task_or_its_function_is_caught(real):
    asl, cfn, handlers = real
    extra = Stage("audit", "audit", "AuditFunction", ("Audit",), stages.VERIFY.result, "verification")
    found = disagreements(asl, cfn, handlers, (*STAGES, extra))
    assert "Row audit names state Audit, which is not a Task of the ASL." in found
    assert "Row audit names function AuditFunction, which the template does not define." in found
    assert "Row audit names functions/audit/, which has no app.py." in found
    assert "No DefinitionSubstitutions entry for AuditFunctionArn." in found


def test_a_function_or_a_directory_without_a_row_is_caught(real):
    asl, cfn, handlers = real
    table = tuple(row for row in STAGES if row is not stages.CLEANUP)
    found = disagreements(asl, cfn, {**handlers, "audit": "x = 1\n"}, table)
    assert "Function CleanupFunction has no row in the stage table." in found
    assert "functions/cleanup/ has no row in the stage table." in found
    assert "functions/audit/ has no row in the stage table." in found


def test_a_handler_passing_a_literal_or_another_rows_label_is_caught(real):
    asl, cfn, handlers = real
    literal = handlers["verify"].replace("stages.VERIFY.name", '"verify"')
    other = handlers["verify"].replace("stages.VERIFY.name", "stages.REPORT.name")
    for source in (literal, other):
        assert "functions/verify/app.py does not pass stages.<row>.name of row verify." in disagreements(
            asl, cfn, {**handlers, "verify": source}, STAGES)


def test_a_result_path_or_a_substitution_that_moved_is_caught(real):
    asl, cfn, handlers = real
    asl = copy.deepcopy(asl)
    asl["States"]["PlanRoutes"]["ResultPath"] = "$.routePlan"
    asl["States"]["Verify"]["Resource"] = "${ReportFunctionArn}"
    found = disagreements(asl, cfn, handlers, STAGES)
    assert "Task PlanRoutes puts its result at $.routePlan, its row says $.plan." in found
    assert "Task Verify invokes ${ReportFunctionArn}, its row says ${VerifyFunctionArn}." in found
    renamed = tuple(dataclasses.replace(row, key="planned") if row is stages.PLAN_ROUTES else row for row in STAGES)
    assert "Row plan-routes writes planned, which WorkflowState does not read." in disagreements(
        json.loads(ASL.read_text()), cfn, handlers, renamed)


def test_for_state_maps_task_states_to_rows_and_nothing_else():
    assert stages.for_state("CheckActive") is stages.WAIT_ACTIVE
    assert stages.for_state("ApplyChunk") is stages.APPLY_ROUTES
    assert stages.for_state("ReportFailure") is stages.REPORT
    assert stages.for_state("ApplyRoutes") is None and stages.for_state("Decide") is None


def test_the_forward_path_is_in_table_order_and_each_row_first_writes_its_key():
    order = [row for row in STAGES if row in stages.FORWARD]
    assert list(stages.FORWARD) == order
    keys = [row.key for row in stages.FORWARD]
    assert len(keys) == len(set(keys))


def test_a_task_that_passes_other_fields_than_its_rows_input_is_caught(real):
    asl, cfn, handlers = real
    asl = copy.deepcopy(asl)
    asl["States"]["Verify"]["Parameters"] = {"peeringId.$": "$.peeringId"}
    item = asl["States"]["ApplyRoutes"]["ItemProcessor"]["States"]["ApplyChunk"]
    item["Parameters"] = {"peeringId.$": "$.peeringId", "sidePlan.$": "$.plan.requester"}
    found = disagreements(asl, cfn, handlers, STAGES)
    assert "Task Verify passes only ['peeringId'], its row says the whole state document." in found
    assert "Task ApplyChunk passes ['peeringId', 'sidePlan'], not the fields of ApplyRequest." in found
    parsed_other = handlers["probe"].replace("runtime.parse(ProbeRequest,", "runtime.parse(ApplyRequest,")
    assert "functions/probe/app.py does not parse its event as ProbeRequest." in disagreements(
        json.loads(ASL.read_text()), cfn, {**handlers, "probe": parsed_other}, STAGES)


def test_how_far_a_run_got_is_named_by_the_stage_table():
    side = {"vpcId": "vpc-1", "accountId": "123456789012", "region": "us-east-1", "create": 1}
    document = {"peeringId": "pcx-1", "inspection": {"decision": "accept", "reason": "pending."},
                "acceptance": {"acceptedNow": True, "peeringState": "active"},
                "plan": {"peeringId": "pcx-1", "bucket": "b", "prefix": "runs/x/", "digest": "0" * 64, "chunks": 2,
                         "chunkSize": 250, "manifest": "runs/x/chunks.json",
                         "requester": {"side": "requester", **side}, "accepter": {"side": "accepter", **side}},
                "routes": {"chunks": 2},
                "dns": {"enabled": True}}
    state = WorkflowState.model_validate(document)
    assert (state.stage_reached(), state.failed_stage()) == (stages.DNS.name, stages.PREPARE_PROBE.name)
    awaiting = WorkflowState.model_validate({**document, "inspection": {"decision": "await", "reason": "."},
                                             "acceptance": None, "plan": None, "routes": None, "dns": None})
    assert (awaiting.stage_reached(), awaiting.failed_stage()) == (stages.INSPECT.name, stages.WAIT_ACTIVE.name)
    labels = {name for name, _ in state._path()}
    assert labels <= {row.name for row in stages.FORWARD}
