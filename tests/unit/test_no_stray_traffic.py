"""The in-process harness never lets the probe's real socket code reach an address outside loopback: between
emulators (or before one installs its network) the connector is ``inprocess.loopback_only``."""

import socket

import pytest

from peering import probe
from peering_tools import emulated_network, inprocess


def test_a_connect_outside_loopback_sends_nothing_and_is_unreachable(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a socket was opened: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    result = inprocess.loopback_only("10.7.1.4", 22, 1.0)
    assert result.reachable is False and result.error == "unreachable"


def test_loopback_targets_are_connected_for_real():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        result = inprocess.loopback_only("127.0.0.1", server.getsockname()[1], 1.0)
    assert result.reachable is True


@pytest.mark.parametrize("uninstall", [emulated_network.uninstall])
def test_uninstalling_an_emulated_network_leaves_the_loopback_guard_not_the_real_connector(uninstall, monkeypatch):
    monkeypatch.setattr(probe, "connector", probe.connector)
    uninstall()
    assert probe.connector is inprocess.loopback_only
