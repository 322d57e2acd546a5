"""A small IAM policy evaluator for the offline tests: identity policies (and trust policies) with the
condition operators this project's templates use, nothing more.

moto does not evaluate IAM conditions (moto/iam/access_control.py:6, "TODO add support for the Resource and
Condition parts"), and no maintained PyPI package evaluates them offline, so the rules below follow AWS's
documentation and are tested against its documented examples (tests/iam/test_evaluator.py):

- Policy evaluation logic: an explicit Deny wins, else any matching Allow allows, else the request is
  implicitly denied. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Condition element: several operators in one block, and several keys under one operator, must all be true
  (AND); several values for one key match if any does (OR); a missing key makes a non-negated operator false
  and a negated one (``StringNot*``, ``ArnNot*``) true; ``...IfExists`` is true when the key is missing.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- Set operators: ``ForAllValues`` is true when every value of the request's key matches (and when the key is
  missing or empty); ``ForAnyValue`` when at least one does (false when missing).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- ``ArnLike``/``ArnEquals`` compare each of the six colon-separated ARN parts; ``*`` and ``?`` never cross a
  part. Condition key names are case-insensitive; ``String*`` values are case-sensitive unless ``IgnoreCase``.

An operator this evaluator does not know raises ``Unsupported``: a template that starts using one fails its
tests loudly instead of being evaluated wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"

Value = str | bool | Sequence[str]


class Unsupported(ValueError):
    """The policy uses an element or operator outside what this evaluator implements."""


@dataclass(frozen=True)
class Request:
    """One authorization: an action on one resource, with the request context's condition keys."""

    action: str
    resource: str = "*"
    context: Mapping[str, Value] = field(default_factory=dict)
    principal: str | None = None
    """For trust policies: the calling principal's ARN (matched against ``Principal.AWS``)."""


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    parts, values = pattern.split(":", 5), value.split(":", 5)
    if len(parts) != 6 or len(values) != 6:
        return _glob(pattern, value)
    return all(_glob(p, v) for p, v in zip(parts, values, strict=True))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _bool_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value).strip().lower()


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v),
    "ArnEquals": lambda p, v: _arn_like(p, v),  # ArnEquals also honours wildcards (IAM user guide)
    "ArnLike": lambda p, v: _arn_like(p, v),
    "Bool": lambda p, v: _bool_text(p) == _bool_text(v),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _lookup(context: Mapping[str, Value], key: str) -> tuple[bool, list[str]]:
    lowered = {k.lower(): v for k, v in context.items()}
    if key.lower() not in lowered:
        return False, []
    return True, [v if isinstance(v, str) else _bool_text(v) for v in _as_list(lowered[key.lower()])]


def _condition_true(operator: str, key: str, wanted: Any, context: Mapping[str, Value]) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    present, values = _lookup(context, key)
    patterns = [str(p) if not isinstance(p, bool) else _bool_text(p) for p in _as_list(wanted)]
    if base == "Null":
        if qualifier:
            raise Unsupported(f"{operator} is not supported.")
        return all((not present) == (_bool_text(p) == "true") for p in patterns)
    negated = base in _NEGATED
    match = _MATCHERS.get(_NEGATED.get(base, base))
    if match is None:
        raise Unsupported(f"Condition operator {operator} is not supported.")

    def one(value: str) -> bool:
        hit = any(match(p, value) for p in patterns)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if qualifier:
        raise Unsupported(f"Set operator {qualifier} is not supported.")
    if not present:
        return if_exists or negated
    if len(values) != 1:
        raise Unsupported(f"{key} has several values; a single-valued operator ({operator}) cannot compare them.")
    return one(values[0])


def conditions_hold(block: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, Value]) -> bool:
    """Whether every operator and key of a statement's Condition block is true for this context."""
    return all(_condition_true(operator, key, wanted, context)
               for operator, keys in (block or {}).items() for key, wanted in keys.items())


def _matches_any(patterns: Iterable[str], value: str, arn: bool) -> bool:
    return any(p == "*" or (_arn_like(p, value) if arn else _glob(p, value, ignore_case=True)) for p in patterns)


def _statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    for key in statement:
        if key not in ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal"):
            raise Unsupported(f"Statement element {key} is not supported.")
    if "Action" in statement:
        if not _matches_any(_as_list(statement["Action"]), request.action, arn=False):
            return False
    elif "NotAction" in statement and _matches_any(_as_list(statement["NotAction"]), request.action, arn=False):
        return False
    if "Resource" in statement:
        if not _matches_any(_as_list(statement["Resource"]), request.resource, arn=True):
            return False
    elif "NotResource" in statement and _matches_any(_as_list(statement["NotResource"]), request.resource, arn=True):
        return False
    if "Principal" in statement:
        principal = statement["Principal"]
        allowed = _as_list(principal.get("AWS")) if isinstance(principal, dict) else _as_list(principal)
        if request.principal is None or not any(
                p == "*" or _arn_like(p, request.principal) or _root_of(p, request.principal) for p in allowed):
            return False
    return conditions_hold(statement.get("Condition"), request.context)


def _root_of(principal: str, caller: str) -> bool:
    """``arn:aws:iam::ACCOUNT:root`` (or a bare account id) as Principal stands for every principal of that
    account: the account's own policies (and the trust policy's conditions) decide further."""
    account = principal if principal.isdigit() else (
        principal.split(":")[4] if principal.endswith(":root") and principal.count(":") >= 5 else None)
    return account is not None and caller.split(":")[4:5] == [account]


def evaluate(statements: Iterable[Mapping[str, Any]], request: Request) -> str:
    """``Allow``, ``ExplicitDeny`` or ``ImplicitDeny`` for one request under these statements."""
    decision = IMPLICIT_DENY
    for statement in statements:
        if not _statement_applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return EXPLICIT_DENY
        if statement.get("Effect") == "Allow":
            decision = ALLOW
    return decision


def allowed(statements: Iterable[Mapping[str, Any]], requests: Iterable[Request]) -> bool:
    """A call that touches several resources (e.g. CreateRoute: the route table and the peering) is allowed
    only when every one of its resource authorizations is."""
    statements = list(statements)
    return all(evaluate(statements, r) == ALLOW for r in requests)
