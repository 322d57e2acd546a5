"""The state machine is written once: statemachine/peering.asl.yaml, each shared Retry/Catch a YAML anchor, rendered
to statemachine/peering.asl.json, the one file SAM deploys and the tests and the emulator load."""

import json

import yaml

from peering_tools import asl


def _tasks(states: dict):
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            yield from _tasks(inner["States"])


def _retry_nodes(node: yaml.Node, found: list[yaml.Node]) -> list[yaml.Node]:
    """Every node that is the value of a ``Retry`` key, as composed (an alias is the anchored node itself)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "Retry":
                found.append(value)
            _retry_nodes(value, found)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _retry_nodes(item, found)
    return found


def test_the_deployed_json_is_the_rendering_of_the_yaml_source():
    assert asl.DEFINITION.read_text() == asl.render(), "run python -m peering_tools.asl"
    assert asl.main(["--check"]) == 0


def test_a_stale_json_is_caught(tmp_path):
    stale = tmp_path / "peering.asl.json"
    definition = json.loads(asl.DEFINITION.read_text())
    definition["States"]["Inspect"]["Retry"][0]["MaxAttempts"] = 7
    stale.write_text(json.dumps(definition, indent=2) + "\n")
    assert not asl.is_current(asl.SOURCE, stale)


def test_the_retry_policy_is_written_once_and_every_task_uses_it():
    nodes = _retry_nodes(yaml.compose(asl.SOURCE.read_text()), [])
    tasks = list(_tasks(json.loads(asl.DEFINITION.read_text())["States"]))
    assert len(nodes) == len(tasks) >= 10, "every Lambda task has a Retry"
    assert len({id(node) for node in nodes}) == 1, "one anchored Retry, every other one an alias of it"
    assert asl.SOURCE.read_text().count("ErrorEquals:\n      - Throttled") == 1
