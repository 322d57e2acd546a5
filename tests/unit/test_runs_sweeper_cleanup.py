"""Pure decisions of the sweeper and the delete cleanup, and execution names and ARNs."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from peering import cleanup, runs, sweeper
from peering.records import Peering, Route, RouteTable, VpcSide
from tests.conftest import load_event

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:stack-PeeringStateMachine"


def run(name: str, seconds: float = 0, status: str = "RUNNING") -> runs.Run:
    arn = f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}"
    return runs.Run(arn=arn, name=name, status=status, start=T0 + timedelta(seconds=seconds))


def test_execution_names_give_the_peering_and_arns_give_the_state_machine():
    assert runs.peering_of("pcx-0a1b2c3d4e5f60718-3118c8ae20196b86") == "pcx-0a1b2c3d4e5f60718"
    assert runs.peering_of("pcx-0a1b2c3d4e5f60718-manual") == "pcx-0a1b2c3d4e5f60718"
    assert runs.peering_of("someone-elses-run") is None
    assert runs.state_machine_of(run("pcx-1-a").arn) == MACHINE
    assert runs.execution_arn(MACHINE, "pcx-1-a") == run("pcx-1-a").arn
    with pytest.raises(ValueError, match="is not a Step Functions execution ARN"):
        runs.state_machine_of(MACHINE)


def test_the_sweep_starts_only_peerings_without_a_running_or_real_succeeded_run():
    never = lambda r: False  # noqa: E731
    assert sweeper.start_decision("pcx-1", [], never) is None
    assert sweeper.start_decision("pcx-1", [run("pcx-1-a", 0, "FAILED")], never) is None
    assert "is already handling" in sweeper.start_decision("pcx-1", [run("pcx-1-a")], never)
    succeeded = [run("pcx-1-a", 0, "SUCCEEDED")]
    assert "already handled" in sweeper.start_decision("pcx-1", succeeded, never)
    assert sweeper.start_decision("pcx-1", succeeded, lambda r: True) is None, "a duplicate no-op does not count"


def test_the_sweep_decides_from_the_newest_run_and_asks_about_outputs_newest_first():
    """Runs come from ListExecutions in any order; the reason names the newest running or real run, and
    ``duplicate`` (a GetExecutionHistory/DescribeExecution per call) is asked newest first and no further."""
    asked: list[str] = []

    def real(r: runs.Run) -> bool:
        asked.append(r.name)
        return False

    succeeded = [run("pcx-1-old", 0, "SUCCEEDED"), run("pcx-1-new", 10, "SUCCEEDED"), run("pcx-2-x", 20, "SUCCEEDED")]
    assert sweeper.start_decision("pcx-1", succeeded, real) == "Execution pcx-1-new already handled pcx-1."
    assert asked == ["pcx-1-new"]
    running = [run("pcx-1-old"), run("pcx-1-new", 10), run("pcx-1-done", 20, "SUCCEEDED")]
    assert sweeper.start_decision("pcx-1", running, real) == "Execution pcx-1-new is already handling pcx-1."


def test_only_a_duplicate_runs_output_counts_as_a_no_op():
    assert sweeper.is_duplicate_output({"inspection": {"decision": "duplicate", "reason": "x"}})
    assert not sweeper.is_duplicate_output({"peeringId": "pcx-1", "status": "rejected"})
    assert not sweeper.is_duplicate_output(None)


def _peering(pcx: str, state: str) -> Peering:
    side = {"account_id": "123456789012", "region": "us-east-1"}
    return Peering(peering_id=pcx, state=state, requester=VpcSide(role="requester", vpc_id="vpc-a", **side),
                   accepter=VpcSide(role="accepter", vpc_id="vpc-b", **side))


def _table(rtb: str, *routes: tuple, skip: bool = False) -> RouteTable:
    """Routes as (destination, target) or (destination, target, state, origin)."""
    made = [Route(destination=r[0], target=r[1], **dict(zip(("state", "origin"), r[2:], strict=False)))
            for r in routes]
    return RouteTable(route_table_id=rtb, vpc_id="vpc-a", routes=made,
                      tags={"peering-automation/skip": "true"} if skip else {})


def test_dangling_peerings_are_only_the_targets_described_as_gone():
    tables = [_table("rtb-1", ("10.0.0.0/16", "local"), ("10.7.0.0/16", "pcx-dead"), ("10.8.0.0/16", "pcx-live")),
              _table("rtb-2", ("10.9.0.0/16", "pcx-vanished"), ("10.10.0.0/16", "pcx-going"), ("0.0.0.0/0", "igw-1"))]
    described = {"pcx-dead": _peering("pcx-dead", "deleted"), "pcx-live": _peering("pcx-live", "active"),
                 "pcx-going": _peering("pcx-going", "deleting")}
    # not described may be an eventual-consistency miss; deleting is not gone yet: neither is dangling
    assert sweeper.dangling(tables, described) == ["pcx-dead"]


def test_the_peerings_routes_point_at_are_the_pcx_targets_once_each_in_id_order():
    tables = [_table("rtb-1", ("10.0.0.0/16", "local"), ("10.7.0.0/16", "pcx-b"), ("0.0.0.0/0", "igw-1"),
                     ("10.9.0.0/16", None)),
              _table("rtb-2", ("10.8.0.0/16", "pcx-a"), ("10.7.0.0/16", "pcx-b"), ("10.1.0.0/16", "tgw-pcx-1"))]
    assert sweeper.peering_targets(tables) == ["pcx-a", "pcx-b"]


def test_cleanup_removes_only_blackholes_made_by_create_route_outside_opted_out_tables():
    tables = [_table("rtb-1", ("10.7.0.0/16", "pcx-1", "blackhole", "CreateRoute"), ("10.8.0.0/16", "pcx-2"),
                     ("10.7.1.0/24", "igw-1"),
                     ("10.9.0.0/16", "pcx-1", "active", "CreateRoute"),
                     ("10.10.0.0/16", "pcx-1", "blackhole", "EnableVgwRoutePropagation")),
              _table("rtb-2", ("10.7.0.0/16", "pcx-1", "blackhole", "CreateRoute"), skip=True)]
    assert cleanup.routes_to(tables, "pcx-1") == (
        [("rtb-1", "10.7.0.0/16")],
        [("rtb-1", "10.9.0.0/16"), ("rtb-1", "10.10.0.0/16"), ("rtb-2", "10.7.0.0/16")])
    assert [s for s in ("pending-acceptance", "active", "provisioning", "deleting") if cleanup.gone(s)] == []
    assert all(cleanup.gone(s) for s in ("deleted", "rejected", "expired", "failed"))


def test_a_peering_is_the_stacks_only_with_its_status_tag_and_an_execution_of_its_workflow():
    base = _peering("pcx-1", "deleted")
    mine = replace(base, tags={
        "peering-automation/status": "verified",
        "peering-automation/execution": "arn:aws:states:us-east-1:123456789012:execution:stack-Peering:pcx-1-ab"})
    assert cleanup.owned(mine, "stack-Peering")
    assert not cleanup.owned(mine, "other-stack-Peering")  # another stack's run
    assert not cleanup.owned(base, "stack-Peering")  # never tagged: a peering routed by hand
    assert not cleanup.owned(replace(base, tags={"peering-automation/execution": "x"}), None)


def test_the_delete_event_names_the_peering_and_failed_or_other_calls_are_refused_in_one_sentence():
    event = load_event("delete-peering.json")
    assert cleanup.peering_id_from_event(event) == ("pcx-0a1b2c3d4e5f60718", "deleted")
    event["detail"]["errorCode"] = "Client.InvalidVpcPeeringConnectionID.NotFound"
    assert cleanup.peering_id_from_event(event)[1] == (
        "The DeleteVpcPeeringConnection call failed (Client.InvalidVpcPeeringConnectionID.NotFound), "
        "so nothing was deleted.")
    assert cleanup.peering_id_from_event(load_event("create-tags-peering.json"))[1] == (
        "CreateTags from ec2.amazonaws.com is not DeleteVpcPeeringConnection.")
