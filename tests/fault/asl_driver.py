"""A small driver of ``statemachine/peering.asl.json`` for the stage fuzz: it walks the deployed definition
itself (Pass Parameters, Choice rules, Task Parameters/ResultSelector/ResultPath/Catch, Parallel branches,
Map items: an inline Map's from ``ItemsPath``, a Distributed Map's from its ``ItemReader``), so every stage gets
the state document the state machine would hand it, with no copy of the workflow's order or of the document's
shape in the tests.

A Distributed Map reads its items through ``read_items`` (the ItemReader's rendered ``Parameters``, e.g.
``{"Bucket": ..., "Key": ...}`` for ``arn:aws:states:::s3:getObject`` with JSON input), and fails as AWS fails a
Map Run whose items fail beyond its tolerated threshold (none is set here: one failed item fails the Map) with
``States.ExceedToleratedFailureThreshold``; an inline Map fails with its item's own error.

What it leaves out, on purpose: Retry (a retried stage is a re-run, which the fuzz does itself to check
idempotence), Wait (no sleeping) and timeouts. An ASL feature it does not know raises, so a new construct in
the definition fails the fuzz loudly instead of being skipped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from peering_tools import REPO_ROOT

ASL = json.loads((REPO_ROOT / "statemachine" / "peering.asl.json").read_text())
MAX_STEPS = 200
"""A bound on states entered per run: a loop (the activation wait, the probe retries) that never ends is a
finding, not a hang."""


class TaskFailed(Exception):
    """A Task ended in an error: what a Catch receives (``Error`` and ``Cause``)."""

    def __init__(self, error: str, cause: str):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class Unsupported(Exception):
    """The definition uses an ASL feature this driver does not model."""


@dataclass
class Ended:
    state: str
    """The terminal state the run ended in (Succeed, Fail, or the Task whose error no Catch took)."""
    document: Any
    failed: bool


TaskCall = Callable[[str, dict, Any], Any]
"""``(state name, state definition, input) -> result`` (raises TaskFailed)."""
ItemRead = Callable[[str, dict], list]
"""``(ItemReader resource, its rendered Parameters) -> the items``."""
S3_JSON_READER = "arn:aws:states:::s3:getObject"
THRESHOLD_EXCEEDED = ("States.ExceedToleratedFailureThreshold",
                      "The specified tolerated failure threshold was exceeded.")
"""How AWS fails a Distributed Map whose Map Run failed (``tools/peering_tools/distributed_map.py`` does the same
in moto)."""


def no_items(resource: str, parameters: dict) -> list:
    raise Unsupported(f"an ItemReader ({resource}) without a read_items")


@dataclass
class Driver:
    call: TaskCall
    execution_id: str
    on_enter: Callable[[str, Any], None] = lambda name, document: None
    """Told each state's name and input as the run enters it."""
    read_items: ItemRead = no_items
    """What a Distributed Map's ItemReader reads."""
    steps: int = 0
    entered: list[str] = field(default_factory=list)

    def run(self, document: Any, states: dict | None = None, start: str | None = None) -> Ended:
        states = ASL["States"] if states is None else states
        name = start or ASL["StartAt"]
        context: dict[str, Any] = {"Execution": {"Id": self.execution_id}}
        while True:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise AssertionError(f"the run entered more than {MAX_STEPS} states: {self.entered[-12:]}")
            self.entered.append(name)
            self.on_enter(name, document)
            state = states[name]
            kind = state["Type"]
            if kind in ("Succeed", "Fail"):
                return Ended(name, document, kind == "Fail")
            try:
                if kind == "Pass":
                    document = self._pass(state, document, context)
                elif kind == "Choice":
                    name = choose(state, document)
                    continue
                elif kind == "Wait":
                    pass
                elif kind == "Task":
                    result = self.call(name, state, render(state["Parameters"], document, context)
                                       if "Parameters" in state else document)
                    if "ResultSelector" in state:
                        result = render(state["ResultSelector"], result, context)
                    document = put(document, state.get("ResultPath", "$"), result)
                elif kind == "Parallel":
                    outputs = []
                    for branch in state["Branches"]:
                        ended = self._child().run(copy.deepcopy(document), branch["States"], branch["StartAt"])
                        if ended.failed:
                            raise ended.document  # the branch's TaskFailed
                        outputs.append(ended.document)
                    document = put(document, state.get("ResultPath", "$"), outputs)
                elif kind == "Map":
                    document = put(document, state.get("ResultPath", "$"), self._map(state, document, context))
                else:
                    raise Unsupported(f"state type {kind} ({name})")
            except TaskFailed as failure:
                catch = next((c for c in state.get("Catch", [])
                              if failure.error in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"]), None)
                if catch is None:
                    return Ended(name, failure, True)
                document = put(document, catch.get("ResultPath", "$"), {"Error": failure.error,
                                                                        "Cause": failure.cause})
                name = catch["Next"]
                continue
            if state.get("End"):
                return Ended(name, document, False)
            name = state["Next"]

    def _child(self) -> Driver:
        return Driver(self.call, self.execution_id, self.on_enter, self.read_items, self.steps, self.entered)

    def _map(self, state: dict, document: Any, context: dict) -> Any:
        processor = state["ItemProcessor"]
        distributed = processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        if "ItemReader" in state:
            reader = state["ItemReader"]
            if not distributed or reader["Resource"] != S3_JSON_READER or reader.get("ReaderConfig", {}).get(
                    "InputType") != "JSON":
                raise Unsupported(f"ItemReader {reader}")
            items = self.read_items(reader["Resource"], render(reader["Parameters"], document, context))
        else:
            items = path(document, state["ItemsPath"], context)
        unknown = set(state) - {"Type", "Comment", "ItemReader", "ItemsPath", "ItemSelector", "ItemProcessor",
                                "MaxConcurrency", "ResultSelector", "ResultPath", "Catch", "Retry", "Next", "End"}
        if unknown:
            raise Unsupported(f"Map fields {sorted(unknown)}")
        outputs = []
        for item in items:
            item_context = {**context, "Map": {"Item": {"Value": item}}}
            ended = self._child().run(render(state["ItemSelector"], document, item_context), processor["States"],
                                      processor["StartAt"])
            if ended.failed:
                if distributed:  # the Map Run fails; the item's own error stays in its child execution
                    raise TaskFailed(*THRESHOLD_EXCEEDED)
                raise ended.document
            outputs.append(ended.document)
        return render(state["ResultSelector"], outputs, context) if "ResultSelector" in state else outputs

    def _pass(self, state: dict, document: Any, context: dict) -> Any:
        if "InputPath" in state:
            document = path(document, state["InputPath"], context)
        if "Parameters" not in state:
            return document
        return put(document, state.get("ResultPath", "$"), render(state["Parameters"], document, context))


def path(document: Any, expression: str, context: dict) -> Any:
    """A JSONPath of the forms the definition uses: ``$``, ``$.a.b``, ``$$.Execution.Id``."""
    if expression == "$":
        return document
    if expression.startswith("$$."):
        node, parts = context, expression[3:].split(".")
    elif expression.startswith("$."):
        node, parts = document, expression[2:].split(".")
    else:
        raise Unsupported(f"path {expression}")
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            raise TaskFailed("States.Runtime", f"The JSONPath {expression} could not be found in the input.")
        node = node[part]
    return node


def render(template: dict, document: Any, context: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if value.startswith("States.StringToJson(") and value.endswith(")"):
                out[key[:-2]] = json.loads(path(document, value[len("States.StringToJson("):-1], context))
            elif value.startswith("States.ArrayLength(") and value.endswith(")"):
                out[key[:-2]] = len(path(document, value[len("States.ArrayLength("):-1], context))
            elif value.startswith("States."):
                raise Unsupported(f"intrinsic {value}")
            else:
                out[key[:-2]] = path(document, value, context)
        elif isinstance(value, dict):
            out[key] = render(value, document, context)
        else:
            out[key] = value
    return out


def put(document: Any, result_path: str | None, value: Any) -> Any:
    if result_path is None:
        return document
    if result_path == "$":
        return value
    if not result_path.startswith("$.") or not isinstance(document, dict):
        raise Unsupported(f"ResultPath {result_path}")
    document = copy.deepcopy(document)
    node = document
    *parents, last = result_path[2:].split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return document


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": lambda v, w: isinstance(v, str) and v == w,
    "BooleanEquals": lambda v, w: isinstance(v, bool) and v == w,
    "NumericEquals": lambda v, w: isinstance(v, (int, float)) and v == w,
    "NumericLessThan": lambda v, w: isinstance(v, (int, float)) and v < w,
    "NumericGreaterThan": lambda v, w: isinstance(v, (int, float)) and v > w,
}


def matches(rule: dict, document: Any) -> bool:
    if "And" in rule:
        return all(matches(r, document) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, document) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], document)
    variable = rule["Variable"]
    operator = next(k for k in rule if k not in ("Variable", "Next"))
    if operator == "IsPresent":
        try:
            path(document, variable, {})
        except TaskFailed:
            return not rule[operator]
        return bool(rule[operator])
    value = path(document, variable, {})
    if operator.endswith("Path"):
        return OPERATORS[operator[:-4]](value, path(document, rule[operator], {}))
    if operator not in OPERATORS:
        raise Unsupported(f"Choice operator {operator}")
    return OPERATORS[operator](value, rule[operator])


def choose(state: dict, document: Any) -> str:
    for rule in state["Choices"]:
        if matches(rule, document):
            return rule["Next"]
    if "Default" not in state:
        raise TaskFailed("States.NoChoiceMatched", "No Choice rule matched and there is no Default.")
    return state["Default"]
