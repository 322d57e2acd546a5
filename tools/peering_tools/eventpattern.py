"""EventBridge event patterns, matched as EventBridge matches them (the emulator's rule matcher).

moto's own matcher does not descend into arrays of objects, so CloudTrail events (whose lists are
``{"items": [{...}, ...]}``) never match a pattern such as the template's
``requestParameters.tagSet.items.key``. This module is the emulator's replacement; it is pure.

Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html):

- A pattern is an object; every key in it must match (AND). A key whose pattern is an object
  descends into the event's object at that key.
- A leaf pattern is an array of matchers: any one matching is enough (OR). A matcher is a literal
  (string, number, boolean, null; numbers compare by value) or an object with one operator:
  ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``, ``anything-but`` (a value, a list
  of values, or ``{"prefix"|"suffix": ...}``), ``numeric`` (``[">", 0, "<=", 5]``), ``exists``.
- When the event's value is an array, the pattern matches if it matches any element; arrays of
  objects are descended element by element (a nested pattern matches when one element matches
  all of its keys - event-ruler's array-consistent behaviour).
- A field missing from the event matches only ``{"exists": false}``.
"""

from __future__ import annotations

import operator
import re
from typing import Any

_MISSING = object()
_NUMERIC_OPS = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


class PatternError(ValueError):
    """The pattern is not a valid EventBridge pattern; the message says where."""


def matches(pattern: dict, event: dict) -> bool:
    """True when ``event`` (the full event envelope, or any object) matches ``pattern``."""
    if not isinstance(pattern, dict):
        raise PatternError("An event pattern must be a JSON object.")
    return _match_object(pattern, event, "")


def _match_object(pattern: dict, value: Any, path: str) -> bool:
    if isinstance(value, list):  # an array of objects: one element must match the whole sub-pattern
        return any(_match_object(pattern, element, path) for element in _flatten(value))
    obj = value if isinstance(value, dict) else {}
    return all(_match_field(sub, obj.get(key, _MISSING), f"{path}{key}") for key, sub in pattern.items())


def _match_field(pattern: Any, value: Any, path: str) -> bool:
    if isinstance(pattern, dict):
        return _match_object(pattern, {} if value is _MISSING else value, f"{path}.")
    if not isinstance(pattern, list):
        raise PatternError(f"The pattern at {path} must be an array of values or an object, not {pattern!r}.")
    if value is _MISSING:
        return any(_is_exists(m) and m["exists"] is False for m in pattern)
    candidates = _flatten(value) if isinstance(value, list) else [value]
    leaves = [c for c in candidates if not isinstance(c, dict)]
    return any(_match_leaf(m, leaves, path) for m in pattern)


def _flatten(values: list) -> list:
    out: list = []
    for v in values:
        out.extend(_flatten(v) if isinstance(v, list) else [v])
    return out


def _is_exists(matcher: Any) -> bool:
    return isinstance(matcher, dict) and set(matcher) == {"exists"}


def _match_leaf(matcher: Any, values: list, path: str) -> bool:
    """One matcher against the event's leaf values at a present field (any value may match)."""
    if _is_exists(matcher):
        return bool(values) if matcher["exists"] else False
    if isinstance(matcher, dict):
        if len(matcher) != 1:
            raise PatternError(f"The matcher at {path} must have exactly one operator: {matcher!r}.")
        (op, arg), = matcher.items()
        test = _OPERATORS.get(op)
        if test is None:
            raise PatternError(f"The operator {op!r} at {path} is not supported.")
        return any(test(arg, v, path) for v in values)
    return any(_equal(matcher, v) for v in values)


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return expected is actual or (type(expected) is type(actual) and expected == actual)
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and expected == actual


def _prefix(arg: Any, value: Any, path: str) -> bool:
    if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
        return isinstance(value, str) and value.lower().startswith(str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and value.startswith(str(arg))


def _suffix(arg: Any, value: Any, path: str) -> bool:
    if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
        return isinstance(value, str) and value.lower().endswith(str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and value.endswith(str(arg))


def _equals_ignore_case(arg: Any, value: Any, path: str) -> bool:
    return isinstance(value, str) and value.lower() == str(arg).lower()


def _wildcard(arg: Any, value: Any, path: str) -> bool:
    regex = ".*".join(re.escape(part) for part in str(arg).split("*"))
    return isinstance(value, str) and re.fullmatch(regex, value, re.DOTALL) is not None


def _anything_but(arg: Any, value: Any, path: str) -> bool:
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise PatternError(f"anything-but at {path} takes one operator: {arg!r}.")
        (op, inner), = arg.items()
        if op not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise PatternError(f"anything-but at {path} does not support {op!r}.")
        inner_values = inner if isinstance(inner, list) else [inner]
        return isinstance(value, str) and not any(_OPERATORS[op](i, value, path) for i in inner_values)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(e, value) for e in excluded)


def _numeric(arg: Any, value: Any, path: str) -> bool:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        raise PatternError(f"numeric at {path} takes operator/number pairs: {arg!r}.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    for op, bound in zip(arg[::2], arg[1::2], strict=True):
        if op not in _NUMERIC_OPS or isinstance(bound, bool) or not isinstance(bound, int | float):
            raise PatternError(f"numeric at {path} has an invalid comparison {op!r} {bound!r}.")
        if not _NUMERIC_OPS[op](float(value), float(bound)):
            return False
    return True


_OPERATORS = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
}
