"""The console's graph of the deployed state machine and the path a run took through it (pure)."""

from __future__ import annotations

import hashlib
import json

from peering_tools import REPO_ROOT
from peering_tools.console.graph import END, START, asl_graph, run_path
from peering_tools.console.server import STATIC

ASL = json.loads((REPO_ROOT / "statemachine" / "peering.asl.json").read_text())
DAGRE = STATIC / "vendor" / "dagre-3.1.3.min.js"
DAGRE_SHA256 = "54a503e346f93ca0bb10abe7999587e037262935687aca45eb4e4b0f64bbb578"


def entry(state: str, result: str = "ok", depth: int = 0, kind: str = "Task") -> dict:
    return {"state": state, "result": result, "depth": depth, "type": kind}


def test_every_state_of_the_definition_is_a_node_and_item_states_sit_in_their_map():
    graph = asl_graph(ASL)
    nodes = {n["id"]: n for n in graph["nodes"]}
    top = set(ASL["States"])
    branch = {name for state in ASL["States"].values() for b in state.get("Branches", []) for name in b["States"]}
    parents = {name: map_name for map_name, state in ASL["States"].items() if state["Type"] == "Map"
               for name in state["ItemProcessor"]["States"]}
    assert {"ApplyChunk": "ApplyRoutes", "Probe": "ProbeEachSide"}.items() <= parents.items()
    assert all(nodes[n]["parent"] == parent for n, parent in parents.items())
    assert set(nodes) == top | branch | set(parents) | {START, END}
    assert nodes["ApplyChunk"]["start"] and nodes["ApplyChunk"]["end"]  # each item is one Task
    assert all(nodes[n]["parent"] is None for n in top)


def test_edges_cover_next_choices_default_and_catch_once_per_target():
    graph = asl_graph(ASL)
    edges = {(e["from"], e["to"]): e["kind"] for e in graph["edges"]}
    assert edges[(START, ASL["StartAt"])] == "start"
    assert edges[("Inspect", "Rollback")] == "catch"
    assert edges[("Decide", "AlreadyHandled")] == "choice"
    assert ("ProbeEachSide", "Verify") in edges and ("ProbeDone", "WaitBeforeProbe") in edges
    assert ("ProbeDone", "ProbeFinished") in edges  # inside the Map, drawn once as its child
    assert edges[("Done", END)] == "end" and edges[("Failed", END)] == "end"
    pairs = [(e["from"], e["to"]) for e in graph["edges"]]
    assert len(pairs) == len(set(pairs)), "one arrow per (state, target)"
    for name, state in ASL["States"].items():  # every transition the definition names is drawn
        targets = {state.get("Next"), state.get("Default")} | {c.get("Next") for c in state.get("Choices", [])} \
            | {c.get("Next") for c in state.get("Catch", [])}
        assert {t for t in targets if t} == {to for (frm, to) in pairs if frm == name and to != END}, name


def test_a_run_that_fails_in_plan_routes_colours_its_path_and_leaves_the_rest_not_run():
    graph = asl_graph(ASL)
    timeline = [entry("Init", kind="Pass"), entry("Inspect"), entry("Decide", kind="Choice"), entry("Accept"),
                entry("AcceptedActive", kind="Choice"), entry("PlanRoutes", "caught"), entry("Rollback"),
                entry("ReportFailure"), entry("Failed", "failed", kind="Fail")]

    path = run_path(graph, timeline, "FAILED")

    assert path["states"]["PlanRoutes"] == "caught" and path["states"]["Failed"] == "failed"
    assert path["states"][END] == "failed"
    assert "ApplyRoutes" not in path["states"] and "Verify" not in path["states"]
    taken = [(e["from"], e["to"]) for e in path["edges"]]
    assert taken == [(START, "Init"), ("Init", "Inspect"), ("Inspect", "Decide"), ("Decide", "Accept"),
                     ("Accept", "AcceptedActive"), ("AcceptedActive", "PlanRoutes"), ("PlanRoutes", "Rollback"),
                     ("Rollback", "ReportFailure"), ("ReportFailure", "Failed"), ("Failed", END)]


def test_a_polling_loop_counts_visits_and_a_map_links_around_its_items():
    graph = asl_graph(ASL)
    timeline = [entry("Init"), entry("Inspect"), entry("Decide"), entry("WaitForActive", kind="Wait"),
                entry("CheckActive"), entry("IsActive"), entry("WaitForActive", kind="Wait"), entry("CheckActive"),
                entry("IsActive"), entry("PlanRoutes"), entry("ApplyRoutes", kind="Map"), entry("ConfigureDns"),
                entry("PrepareProbe", "running")]  # the Distributed Map's items are child executions: not here

    path = run_path(graph, timeline, "RUNNING")

    assert path["visits"]["WaitForActive"] == 2 and path["visits"]["CheckActive"] == 2
    assert path["states"]["PrepareProbe"] == "running" and END not in path["states"]
    taken = {(e["from"], e["to"]) for e in path["edges"]}
    assert ("IsActive", "WaitForActive") in taken and ("IsActive", "PlanRoutes") in taken
    assert ("ApplyRoutes", "ConfigureDns") in taken
    assert not any("ApplyChunk" in (frm, to) for (frm, to) in taken), \
        "the items' arrows are drawn by the page from the Map, not from the timeline"
    assert not any(to == END for (_, to) in taken)


def test_the_vendored_dagre_is_the_published_file():
    assert hashlib.sha256(DAGRE.read_bytes()).hexdigest() == DAGRE_SHA256


def test_task_nodes_carry_their_row_of_the_stage_table():
    nodes = {n["id"]: n for n in asl_graph(ASL)["nodes"]}
    assert (nodes["PlanRoutes"]["stage"], nodes["PlanRoutes"]["function"]) == ("plan-routes", "PlanRoutesFunction")
    assert nodes["ApplyChunk"]["stage"] == "apply-routes"
    assert nodes["Decide"]["stage"] is None  # a Choice runs no function
    tasks = [n for n in nodes.values() if n["type"] == "Task"]
    assert tasks and all(n["stage"] for n in tasks), "every Task state is in peering.stages"
