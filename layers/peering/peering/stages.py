"""The stage table: one row per Lambda function of the stack, the one place a stage is named.

A row ties together what would otherwise be written down in several places:

* ``name`` - the label: what the handler passes to ``runtime.run`` (its log lines and error
  messages), what ``Summary.stage`` reports and what ``peering executions`` shows;
* ``directory`` - the handler's code, ``functions/<directory>/app.py``;
* ``function`` - the function's logical id in ``template.yaml``; the state machine refers to it as
  ``${<function>Arn}`` (``DefinitionSubstitutions``);
* ``states`` - the Task states of ``statemachine/peering.asl.json`` that invoke the function
  (none for the functions started by an event or a schedule);
* ``input`` - the model the handler parses its event with: the whole state document
  (``WorkflowState``), or what the Task's ``Parameters`` select (None: an EventBridge event, which the
  function's own module parses);
* ``result`` - the model one invocation returns (``peering.models``);
* ``key`` - where the state machine puts that result in the state document (``ResultPath: $.<key>``;
  for a Task inside a Parallel or Map state, that state's ``ResultPath`` collects the branches or items).

``tests/unit/test_stages.py`` fails when the ASL, the template, ``functions/`` and this table
disagree. Adding a stage = a row here, a handler, a Task state, a function - and that test says
which one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import (
    Acceptance,
    Activation,
    ApplyRequest,
    ChunkApplied,
    DnsResult,
    Inspection,
    ProbeRequest,
    ProbeRound,
    RollbackResult,
    StoredPlan,
    Summary,
    Verification,
    Wire,
    WorkflowState,
)


@dataclass(frozen=True)
class Stage:
    name: str
    directory: str
    function: str
    states: tuple[str, ...] = ()
    result: type[Wire] | None = None
    key: str | None = None
    input: type[Wire] | None = WorkflowState
    by_name: bool = False
    """Invoked by a name chosen at run time (``arn:aws:states:::lambda:invoke`` with ``FunctionName.$``, inside
    a Map), not through the ``${...Arn}`` substitution: the probe of each side may be another stack's."""

    @property
    def arn_substitution(self) -> str:
        """The ``${...}`` variable the ASL uses for this function's ARN."""
        return f"{self.function}Arn"

    @property
    def in_workflow(self) -> bool:
        return bool(self.states)


INTAKE = Stage("intake", "intake", "IntakeFunction", input=None)
INSPECT = Stage("inspect", "inspect", "InspectFunction", ("Inspect",), Inspection, "inspection")
ACCEPT = Stage("accept", "accept", "AcceptFunction", ("Accept",), Acceptance, "acceptance")
WAIT_ACTIVE = Stage("wait-active", "check_active", "CheckActiveFunction", ("CheckActive",), Activation, "activation")
PLAN_ROUTES = Stage("plan-routes", "plan_routes", "PlanRoutesFunction", ("PlanRoutes",), StoredPlan, "plan")
APPLY_ROUTES = Stage("apply-routes", "apply_routes", "ApplyRoutesFunction", ("ApplyChunk",), ChunkApplied, "routes",
                     ApplyRequest)
DNS = Stage("dns", "dns", "DnsFunction", ("ConfigureDns",), DnsResult, "dns")
PREPARE_PROBE = Stage("prepare-probe", "prepare_probe", "PrepareProbeFunction", ("PrepareProbe",), ProbeRound,
                      "probe")
PROBE = Stage("probe", "probe", "ProbeFunction", ("Probe",), ProbeRequest, "probeRuns", ProbeRequest, by_name=True)
VERIFY = Stage("verify", "verify", "VerifyFunction", ("Verify",), Verification, "verification")
ROLLBACK = Stage("rollback", "rollback", "RollbackFunction", ("Rollback",), RollbackResult, "rollback")
REPORT = Stage("report", "report", "ReportFunction", ("Report", "ReportFailure"), Summary, "report")
SWEEP = Stage("sweep", "sweeper", "SweeperFunction", input=None)
CLEANUP = Stage("cleanup", "cleanup", "CleanupFunction", input=None)

STAGES: tuple[Stage, ...] = (INTAKE, INSPECT, ACCEPT, WAIT_ACTIVE, PLAN_ROUTES, APPLY_ROUTES, DNS, PREPARE_PROBE,
                             PROBE, VERIFY, ROLLBACK, REPORT, SWEEP, CLEANUP)
"""Every function of the stack; the workflow's stages in the order a run goes through them."""

FORWARD: tuple[Stage, ...] = (INSPECT, ACCEPT, WAIT_ACTIVE, PLAN_ROUTES, APPLY_ROUTES, DNS, PREPARE_PROBE, VERIFY)
"""The stages a successful run can go through, in order, each the first to write its ``key``
(``Probe`` rewrites what ``PrepareProbe`` wrote); ``WorkflowState`` tells from them how far a run got."""

_BY_STATE = {state: stage for stage in STAGES for state in stage.states}


def for_state(state_name: str) -> Stage | None:
    """The row of the Task state ``state_name`` (None for Pass, Choice, Wait, Parallel, ... states)."""
    return _BY_STATE.get(state_name)
