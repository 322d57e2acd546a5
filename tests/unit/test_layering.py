"""boto3 stays in ``peering.aws``: no module of the layer outside it imports boto3 or botocore, reaches a boto3
client (``.client``: an adapter's client, or ``Clients.client``) or reads an AWS response's fields (a subscript or
``.get`` with a PascalCase key such as ``"VpcId"``). Checked on the source's syntax tree, so a new module is
covered without being listed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from peering_tools import LAYER_DIR

PACKAGE = LAYER_DIR / "peering"
ADAPTERS = PACKAGE / "aws"
SDK = ("boto3", "botocore")
AWS_FIELD = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)*$")
"""How AWS names a response field (VpcId, RouteTables, Status, CidrBlockAssociationSet...)."""


def leaks(source: str) -> list[str]:
    """Each place in ``source`` where boto3, a boto3 client or an AWS response's field shows, as 'line: what'."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, node.col_offset, f"import {a.name}") for a in node.names
                      if a.name.split(".")[0] in SDK]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SDK:
            found.append((node.lineno, node.col_offset, f"from {node.module} import"))
        elif isinstance(node, ast.Attribute) and node.attr == "client":
            found.append((node.lineno, node.end_col_offset or 0, ".client"))
        elif isinstance(node, ast.Subscript) and _field(node.slice):
            found.append((node.lineno, node.col_offset, f"[{node.slice.value!r}]"))  # type: ignore[attr-defined]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and _field(node.args[0])):
            found.append((node.lineno, node.func.end_col_offset or 0,  # type: ignore[attr-defined]
                          f".get({node.args[0].value!r})"))  # type: ignore[attr-defined]
    return [f"{line}: {what}" for line, _, what in sorted(found)]


def _field(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(AWS_FIELD.match(node.value))


def outside_adapters() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if ADAPTERS not in p.parents)


@pytest.mark.parametrize("module", outside_adapters(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_boto3_client_or_aws_response_outside_the_adapters(module: Path):
    assert leaks(module.read_text()) == [], f"{module.name} reaches into boto3 or an AWS response"


def test_the_check_finds_each_kind_of_leak():
    """The check can fail: each leak that the refactor removed is found when written back."""
    source = """
import boto3
from botocore.exceptions import ClientError
subnets, raw = subnets_and_instances(ec2.client, vpcs)
sns = flow.clients.client("sns", account, region)
state = (i.get("State") or {}).get("Name", "unknown")
ip = i["PrivateIpAddress"]
"""
    assert leaks(source) == ["2: import boto3", "3: from botocore.exceptions import", "4: .client", "5: .client",
                             "6: .get('State')", "6: .get('Name')", "7: ['PrivateIpAddress']"]


def test_the_layer_has_modules_on_both_sides_of_the_boundary():
    """A path mistake must not make the check above vacuous."""
    assert len(outside_adapters()) >= 15 and (ADAPTERS / "ec2.py").is_file()
