"""The pure half of `peering executions`: describe_execution + history -> row, timeline, outcome.

The inputs are histories of runs of the CURRENT workflow made in this test session (the ``runs``
fixture, tests/cli/workflow_runs.py), so they cannot go stale when the ASL changes. Ids are random;
expectations are read from independent parts of the same history (the raw Inspect and PlanRoutes
events), from the ASL, or from the stage table - never hard-coded.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from peering import stages
from peering.models import Inspection, Verification
from peering_tools import executions as x
from peering_tools.executions import model, notes

ASL = json.loads((Path(__file__).resolve().parents[2] / "statemachine" / "peering.asl.json").read_text())
VERIFIED_PATH = ["Init", "Inspect", "Decide", "Accept", "AcceptedActive", "PlanRoutes", "ApplyRoutes", "ConfigureDns",
                 "PrepareProbe", "ProbeApplicable", "ProbeEachSide", "Verify", "Report", "Outcome", "Done"]
"""The path a tagged, same-account request takes when moto's accept returns the peering active at once."""


def lambda_result(events: list[dict], state: str) -> dict:
    """The output recorded when ``state`` exited (read straight from the events, not through the module)."""
    return json.loads(next(e for e in events if e.get("stateExitedEventDetails", {}).get("name") == state)[
        "stateExitedEventDetails"]["output"])


def by_state(timeline: list[x.TimelineEntry]) -> dict[str, x.TimelineEntry]:
    return {t.state: t for t in timeline}


def assert_one_sentence(text: str) -> None:
    assert text and "\n" not in text
    assert not text.lstrip().startswith(("{", "[")), text
    assert "Traceback" not in text and "stackTrace" not in text and "errorType" not in text


# -- a verified run (the seed, probe attached to VPC A) ---------------------------------------------
def test_verified_timeline_lists_every_state_in_order_with_the_inline_map_items_nested(runs):
    timeline = x.timeline_from(runs["verified"].events)

    assert [t.state for t in timeline if t.depth == 0] == VERIFIED_PATH
    assert x.detail_from(runs["verified"].describe, runs["verified"].events).path == VERIFIED_PATH
    nested = {t.state for t in timeline if t.depth == 1}
    # the probe's inline Map is in the history; ApplyRoutes' Distributed Map runs its items as child executions
    assert nested == {"Probe", "ProbeDone", "ProbeFinished"}, nested
    assert all(t.result == "ok" and t.exited_at is not None and t.duration_seconds >= 0 for t in timeline)
    tasks = [t for t in timeline if t.kind == "Task"]
    assert tasks and all(len(t.attempts) == 1 and t.retries == 0 for t in tasks)
    assert by_state(timeline)["Decide"].note == "-> Accept"
    assert by_state(timeline)["AcceptedActive"].note == "-> PlanRoutes"
    assert by_state(timeline)["ApplyRoutes"].note == "2 chunk(s) applied"
    assert by_state(timeline)["PlanRoutes"].note == "2 route(s) to create in 2 chunk(s), 0 already in place"


@pytest.mark.parametrize("scenario", ["verified", "rejected", "failed", "retried", "unverified"])
def test_every_task_is_labelled_by_the_stage_table_and_its_result_read_with_the_rows_model(runs, scenario):
    timeline = x.timeline_from(runs[scenario].events)
    tasks = [t for t in timeline if t.kind == "Task"]

    assert tasks
    for entry in tasks:
        row = stages.for_state(entry.state)
        assert row is not None and entry.stage == row.name
        if entry.error is None:
            assert isinstance(entry.stage_result, row.result), entry.state
            assert entry.note == notes.note(entry.stage_result) and entry.note
        else:
            assert entry.stage_result is None
    assert all(t.stage is None and t.stage_result is None for t in timeline if t.kind != "Task")


def test_every_result_model_of_the_stage_table_has_a_timeline_note():
    models = {row.result for row in stages.STAGES if row.result is not None}
    assert models <= set(notes.note.registry), models - set(notes.note.registry)


def test_a_renamed_field_in_a_stage_result_is_refused_in_one_sentence_naming_the_state(runs):
    events = copy.deepcopy(runs["verified"].events)
    inspect_done = next(e for e in events if e["type"] == "LambdaFunctionSucceeded"
                        and "decision" in e["lambdaFunctionSucceededEventDetails"]["output"])
    details = inspect_done["lambdaFunctionSucceededEventDetails"]
    details["output"] = details["output"].replace('"decision"', '"verdict"')

    with pytest.raises(x.Unreadable) as refused:
        x.timeline_from(events)

    assert_one_sentence(str(refused.value))
    assert "The result of Inspect" in str(refused.value) and "Inspection" in str(refused.value)
    assert "decision" in str(refused.value)


def test_a_renamed_optional_field_deep_in_a_result_is_refused_too(runs):
    events = copy.deepcopy(runs["unverified"].events)
    verify_done = next(e for e in events if e["type"] == "LambdaFunctionSucceeded"
                       and '"paths"' in e["lambdaFunctionSucceededEventDetails"]["output"])
    details = verify_done["lambdaFunctionSucceededEventDetails"]
    details["output"] = details["output"].replace('"hops"', '"steps"')  # hops has a default: pydantic ignores it

    with pytest.raises(x.Unreadable, match=r"The result of Verify .*Verification \(unknown field paths\.0\.steps"):
        x.timeline_from(events)


def test_verified_outcome_counts_the_routes_the_plan_asked_for_and_gives_a_verdict_per_flow(runs):
    run = runs["verified"]
    plan = lambda_result(run.events, "PlanRoutes")["plan"]
    planned = sum(plan[side]["create"] for side in ("requester", "accepter"))

    outcome = x.outcome_from(run.describe, run.events)

    assert outcome.status == "verified" and outcome.stage == stages.VERIFY.name
    assert outcome.routes_created == planned == 2
    assert outcome.details == f"s3://{plan["bucket"]}/{plan["prefix"]}" and run.describe["executionArn"].endswith(
        plan["prefix"].split("/")[1])
    assert f"route details: {outcome.details}" in x.show_lines(x.detail_from(run.describe, run.events))
    assert outcome.routes_removed == 0 and outcome.rollback_ran is False
    assert outcome.dns.enabled is True and outcome.dns.sides == {"requester": True, "accepter": True}
    assert isinstance(outcome.verification, Verification)
    assert outcome.verification.performed and outcome.verification.reachable
    assert outcome.verification.paths and all(p.reachable and p.hops for p in outcome.verification.paths)
    assert outcome.error is None and outcome.cause is None


def test_verified_row_comes_from_describe_alone(runs):
    run = runs["verified"]
    inspected = lambda_result(run.events, "Inspect")["inspection"]["peering"]
    assert not x.needs_history(run.describe)

    row = x.row_from(run.describe)

    assert row.peering_id == inspected["peeringId"] == run.peering_id
    assert row.requester == x.VpcRef(vpc_id=inspected["requester"]["vpcId"],
                                     account_id=inspected["requester"]["accountId"],
                                     region=inspected["requester"]["region"])
    assert row.accepter.vpc_id == inspected["accepter"]["vpcId"]
    assert (row.status, row.stage, row.execution_status) == ("verified", "verify", "SUCCEEDED")
    stop, start = run.describe["stopDate"], run.describe["startDate"]
    assert row.duration_seconds == pytest.approx((stop - start).total_seconds())
    wire = row.wire()
    assert set(wire) == {"peeringId", "requester", "accepter", "status", "stage", "startDate", "durationSeconds",
                         "executionArn", "executionStatus"}
    assert set(wire["requester"]) == {"vpcId", "accountId", "region"}
    json.dumps(wire)


# -- refused: the request does not carry the trigger tag -------------------------------------------
def test_untagged_request_is_rejected_at_inspect_and_goes_straight_to_the_report(runs):
    run = runs["rejected"]
    detail = x.detail_from(run.describe, run.events)

    assert [t.state for t in detail.timeline] == ["Init", "Inspect", "Decide", "Report", "Outcome", "Done"]
    assert by_state(detail.timeline)["Decide"].note == "-> Report"
    inspect = by_state(detail.timeline)["Inspect"]
    assert isinstance(inspect.stage_result, Inspection) and inspect.note.startswith("refuse: ")
    assert (detail.status, detail.stage) == ("rejected", stages.INSPECT.name)
    assert detail.outcome.routes_created == 0 and detail.outcome.cause is None
    assert "auto-accept" in detail.outcome.reason


# -- failed: a conflicting route makes PlanRoutes raise RouteConflict ------------------------------
def test_failed_run_shows_the_caught_error_the_rollback_and_the_fail_state(runs):
    timeline = x.timeline_from(runs["failed"].events)
    states = by_state(timeline)

    assert [t.state for t in timeline][-4:] == ["PlanRoutes", "Rollback", "ReportFailure", "Failed"]
    plan = states["PlanRoutes"]
    assert plan.result == "caught" and plan.error.error == "RouteConflict" and plan.retries == 0
    assert_one_sentence(plan.error.message)
    assert states["Rollback"].result == "ok" and states["Rollback"].note.startswith("removed 0 route(s)")
    assert states["Failed"].result == "failed" and states["Failed"].note == "PeeringFailed"
    assert "ApplyRoutes" not in states


def test_failed_run_cause_is_one_sentence_naming_the_conflict(runs):
    run = runs["failed"]
    outcome = x.outcome_from(run.describe, run.events)

    assert (outcome.status, outcome.stage, outcome.error) == ("failed", stages.PLAN_ROUTES.name, "PeeringFailed")
    assert "already sends 10.7.0.0/16" in outcome.cause
    assert_one_sentence(outcome.cause)
    assert outcome.rollback_ran is True and outcome.routes_created == 0 and outcome.routes_removed == 0


def test_failed_row_takes_the_vpcs_from_the_newest_events_only(runs):
    run = runs["failed"]
    inspected = lambda_result(run.events, "Inspect")["inspection"]["peering"]
    assert x.needs_history(run.describe)

    row = x.row_from(run.describe, run.events[-5:])  # what a bounded, reverse-order read returns

    assert (row.status, row.stage, row.execution_status) == ("failed", "plan-routes", "FAILED")
    assert row.requester.vpc_id == inspected["requester"]["vpcId"]
    assert row.accepter.vpc_id == inspected["accepter"]["vpcId"]


# -- retried: the peering does not exist, PeeringNotFound is retried then caught --------------------
def test_retries_are_visible_as_attempts_of_one_state(runs):
    run = runs["retried"]
    inspect = by_state(x.timeline_from(run.events))["Inspect"]
    retry = next(r for r in ASL["States"]["Inspect"]["Retry"] if "PeeringNotFound" in r["ErrorEquals"])

    assert len(inspect.attempts) == retry["MaxAttempts"] + 1 and inspect.retries == retry["MaxAttempts"]
    assert {a.error for a in inspect.attempts} == {"PeeringNotFound"}
    assert inspect.result == "caught"
    assert_one_sentence(inspect.error.message)
    row = x.row_from(run.describe, run.events)
    assert row.peering_id == run.peering_id and row.requester is None and row.stage == stages.INSPECT.name


# -- unverified: routed, but a security group blocks: the verdict per flow names it ----------------
def test_unverified_run_keeps_its_routes_and_names_the_blocking_security_group(runs):
    run = runs["unverified"]
    detail = x.detail_from(run.describe, run.events)
    outcome = detail.outcome

    assert detail.timeline[-1].state == "VerificationFailed" and detail.timeline[-1].result == "failed"
    assert (detail.status, detail.stage, outcome.error) == ("failed", stages.VERIFY.name, "VerificationFailed")
    assert outcome.routes_created == 2 and outcome.rollback_ran is False
    blocked = [p for p in outcome.verification.paths if not p.reachable]
    assert blocked and run.network.sg_b in blocked[0].reason and "tcp/22" in blocked[0].reason
    assert outcome.cause == notes.one_line(blocked[0].reason)
    lines = x.show_lines(detail)
    assert f"  {blocked[0].source} -> {blocked[0].destination}: blocked" in lines


# -- a run still going (a real history, cut in the middle of the ApplyRoutes Map) --------------------
def test_running_execution_is_reported_running_with_the_stage_it_reached(runs):
    run = runs["verified"]
    entered = next(e["id"] for e in run.events if e["type"] == "MapStateEntered"
                   and e["stateEnteredEventDetails"]["name"] == "ApplyRoutes")
    events = [e for e in run.events if e["id"] <= entered + 1]
    describe = {k: v for k, v in run.describe.items() if k not in ("output", "outputDetails", "stopDate")}
    describe["status"] = "RUNNING"
    now = describe["startDate"] + timedelta(seconds=42)

    detail = x.detail_from(describe, events, now=now)

    assert (detail.status, detail.stage) == ("RUNNING", stages.PLAN_ROUTES.name)
    assert detail.duration_seconds == pytest.approx(42)
    assert detail.requester is not None
    running = [t.state for t in detail.timeline if t.result == "running"]
    assert "ApplyRoutes" in running and detail.timeline[-1].duration_seconds is None
    assert detail.outcome.cause is None


# -- helpers ---------------------------------------------------------------------------------------
def test_error_sentences_come_from_the_layers_failure_sentence_on_one_line():
    payload = json.dumps({"errorMessage": "Route table rtb-1 already sends\n 10.7.0.0/16 to igw-1.",
                          "errorType": "RouteConflict", "stackTrace": ["  File \"x.py\", line 1\n"]})
    assert model.sentence("RouteConflict", payload) == "Route table rtb-1 already sends 10.7.0.0/16 to igw-1."
    assert model.sentence("States.Timeout", None) == "A stage timed out."
    assert model.sentence("Boom", "two\n  lines") == "two lines"
    assert len(model.sentence("Boom", "word " * 500)) <= 400


@pytest.mark.parametrize("scenario", ["verified", "rejected", "failed", "retried", "unverified"])
def test_renderings_carry_the_same_facts(runs, scenario):
    run = runs[scenario]
    detail = x.detail_from(run.describe, run.events)
    plain = "\n".join(x.show_lines(detail))
    console = Console(file=StringIO(), width=250, color_system=None)
    x.print_show_rich(detail, console)
    console.print(x.list_table([detail.row], "executions"))
    rich = console.file.getvalue()

    for text in (plain, rich):
        assert detail.peering_id in text and detail.status in text
        assert all(t.state in text for t in detail.timeline)
    shown = json.loads(json.dumps(detail.wire()))
    assert [t["state"] for t in shown["timeline"]] == [t.state for t in detail.timeline]
    assert {"state", "type", "depth", "enteredAt", "exitedAt", "durationSeconds", "result", "retries", "attempts",
            "note", "stage", "stageResult"} == set(shown["timeline"][0])
    assert x.list_lines([detail.row])[1].split("\t")[:4] == [
        detail.peering_id, str(detail.requester or "-"), str(detail.accepter or "-"), detail.status]
