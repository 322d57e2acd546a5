"""The console's HTTP server on a loopback port, with a stand-in for the emulator's data: the page and its
files, the JSON API, and one sentence (never a traceback) for what cannot be answered."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from botocore.exceptions import EndpointConnectionError

from peering_tools.console.data import NotFound
from peering_tools.console.server import ConsoleServer
from peering_tools.executions import Unreadable

ARN = "arn:aws:states:us-east-1:123456789012:execution:m:pcx-1-2"


class Data:
    def stack(self) -> dict:
        return {"name": "peering-autopilot", "status": "CREATE_COMPLETE"}

    def executions(self) -> list:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    def execution(self, arn: str) -> dict:
        if arn.endswith(":old"):
            raise Unreadable("The result of Inspect does not match peering.models.Inspection (decision: invalid); "
                             "this version of peering cannot read it.")
        raise NotFound(f"No execution {arn}.")

    def activity(self) -> dict:
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ConsoleServer(Data(), port=0)  # type: ignore[arg-type]
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def test_the_server_is_bound_to_loopback_on_a_free_port(url):
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")


@pytest.mark.parametrize(("path", "kind", "text"), [
    ("", "text/html", "local console"), ("index.html", "text/html", "app.js"),
    ("app.js", "text/javascript", "drawGraph"), ("style.css", "text/css", "--good"),
    ("vendor/dagre-3.1.3.min.js", "text/javascript", "dagre"), ("favicon.svg", "image/svg+xml", "<svg"),
])
def test_the_page_and_its_files_are_served_with_their_types(url, path, kind, text):
    status, content_type, body = get(url + path)
    assert status == 200 and content_type.startswith(kind) and text in body.decode()


@pytest.mark.parametrize("path", ["../server.py", "..%2fserver.py", "%2e%2e/data.py", "nope.html", "vendor/"])
def test_nothing_outside_the_static_folder_or_missing_is_served(url, path):
    status, _, body = get(url + path)
    assert status == 404 and b"import" not in body


def test_the_api_answers_json(url):
    status, content_type, body = get(url + "api/stack")
    assert (status, content_type) == (200, "application/json") and json.loads(body)["status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(("path", "code", "sentence"), [
    ("api/execution", 400, "Pass ?arn= with an execution ARN."),
    ("api/execution?arn=arn:aws:states:x", 400, "Pass ?arn= with an execution ARN."),
    (f"api/execution?arn={ARN}", 404, f"No execution {ARN}."),
    (f"api/execution?arn={ARN}:old", 422, "The result of Inspect does not match peering.models.Inspection "
                                          "(decision: invalid); this version of peering cannot read it."),
    ("api/executions", 502, 'Could not connect to the endpoint URL: "http://127.0.0.1:9"'),
    ("api/activity", 500, "RuntimeError: boom"),
    ("api/nothing", 404, "No API /api/nothing."),
])
def test_what_cannot_be_answered_is_one_sentence_with_its_status(url, path, code, sentence):
    status, content_type, body = get(url + path)
    assert (status, content_type) == (code, "application/json")
    assert json.loads(body) == {"error": sentence}
