"""Match an event against a compiled pattern as EventBridge does.

The event is flattened to leaf values keyed by their dotted path (``{"a": {"b": 1}}`` and
``{"a.b": 1}`` are the same field), array elements becoming values of the same field. A branch of the
pattern matches when every field in it has a value one of its matchers accepts (``{"exists": false}``:
the field has no value at all) and the values chosen come from the same element of any array they
share - aws/event-ruler's array-consistent matching (``rulesForJSONEvent``): ``{"a": {"k": ["x"],
"v": ["1"]}}`` does not match ``{"a": [{"k": "x", "v": "2"}, {"k": "y", "v": "1"}]}``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from . import operators as ops
from .compiler import CompiledPattern, compile_pattern

Membership = tuple[tuple[int, int], ...]  # (array, element index) for every array a value sits in


def flatten(event: dict[str, Any]) -> dict[str, list[tuple[Any, Membership]]]:
    fields: dict[str, list[tuple[Any, Membership]]] = defaultdict(list)
    arrays = itertools.count()

    def walk(node: Any, path: str, membership: Membership) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key, membership)
        elif isinstance(node, list):
            array = next(arrays)
            for index, element in enumerate(node):
                walk(element, path, (*membership, (array, index)))
        else:
            fields[path].append((node, membership))

    walk(event, "", ())
    return fields


def matches(pattern: CompiledPattern | str | dict[str, Any], event: dict[str, Any]) -> bool:
    """True when ``event`` (the whole event, envelope and detail) matches ``pattern``.

    A pattern given as text or object is compiled first (PatternError when it is invalid)."""
    compiled = pattern if isinstance(pattern, CompiledPattern) else compile_pattern(pattern)
    fields = flatten(event)
    return any(_branch_matches(branch, fields) for branch in compiled.branches)


def _branch_matches(branch: tuple[tuple[str, tuple[ops.Matcher, ...]], ...],
                    fields: dict[str, list[tuple[Any, Membership]]]) -> bool:
    choices: list[list[Membership]] = []
    for path, matchers in branch:
        values = fields.get(path, [])
        if not values:
            if any(isinstance(m, ops.Exists) and not m.present for m in matchers):
                continue  # absent, as {"exists": false} asks
            return False
        accepted = [membership for value, membership in values if any(m.matches(value) for m in matchers)]
        if not accepted:
            return False
        choices.append(accepted)
    return _consistent(choices, {})


def _consistent(choices: list[list[Membership]], chosen: dict[int, int]) -> bool:
    if not choices:
        return True
    first, rest = choices[0], choices[1:]
    for membership in first:
        fits = all(chosen.get(array, index) == index for array, index in membership)
        if fits and _consistent(rest, {**chosen, **dict(membership)}):
            return True
    return False
