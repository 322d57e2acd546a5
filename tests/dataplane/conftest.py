"""Data-plane tests need network namespaces (root, iproute2, nftables). Where they cannot be made the
tests skip with the reason; on CI (root, `make` installs nftables and iputils-ping) they must run."""

from __future__ import annotations

import os

import pytest

from peering_tools.dataplane.netns import unavailable

WHY = unavailable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if WHY is None:
        return
    if os.environ.get("CI"):  # CI runs as root with the packages installed: a skip there would hide a breakage
        return
    mark = pytest.mark.skip(reason=f"network namespaces cannot be made here: {WHY}")
    for item in items:
        if "tests/dataplane/" in str(item.fspath):
            item.add_marker(mark)
