"""The local console in a real headless Chromium (Debian's ``chromium``, driven by Playwright for Python).

The demo scenario (``peering local demo``'s ``_run_demo``: the seed network, the tagged peering, the
workflow to ``verified``) runs in an in-process emulator; then the browser opens the console the
emulator serves, as a person would, and the page must show the run as succeeded with its stages in
the order they ran, the graph with the path coloured, the routes, the flows and both VPCs. A
screenshot of the execution page is saved under ``test-artifacts/`` (gitignored).

Only loopback: the browser is started with the network features that call out switched off, and every
request it makes is checked to go to 127.0.0.1.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rich.console import Console

from peering_tools import REPO_ROOT, inprocess, seed
from peering_tools.emulator import Emulator
from peering_tools.local import _run_demo

pytestmark = [pytest.mark.emulator, pytest.mark.filterwarnings("ignore:No application metrics to publish")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
PAGE_TIMEOUT_MS = 20_000
RUN_TIMEOUT = 45.0
RELOAD_TIMEOUT = 30.0
TOP_STAGES = ["Init", "Inspect", "Decide", "Accept", "AcceptedActive", "PlanRoutes", "ApplyRoutes", "ConfigureDns",
              "PrepareProbe", "ProbeApplicable", "ProbeEachSide", "Verify", "Report", "Outcome", "Done"]
"""The top-level states the seed run enters, in order (statemachine/peering.asl.json; the probe reaches B at
its first attempt)."""
MAPPED = ["Probe", "ProbeDone", "ProbeFinished"]
"""The probe loop inside the ProbeEachSide inline Map (one side probes in the demo, at its first attempt).
ApplyRoutes is a Distributed Map: its items (ApplyChunk) run as child executions, not in the run's history."""
DEMO_STAGES = [*TOP_STAGES, *MAPPED]


def _browser_available() -> None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not shutil.which(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install -y chromium; the Makefile does it as root)")
    if missing:
        message = f"the browser test needs {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def demo_emulator() -> Iterator[tuple[Emulator, str]]:
    """An emulator after the demo scenario ran in it to `verified`; (emulator, the demo's output). The functions
    log at INFO (unlike `make demo`) so that the intake's decision reaches the log group the console reads."""
    emulator = Emulator(port=0)
    out = io.StringIO()
    try:
        emulator.start()
        inprocess.set_process_env(POWERTOOLS_METRICS_DISABLED="true")
        code = _run_demo(Console(file=out, highlight=False, soft_wrap=True, width=200), emulator)
        assert code == 0, out.getvalue()
        yield emulator, out.getvalue()
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def page(demo_emulator) -> Iterator:
    _browser_available()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1440, "height": 1000})
            tab.set_default_timeout(PAGE_TIMEOUT_MS)
            requested: list[str] = []
            errors: list[str] = []
            tab.on("request", lambda r: requested.append(r.url))
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.requested, tab.errors = requested, errors  # type: ignore[attr-defined]
            yield tab
        finally:
            browser.close()


def _open(page, url: str, ready: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"body[data-ready='{ready}']")
    assert page.locator("body").get_attribute("data-ready") == ready, page.locator("main").inner_text()


def test_the_stack_output_links_to_the_console_which_lists_the_demo_run_as_verified(demo_emulator, page):
    emulator, out = demo_emulator
    url = emulator.outputs["ExecutionsConsoleUrl"]
    assert url == f"{emulator.console_url}#/executions"

    _open(page, url, "executions")

    rows = page.locator("#executions tbody tr")
    assert rows.count() >= 1
    cells = rows.last.locator("td").all_inner_texts()  # the oldest: the demo's run
    pcx = cells[0]
    assert pcx.startswith("pcx-") and f"{pcx}" in out
    assert cells[3].startswith("verified") and cells[4] == "verify"
    assert "_COMPLETE" in page.locator("#stack").inner_text()  # UPDATE_COMPLETE: the demo redeployed the stack
    activity = page.locator("#activity tbody tr[data-kind='intake']")  # the intake started the demo's run
    assert activity.count() == 1 and "started" in activity.inner_text() and pcx in activity.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-executions.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_execution_page_shows_the_run_succeeded_with_its_stages_in_order(demo_emulator, page):
    emulator, _ = demo_emulator
    _open(page, f"{emulator.console_url}#/executions", "executions")
    page.locator("#executions tbody tr a").last.click()
    page.wait_for_selector("body[data-ready='execution']")

    assert page.locator("#execution-status").inner_text() == "SUCCEEDED"
    assert page.locator(".summary .badge").first.inner_text() == "verified"
    stages = [t.removeprefix("↳ ").strip() for t in page.locator("#stages tbody td.state").all_inner_texts()]
    assert [s for s in stages if s not in MAPPED] == TOP_STAGES
    assert [s for s in stages if s in MAPPED] == MAPPED and len(stages) == len(DEMO_STAGES)
    assert "ApplyChunk" not in stages
    results = page.locator("#stages tbody td:nth-child(6)").all_inner_texts()
    assert set(results) == {"ok"}

    # the graph: every state of the run green, the states it did not enter grey, the taken arrows green
    graph = page.locator("#graph svg")
    assert graph.is_visible()
    for state in DEMO_STAGES:
        assert "succeeded" in graph.locator(f"g.state[data-state='{state}']").get_attribute("class"), state
    for state in ("Rollback", "ReportFailure", "WaitForActive", "WaitBeforeProbe", "VerificationFailed"):
        assert "notrun" in graph.locator(f"g.state[data-state='{state}']").get_attribute("class"), state
    assert graph.locator("path.edge.taken[data-edge='Verify>Report']").count() == 1
    assert graph.locator("path.edge.taken[data-edge='Inspect>Rollback']").count() == 0

    # a stage's input and output (clicking its node in the graph)
    graph.locator("g.state[data-state='PlanRoutes']").click()
    detail = page.locator("#stage-detail")
    assert detail.locator("h3").inner_text().startswith("PlanRoutes")
    assert detail.locator("h4").all_inner_texts() == ["Result (the stage's model)", "Input", "Output"]
    result = detail.locator("pre.json").first.inner_text()  # the StoredPlan: counts and the run store's keys
    assert '"digest"' in result and '"manifest"' in result and '"routeTableId"' not in result
    assert '"plan"' in detail.locator("pre.json").nth(2).inner_text()  # the output document carries it at $.plan

    # routes created (counted in the outcome, listed from the run store), the flows hop by hop, both VPCs
    assert page.locator("#routes h3").first.inner_text() == "Created by this run (2)"
    created = page.locator("#routes table.created tbody tr").all_inner_texts()
    assert len(created) == 2 and all("pcx-" in row for row in created)
    details = page.locator("#details").inner_text()  # s3://<bucket>/runs/<execution name>/ (a pcx-... name)
    assert details.startswith("s3://") and "/runs/pcx-" in details and details.endswith("/"), details
    flows = page.locator("#flows .flow")
    assert flows.count() >= 1 and "reachable" in flows.first.locator(".flow-head").inner_text()
    assert flows.first.locator("ol.hops li").count() >= 3
    network = page.locator("#network")
    assert network.locator(".vpc").count() == 2
    assert "10.6.0.0/16" in network.inner_text() and "10.7.0.0/16" in network.inner_text()
    assert network.locator(".link-peering .badge").inner_text() == "active"
    assert network.locator("tr.via").count() == 2

    shot = ARTIFACTS / "console-execution.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.errors == []  # type: ignore[attr-defined]
    hosts = {urlsplit(u).hostname for u in page.requested}  # type: ignore[attr-defined]
    assert hosts <= {"127.0.0.1"}, hosts


def test_a_run_that_fails_on_a_conflicting_route_is_drawn_red_from_plan_routes_to_failed(demo_emulator, page):
    """A second seed network whose VPC B already routes 10.6.0.0/16 to its internet gateway: PlanRoutes
    refuses the conflict before any change, the Catch runs Rollback and ReportFailure, the run ends Failed."""
    emulator, _ = demo_emulator
    ec2, sfn = emulator.client("ec2"), emulator.client("stepfunctions")
    net = seed.build(ec2)
    ec2.create_route(RouteTableId=net.rtb_b, DestinationCidrBlock="10.6.0.0/16", GatewayId=net.igw_b)
    pcx = seed.request_peering(ec2, net)
    arn = _wait_for_end(sfn, emulator.stack.state_machine_arn, pcx)

    _open(page, f"{emulator.console_url}#/execution/{arn}", "execution")

    assert page.locator("#execution-status").inner_text() == "FAILED"
    assert page.locator(".summary .badge").first.inner_text() == "failed"
    assert f"{net.rtb_b} (accepter VPC {net.vpc_b}) already sends 10.6.0.0/16 to {net.igw_b}, not to {pcx}" in \
        page.locator(".cause.bad").inner_text()
    graph = page.locator("#graph svg")
    state = lambda name: graph.locator(f"g.state[data-state='{name}']").get_attribute("class")  # noqa: E731
    assert "caught" in state("PlanRoutes") and "failed" in state("Failed")
    assert "succeeded" in state("Rollback") and "succeeded" in state("ReportFailure")
    assert "notrun" in state("ApplyRoutes") and "notrun" in state("Verify")
    assert graph.locator("path.edge.taken[data-edge='PlanRoutes>Rollback']").count() == 1
    assert page.locator("#routes table.created").count() == 0  # nothing created
    assert f"{net.rtb_b}" in page.locator("#network").inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-failed-execution.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def _wait_for_end(sfn, machine: str, pcx: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith(pcx)]
        if runs and runs[0]["status"] != "RUNNING":
            return runs[0]["executionArn"]
        time.sleep(0.2)
    raise AssertionError(f"the execution for {pcx} did not end within {RUN_TIMEOUT:.0f} s")


def test_a_run_in_progress_is_drawn_blue_and_its_page_reloads_its_data(demo_emulator, page):
    """The page's side of a run in progress: the emulator's answer for the demo's run, fetched for real,
    with its last state still running (as a history read mid-run shows it): that state is drawn in
    progress, and the page asks again every REFRESH_MS (2 s)."""
    emulator, _ = demo_emulator
    arn = emulator.client("stepfunctions").list_executions(
        stateMachineArn=emulator.stack.state_machine_arn)["executions"][-1]["executionArn"]
    asked: list[str] = []

    def mid_run(route):
        asked.append(route.request.url)
        run = route.fetch().json()
        run["executionStatus"] = "RUNNING"
        run["timeline"][-1].update(result="running", exitedAt=None)
        run["path"]["states"]["Done"] = "running"
        run["path"]["states"].pop("__end__")
        route.fulfill(json=run)

    page.route("**/api/execution?*", mid_run)
    try:
        _open(page, f"{emulator.console_url}#/execution/{arn}", "execution")
        done = page.locator("#graph g.state[data-state='Done']")
        assert "running" in done.get_attribute("class")
        assert "notrun" in page.locator("#graph g.state[data-state='__end__']").get_attribute("class")
        deadline = time.monotonic() + RELOAD_TIMEOUT  # a reload = 2 s + one answer (slower on a loaded machine)
        while len(asked) < 3 and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert len(asked) >= 3, asked  # the first answer and at least two reloads
    finally:
        page.goto("about:blank")  # stops the reloads
        page.unroute_all(behavior="ignoreErrors")  # a reload answered after that is dropped, not raised later


def test_an_unknown_execution_shows_one_sentence_not_a_blank_page(demo_emulator, page):
    emulator, _ = demo_emulator
    arn = f"arn:aws:states:{emulator.region}:{emulator.account}:execution:nope:pcx-0-0"
    page.goto(f"{emulator.console_url}#/execution/{arn}")
    page.wait_for_selector("body[data-ready='error']")
    assert "No execution" in page.locator("main .error").inner_text()


def test_screenshot_path_is_gitignored():
    assert "test-artifacts/" in Path(REPO_ROOT / ".gitignore").read_text().splitlines()
