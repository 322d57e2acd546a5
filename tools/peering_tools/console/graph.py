"""The state machine as a graph, and the path one execution took through it (pure: no I/O).

``asl_graph`` reads an ASL definition (the one the emulator deployed) into nodes and edges, with the
states of a Parallel's branches, and of a Map's item processor, as children of the Parallel or Map.
``run_path`` colours it the way the Step Functions console does: each state succeeded, caught (a task
failed and a Catch moved on), failed, running or not run, and each transition the run took.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from peering.stages import STAGES

START, END = "__start__", "__end__"
"""Pseudo-nodes for the start and the end of the workflow (as the Step Functions console draws them)."""

STAGE_OF_STATE = {state: stage for stage in STAGES for state in stage.states}
"""The stage (peering.stages) each Task state runs: its label and the function's logical id."""

STATUS_OF_RESULT = {"ok": "succeeded", "caught": "caught", "failed": "failed", "running": "running"}


def _edges_of(name: str, state: dict[str, Any]) -> Iterator[dict[str, str]]:
    if state.get("Next"):
        yield {"from": name, "to": state["Next"], "kind": "next"}
    for choice in state.get("Choices", []):
        if choice.get("Next"):
            yield {"from": name, "to": choice["Next"], "kind": "choice"}
    if state.get("Default"):
        yield {"from": name, "to": state["Default"], "kind": "default"}
    for catch in state.get("Catch", []):
        if catch.get("Next"):
            yield {"from": name, "to": catch["Next"], "kind": "catch"}


def _walk(machine: dict[str, Any], parent: str | None, branch: int | None, nodes: list, edges: list) -> None:
    states = machine.get("States", {})
    start = machine.get("StartAt")
    if parent is None:
        edges.append({"from": START, "to": start, "kind": "start"})
    for name, state in states.items():
        kind = state.get("Type", "?")
        stage = STAGE_OF_STATE.get(name)
        nodes.append({"id": name, "type": kind, "parent": parent, "branch": branch,
                      "stage": stage.name if stage else None, "function": stage.function if stage else None,
                      "start": name == start and parent is not None,
                      "end": parent is not None and (bool(state.get("End")) or kind in ("Succeed", "Fail"))})
        seen = set()
        for edge in _edges_of(name, state):
            if edge["to"] not in seen:  # one arrow per target (two Choices, or a Next and a Catch, to one state)
                seen.add(edge["to"])
                edges.append(edge)
        if parent is None and (state.get("End") or kind in ("Succeed", "Fail")):
            edges.append({"from": name, "to": END, "kind": "end"})
        for index, sub in enumerate(state.get("Branches", [])):
            _walk(sub, name, index, nodes, edges)
        processor = state.get("ItemProcessor") or state.get("Iterator")  # a Map: its states, drawn once
        if kind == "Map" and processor:
            _walk(processor, name, 0, nodes, edges)


def asl_graph(definition: dict[str, Any] | str) -> dict[str, list[dict[str, Any]]]:
    """Nodes (``id``, ``type``, ``parent``: the enclosing Parallel or None, ``branch``, ``stage`` and
    ``function``: the stage table's row for a Task, and ``start``/``end``: whether a branch starts or ends
    there) and edges
    (``from``, ``to``, ``kind``: start, next, choice, default, catch, end) of an ASL definition."""
    import json  # noqa: PLC0415

    machine = json.loads(definition) if isinstance(definition, str) else definition
    pseudo = {"parent": None, "branch": None, "stage": None, "function": None, "start": False, "end": False}
    nodes: list[dict[str, Any]] = [{"id": START, "type": "Start", **pseudo}]
    edges: list[dict[str, str]] = []
    _walk(machine, None, None, nodes, edges)
    nodes.append({"id": END, "type": "End", **pseudo})
    return {"nodes": nodes, "edges": edges}


def run_path(graph: dict[str, list[dict[str, Any]]], timeline: Iterable[dict[str, Any]],
             execution_status: str) -> dict[str, Any]:
    """Each state's status in this run and the transitions it took.

    ``timeline`` holds the entries of ``peering executions show --json`` (``state``, ``type``,
    ``depth``, ``result``) in the order the states were entered. A state entered several times (a
    polling loop) shows its last result. A transition counts when the definition has that edge and
    the second state was entered after the first at the same depth.
    """
    entries = list(timeline)
    statuses: dict[str, str] = {}
    counts: dict[str, int] = {}
    for entry in entries:
        statuses[entry["state"]] = STATUS_OF_RESULT.get(entry["result"], "failed")
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
    defined = {(e["from"], e["to"]) for e in graph["edges"]}
    taken: list[tuple[str, str]] = []
    top = [e for e in entries if e.get("depth", 0) == 0]
    if top:
        taken.append((START, top[0]["state"]))
    for index, entry in enumerate(entries):
        for earlier in reversed(entries[:index]):
            if earlier.get("depth", 0) == entry.get("depth", 0) and (earlier["state"], entry["state"]) in defined:
                taken.append((earlier["state"], entry["state"]))
                break
            if earlier.get("depth", 0) < entry.get("depth", 0):
                break  # the enclosing Parallel: a branch's first state has no arrow into it
    if top and execution_status != "RUNNING" and (top[-1]["state"], END) in defined:
        taken.append((top[-1]["state"], END))
    if top:
        statuses[START] = "succeeded"
        if execution_status != "RUNNING":
            statuses[END] = "succeeded" if execution_status == "SUCCEEDED" else "failed"
    return {"states": statuses, "visits": counts,
            "edges": [{"from": a, "to": b} for a, b in dict.fromkeys(taken)]}
