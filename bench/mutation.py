"""``python -m bench.mutation [MODULE ...]`` (``make mutate``): mutation testing of the layer's logic with mutmut.

For each module (default: all of ``MODULES``) mutmut 3 mutates ``layers/peering/peering/<module>.py`` (a dotted
name is a file in a subpackage: ``workflow.intake`` is ``workflow/intake.py``) and runs, for
each mutant, the tests of that module's subset that reach the mutated function. The results replace that module's
section of bench/mutation.md (killed/survived counts, run time, commit, and every surviving mutant with either the
reason it is equivalent, from ``EQUIVALENT``, or "unexplained"); the other modules' sections are kept, so
``python -m bench.mutation plan`` re-measures one module.

Why a staging directory: mutmut names a mutant after its file's path relative to the working directory and
expects the tests to import it under that name, so ``layers/peering/peering/plan.py`` would be the module
``layers.peering.peering.plan`` while the tests import ``peering.plan``. ``.mutmut/<module>/`` holds symbolic
links to the layer package (as ``peering``), ``tests`` and ``events`` and a pyproject.toml with the mutmut and
pytest settings; mutmut copies them into ``.mutmut/<module>/mutants/`` and runs pytest there, one worker
(``--max-children 1``: the machine is shared). Each run starts from an empty staging directory, so every figure
comes from the code as it is now.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "mutation.md"
STAGING = ROOT / ".mutmut"
LAYER = ROOT / "layers" / "peering" / "peering"
GOAL = 0.90

# Module -> the tests that exercise it. The fast subsets (tests/unit, tests/functional): mutmut first runs the
# whole subset once to learn which test reaches which function, then runs only those tests for each mutant.
MODULES: dict[str, list[str]] = {
    "plan": ["tests/unit/test_plan.py", "tests/unit/test_plan_rules.py", "tests/unit/test_flows.py"],
    "analysis": ["tests/unit/test_analysis.py", "tests/unit/test_analysis_sentences.py", "tests/unit/test_flows.py",
                 "tests/unit/test_dataplane_layout.py", "tests/unit/test_analysis_components.py"],
    "once": ["tests/unit/test_lease.py", "tests/unit/test_once.py"],
    "cleanup": ["tests/unit/test_runs_sweeper_cleanup.py", "tests/unit/test_cleanup_sweep.py"],
    "sweeper": ["tests/unit/test_runs_sweeper_cleanup.py", "tests/unit/test_cleanup_sweep.py"],
    # The workflow's stage groups (peering/workflow/*.py, named by their dotted module path): each stage called
    # with a Deps on moto in-process, as tests/workflow's slow end-to-end runs cannot be per mutant.
    "workflow.intake": ["tests/unit/test_workflow_intake.py"],
    "workflow.accept": ["tests/unit/test_workflow_accept.py"],
    "workflow.common": ["tests/unit/test_workflow_accept.py"],
    "workflow.inspect": ["tests/unit/test_workflow_inspect.py"],
    "workflow.routes": ["tests/unit/test_workflow_routes.py"],
    "workflow.verify": ["tests/unit/test_workflow_verify.py"],
    "workflow.report": ["tests/unit/test_workflow_report.py"],
}

# Timed tests, which fail under mutmut's tracing on a loaded machine whatever the mutant: left out of the runs.
DESELECT = ["tests/unit/test_analysis.py::test_a_thousand_tables_and_a_thousand_rules_analyse_quickly"]

# Surviving mutants that no test can kill because the mutant behaves as the original does, found by
# (module, function as mutmut names it, the mutated line exactly as mutmut shows it): mutmut numbers a function's
# mutants in order, so the number is left out; when the line changes, the survivor is reported as unexplained
# until this table is brought up to date.
_FALSY = "is only read as a truth value, where None and False (or '') read alike"
_PORTS = "flow_text ignores ports for a protocol without them (ICMP, protocol numbers)"
# The arguments of a state.model_dump(...) call as mutmut rewrites its mode: None, left out, or another string (pydantic
# reads any mode other than 'json' as python mode).
_DUMP_MODE_MUTANTS = ('mode=None, by_alias=True, exclude_none=True', 'by_alias=True, exclude_none=True',
                      'mode="XXjsonXX", by_alias=True, exclude_none=True',
                      'mode="JSON", by_alias=True, exclude_none=True')
EQUIVALENT: dict[tuple[str, str, str], str] = {
    # plan.py
    ("plan", "x_network", "return ipaddress.ip_network(cidr.strip(), strict=None)"):
        "ipaddress only tests `if strict:` (Python 3.13 ipaddress.py:1553 IPv4Network, :2329 IPv6Network), so "
        "None reads as False.",
    ("plan", "x_plan_side", 'existing_destination=r.destination, existing_target=r.target or "XXXX")'):
        "shadows() returns False for a route without a target (its first test), so every route in `overlap` "
        "has one and the fallback is never taken.",
    **{("plan", "x_shadows", f'if route.target in (None, "local", peering_id) or route.origin == "{origin}":'):
       "a route whose origin is CreateRouteTable is the local route EC2 creates with the table (EC2 API "
       "reference, Route.Origin), whose target is `local`: the first test of the line already excludes it, so "
       "the origin test never decides alone."
       for origin in ("XXCreateRouteTableXX", "createroutetable", "CREATEROUTETABLE")},
    # once.py
    ("once", "x_start_once",
     "reason=f\"Execution {name} already ran for this trigger ({(status or 'GONE').lower()}).\")"):
        "'GONE'.lower() is 'gone'.",
    # cleanup.py
    ("cleanup", "x_owned",
     'return not workflow_name or f":execution:{workflow_name}:" in peering.tags.get(EXECUTION_TAG, "XXXX")'):
        "'XXXX' holds no ':execution:' either: a missing execution tag reads as not this workflow's, as '' does.",
    # sweeper.py
    ("sweeper", "x_sweep",
     "cleaned = [cleanup.clean(pcx, described[pcx], raise_on_problem=None) for pcx in dangling(tables, described)]"):
        "Cleanup.clean reads `raise_on_problem` only as a truth value (`if problems and raise_on_problem`), where "
        "None and False read alike.",
    # workflow/inspect.py
    **{("workflow.inspect", "x__probe_target_refusal",
        f"hosts = [t.host for _, t in tagged_targets(tagged, {limit})]  # host:port and icmp:host items"):
       "the limit only has to keep every target (flows.tagged_targets returns `found[:limit]`): an EC2 tag value "
       "is at most 256 characters (EC2 API reference, Tag), so a tag holds far fewer than 10,000 targets, and "
       "`found[:None]` keeps them all too."
       for limit in ("None", "10001")},
    **{("workflow.inspect", "x__probe_target_refusal",
        f"return sentence(f\"The {{PROBE_TARGETS_TAG}} tag is not usable: {{str(e).{strip}}}\")"):
       "the message is passed through `sentence`, which adds the final period only when the text lacks one; the "
       "tag parser's messages (flows.tagged_targets, probe.parse_targets) end in one period after a letter or ')' "
       "and begin with a letter, so stripping the period (or not, or 'X's as well, or from the left) gives the "
       "same sentence."
       for strip in ("rstrip(None)", "lstrip('.')", "rstrip('XX.XX')")},
    ("workflow.inspect", "x_inspect", "duplicate = claimed_elsewhere(deps.sfn(), deps.leases(required=None), state)"):
        "Deps.leases reads `required` only as a truth value (`if required:`), where None and False read alike.",
    **{("workflow.inspect", "x_inspect",
        f"document = runstore.canonical({{**state.model_dump({args}),"):
       "at Inspect the state document holds only the peering id, the execution ARN and the execution's input "
       "(already JSON): pydantic dumps those alike in python and JSON mode, and any mode string other than 'json' "
       "is python mode (pydantic_core/_pydantic_core.pyi:335 names the two; checked with 'XXjsonXX' on such a "
       "state)."
       for args in _DUMP_MODE_MUTANTS},
    ("workflow.inspect", "x_inspect", '"INSPECTION": inspection.wire()})'):
        "the document is built only to be measured (`len(document)` for runstore.guard), and 'INSPECTION' is as "
        "long as 'inspection'.",
    # workflow/routes.py
    **{("workflow.routes", "x_plan_routes", f"document = runstore.canonical(state.model_dump({args}))"):
       "at PlanRoutes the state document holds only strings, numbers, booleans, lists and mappings (the records "
       "inside it are dataclasses of those): pydantic dumps them alike in python and JSON mode, and any mode string "
       "other than 'json' is python mode (pydantic_core/_pydantic_core.pyi:335 names the two); json.dumps then "
       "writes the same text."
       for args in _DUMP_MODE_MUTANTS},
    # workflow/verify.py
    ("workflow.verify", "x__facts_of", ""):
        "(the subnets left out) _facts_of feeds only plan_flows, which reads subnets only to find the side holding "
        "a tagged target and falls back to the two VPCs' blocks, which hold every subnet of theirs.",
    ("workflow.verify", "x__facts_of",
     "instances=[Instance(instance_id=None, vpc_id=i.vpc_id, state=i.state,"):
        "_facts_of feeds only plan_flows, which reads an instance's VPC, state and address (flows.running_ips), "
        "never its id.",
    ("workflow.verify", "x__facts_of", "private_ip=i.ips[0] if (i.ips) or True else None)"):
        "an instance's interface always has its primary private address (EC2 API reference, "
        "NetworkInterface.PrivateIpAddress; peering.aws.parse reads it first), so `i.ips` is never empty here.",
    ("workflow.verify", "x_prepare_probe", "if placements or not notes:"):
        "`notes` is empty exactly when the stack's probe is placed in a side; without one, placements come only "
        "from probes tagged for sides with asked flows, and each of those makes a run: with no runs, placements "
        "and notes are never both non-empty, so `and` and `or` decide alike.",
    **{("workflow.verify", "x_prepare_probe",
        f'return ProbeRound(applicable=False, reason={reason}, **common)'):
       "there is at most one note (the probe is missing or outside both VPCs, or, only when neither, the note "
       "that it has nothing to send), and never none: no run and no note means the stack's probe was placed, "
       "which adds the 'nothing to send' note; so the separator and the fallback are never used."
       for reason in ('"XX XX".join(notes) or "No probe applies."', '" ".join(notes) or "XXNo probe applies.XX"',
                      '" ".join(notes) or "no probe applies."', '" ".join(notes) or "NO PROBE APPLIES."')},
    # workflow/report.py
    ("workflow.report", "x__had_reason", "peering = state.inspection.peering if (state.inspection) or True else None"):
        "_had_reason is asked only for a run tagged verified or routed; tagging needs an inspected peering or an "
        "error, and a run with an error is failed: state.inspection is never None there.",
    **{("workflow.report", "x__with_chunk_failure", f"_chunk_keys(stored, runstore.applied_key), {strict}):"):
       "both key lists come from _chunk_keys over the same stored plan, so they always have the same length."
       for strict in ("strict=None", "", "strict=False")},
    **{("workflow.report", "x__with_chunk_failure",
        f'cause = json.dumps({{"errorMessage": failed.message, "{key}": failed.error}})'):
       "the rewritten error feeds only failure_sentence, which reads the cause's errorMessage, and failed_stage, "
       "which reads neither: the summary is the same."
       for key in ("XXerrorTypeXX", "errortype", "ERRORTYPE")},
    ("workflow.report", "x__with_chunk_failure",
     'return state.model_copy(update={"error": ErrorInfo(Cause=cause)})'):
        "failure_sentence reads Error only when the cause has no errorMessage, and this cause always has one; the "
        "summary carries no error name.",
    ("workflow.report", "x_failure_sentence", 'parsed = ""'):
        "`parsed` is only tested with isinstance(parsed, dict), which '' and None both fail.",
    ("workflow.report", "x_release_lease", "leases = deps.leases(required=None)"):
        "Deps.leases reads `required` only as a truth value (`if required:`), where None and False read alike.",
    **{("workflow.report", "x_release_lease",
        f"leases.release(state.peering_id, execution_name=state.execution_arn.{split})"):
       "the last ':'-separated piece of an ARN is the same whatever the number of splits, and with one split of an "
       "ARN holding ':execution:' (tested just before) the list has exactly two items, so [+1] is [-1]."
       for split in ('rsplit(":", )[-1]', 'rsplit(":", 2)[-1]', 'rsplit(":", 1)[+1]')},
    **{("workflow.report", "x_report", f"deps.metric(f\"Peerings{{summary.status.value.title().{replace}}}\", 1)"):
       "summarize returns only the statuses failed, rejected, verified and routed (models.Status), none of which "
       "holds '-'."
       for replace in ("replace('XX-XX', '')", "replace('-', 'XXXX')")},
    # analysis.py
    ("analysis", "x__acl_admits", "return _AclVerdict(None, (entry.rule_number,), hits)"):
        f"_AclVerdict.allowed {_FALSY} (`if acl_verdict.allowed`).",
    ("analysis", "x__acl_admits", "return _AclVerdict(None, (IMPLICIT_DENY_RULE,), tuple(remaining))"):
        f"_AclVerdict.allowed {_FALSY} (`if acl_verdict.allowed`).",
    ("analysis", "x__sg_admits", "return _SgVerdict(None, left, note)"):
        f"_SgVerdict.admitted {_FALSY} (`if not verdict.admitted`).",
    ("analysis", "x__sg_admits", "note = None"):
        f"`note` {_FALSY}: `note or ...`, `not note`, `if verdict.note`, and the join of `(by, note) if d`.",
    ("analysis", "x_analyze",
     "verdict = _sg_admits(snapshot, dst_groups, None, number, port, src.peer, src.groups, references_apply, across)"):
        f"`egress` {_FALSY} (`group.egress if egress else group.ingress`).",
    **{("analysis", "x__port_range", f"return (low, high if high is not None and {test} else low)"):
       "differs only when to_port is 0 and from_port above 0, a range that ends before it starts; with "
       "from_port 0 both read (0, 0)."
       for test in ("high > 0", "high >= 1")},
    ("analysis", "x__route_hop", "best_length = -2"):
        "prefix lengths are at least 0, so the first containing route beats -1 and -2 alike.",
    ("analysis", "x__route_hop", "if route_net.prefixlen >= best_length:"):
        "two containing routes of one prefix length would be one network (networks of one length are "
        "disjoint), and a table holds one route per destination: ties never happen.",
    ("analysis", "x__route_hop", 'target = route.target or "XXXX"'):
        "`usable` only asks whether the target starts with pcx- or is the wanted peering; neither '' nor "
        "'XXXX' does.",
    ("analysis", "x__route_hop", "chosen = best if (best in deciding) and False else deciding[0]"):
        "every deciding route passed `usable`. On the route hop `to` is one address, so no route lies inside "
        "it and `deciding` is [best]; on the route-back hop `want` is the crossing's peering, so every deciding "
        "route has that target: the chosen route's target and the sentence's are the same.",
    ("analysis", "x__route_hop", "chosen = best if best in deciding else deciding[1]"):
        "best is missing from `deciding` only when the routes inside `to` cover it whole, which takes at least "
        "two of them (each is strictly smaller), all with the wanted peering as target.",
    ("analysis", "x__route_hop", 'return chosen.target or "XXXX"'):
        "the chosen route passed `usable`, so its target starts with pcx-; the fallback is never taken.",
    ("analysis", "x_analyze", 'peering = snapshot.peerings.get(peering_id or "XXXX")'):
        "Snapshot.peerings is keyed by peering ids, which start with pcx- (records.PEERING_ID_PATTERN): without a "
        "peering id, '' and 'XXXX' both find none.",
    ("analysis", "x_analyze", 'protocol: str = "TCP") -> PathResult:'):
        "protocol_number lowercases its argument: 'TCP' and 'tcp' are both 6.",
    ("analysis", "x_analyze", "via if (crossing) or True else None)"):
        "without a crossing the destination is in the source's VPC, and the route-back hop answers with the "
        "local route before it reads `want`.",
    ("analysis", "x_analyze", 'across = crossing.peering_id if crossing else "XXXX"'):
        "`across` is read only in the note about an inter-region peering, which needs a crossing.",
    ("analysis", "x_analyze", 'whole = "all of " if src.peer.num_addresses > 2 else ""'):
        "differs only for a source of exactly two addresses (/31, /127): a host is one address and a subnet "
        "is at least a /28 (IPv4) or a /64 (IPv6) on EC2.",
    ("analysis", "x_analyze", "replies = EPHEMERAL_PORTS if (number in PORTED) or True else ALL_PORTS"):
        "for a protocol without ports every ACL entry covers all ports (`_port_range`), so 1024-65535 and "
        f"0-65535 get the same verdict and the same denied ranges, and {_PORTS}.",
    ("analysis", "x_analyze", "service = (port, port) if (number in PORTED) or True else ALL_PORTS"):
        "for a protocol without ports every ACL entry covers all ports (`_port_range`), so (port, port) and "
        f"0-65535 get the same verdict, and {_PORTS}.",
    ("analysis", "xǁSnapshotǁblock_holding", "for cidr in self.vpc_cidrs.get(vpc_id, ()) if (vpc_id) or True else ():"):
        "vpc_cidrs is keyed by VPC id: .get(None, ()) is () as the `else` branch is.",
    ("analysis", "x_analyze", "what = flow_text(number, ports if (number in PORTED) or True else None)"):
        f"{_PORTS}.",
    ("analysis", "x_analyze",
     "f\"{destination_ip} is in no subnet of {snapshot.vpc_label(dst_vpc or 'XX?XX')} in the snapshot.\")"):
        "reached only with dst_vpc set: through the local route (which needs it) or after a crossing, which "
        "sets it to the peering's far side.",
}

KILLED = {"killed", "timeout", "caught by type check"}


@dataclass
class Outcome:
    module: str
    tests: list[str]
    seconds: float
    commit: str
    date: str
    statuses: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, str] = field(default_factory=dict)

    @property
    def killed(self) -> int:
        return sum(status in KILLED for status in self.statuses.values())

    @property
    def not_killed(self) -> list[str]:
        return sorted((name for name, status in self.statuses.items() if status not in KILLED), key=_natural)


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _mutmut() -> str:
    script = Path(sys.executable).parent / "mutmut"
    if not script.exists():
        raise SystemExit(f"mutmut is not installed next to {sys.executable}: install the dev extra (pyproject.toml)")
    return str(script)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _pyproject(module: str, tests: list[str]) -> str:
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    pytest_options = {key: value for key, value in pytest_options.items() if key != "testpaths"}
    mutmut = {
        "source_paths": ["peering"],
        "only_mutate": [source(module)],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", *(f"--deselect={test}" for test in DESELECT)],
        "also_copy": ["events"],
        "use_git_change_detection": False,
    }
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in mutmut.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()]
    return "\n".join(lines) + "\n"


def source(module: str) -> str:
    """The mutated file, relative to the staging directory: ``workflow.intake`` -> ``peering/workflow/intake.py``."""
    return f"peering/{module.replace('.', '/')}.py"


def stage(module: str, tests: list[str]) -> Path:
    where = STAGING / module
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    (where / "peering").symlink_to(LAYER)
    (where / "tests").symlink_to(ROOT / "tests")
    (where / "events").symlink_to(ROOT / "events")
    (where / "pyproject.toml").write_text(_pyproject(module, tests))
    return where


def run_module(module: str) -> Outcome:
    tests = MODULES[module]
    where = stage(module, tests)
    # Only the tooling from this tree on the path: the layer must come from mutmut's mutated copy.
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools"))
    dirty = _git("status", "--porcelain", "--", "layers", "tests")
    commit = _git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")
    started = time.monotonic()
    with (where / "run.log").open("w") as log:  # mutmut's progress, readable while it runs
        run = subprocess.run([_mutmut(), "run", "--max-children", "1"], cwd=where, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise SystemExit(f"mutmut run failed for {module} (exit {run.returncode}); see {where / 'run.log'}")
    (where / "run.json").write_text(json.dumps({"tests": tests, "seconds": seconds, "commit": commit,
                                                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}))
    return read_module(module)


def read_module(module: str) -> Outcome:
    """The verdicts of the last run of ``module`` (its staging directory), without running anything."""
    where = STAGING / module
    if not (where / "run.json").exists():
        raise SystemExit(f"{module} has no finished run in {where}: run `python -m bench.mutation {module}` first")
    meta = json.loads((where / "run.json").read_text())
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools"))
    outcome = Outcome(module, meta["tests"], meta["seconds"], meta["commit"], meta["date"])
    # One process reads every verdict and every survivor's diff through mutmut's own readers (as `mutmut
    # results` and `mutmut show` do, without a process per mutant).
    read = subprocess.run([sys.executable, "-c", _READ_RESULTS, source(module)], cwd=where, env=env,
                          capture_output=True, text=True, check=True)
    for name, (status, diff) in json.loads(read.stdout).items():
        outcome.statuses[name] = status
        if diff is not None:
            outcome.diffs[name] = "\n".join(line for line in diff.splitlines()
                                            if line.startswith(("-", "+", "@")) and not line.startswith(("---", "+++")))
    if not outcome.statuses:
        raise SystemExit(f"mutmut reported no mutants for {module}; see {where / 'run.log'}")
    return outcome


_READ_RESULTS = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
data = SourceFileMutationData(path=sys.argv[1])
data.load()
out = {}
for name, code in data.exit_code_by_key.items():
    status = status_by_exit_code[code]
    out[name] = [status, None if status == "killed" else get_diff_for_mutant(name, path=data.path)]
print(json.dumps(out))
"""


def _mutated_line(diff: str) -> str:
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    return added[0] if added else ""


def explanation(name: str, diff: str) -> str | None:
    """Why the mutant ``name`` (peering.<module>.<function>__mutmut_<n>, the module dotted, a method's class and
    name joined by ǁ) is equivalent, if EQUIVALENT says so."""
    module, _, function = name.rpartition("__mutmut_")[0].removeprefix("peering.").rpartition(".")
    return EQUIVALENT.get((module, function, _mutated_line(diff)))


def section(outcome: Outcome) -> str:
    total = len(outcome.statuses)
    share = outcome.killed / total
    others: dict[str, int] = {}
    for status in outcome.statuses.values():
        if status not in KILLED:
            others[status] = others.get(status, 0) + 1
    lines = [f"## {outcome.module}", "",
             f"<!-- module:{outcome.module} killed={outcome.killed} total={total} seconds={outcome.seconds:.0f} "
             f"commit={outcome.commit} -->",
             f"`layers/peering/{source(outcome.module)}` at `{outcome.commit}`, {outcome.date}: "
             f"**{outcome.killed} of {total} killed ({share:.1%})**"
             + (", " + ", ".join(f"{count} {status}" for status, count in sorted(others.items())) if others else "")
             + f"; mutmut run {outcome.seconds:.0f} s over " + ", ".join(f"`{t}`" for t in outcome.tests) + ".", ""]
    for name in outcome.not_killed:
        diff = outcome.diffs.get(name, "")
        why = explanation(name, diff)
        status = outcome.statuses[name]
        lines += [f"- `{name}` ({status}): " + (f"equivalent: {why}" if why else "**unexplained**"), "",
                  "  ```diff"] + [f"  {line}" for line in diff.splitlines()] + ["  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


HEADER = """# Mutation testing

Written by `make mutate` (`python -m bench.mutation [MODULE ...]`; `make mutate MODULES=plan` re-measures one
module and keeps the others' sections). mutmut {version} mutates each function of the module (operators,
comparisons, constants, strings, arguments, return values) and runs the tests that reach it; a mutant is
*killed* when a test fails (or it times out). Goal: at least {goal:.0%} killed per module, and every mutant that
survives is either killed by a new test or explained below as equivalent (it behaves as the original does).

| module | killed | mutants | killed % | not killed | unexplained | run time | commit |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
"""


def _read_sections() -> dict[str, str]:
    if not RESULTS.exists():
        return {}
    sections: dict[str, str] = {}
    for chunk in re.split(r"(?m)^(?=## )", RESULTS.read_text()):
        match = re.match(r"## ([\w.]+)\n", chunk)
        if match and match.group(1) in MODULES:
            sections[match.group(1)] = chunk.rstrip() + "\n"
    return sections


def write(outcomes: list[Outcome]) -> None:
    sections = _read_sections()
    for outcome in outcomes:
        sections[outcome.module] = section(outcome)
    from importlib.metadata import version
    text = HEADER.format(version=version("mutmut"), goal=GOAL)
    for module in MODULES:
        chunk = sections.get(module)
        if chunk is None:
            text += f"| {module} | | | not measured | | | | |\n"
            continue
        meta = dict(re.findall(r"(\w+)=(\S+)", re.search(r"<!-- module:(.*?) -->", chunk).group(1)))
        killed, total = int(meta["killed"]), int(meta["total"])
        unexplained = chunk.count("**unexplained**")
        text += (f"| {module} | {killed} | {total} | {killed / total:.1%} | {total - killed} | {unexplained} "
                 f"| {meta['seconds']} s | `{meta['commit']}` |\n")
    text += "\n" + "\n".join(sections[module] for module in MODULES if module in sections)
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--report", action="store_true",
                        help="rewrite bench/mutation.md from the last runs (e.g. after explaining a survivor)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        print(f"error: unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}.", file=sys.stderr)
        return 2
    outcomes = []
    for module in args.modules or list(MODULES):
        print(f"==> mutmut: {module} ({', '.join(MODULES[module])})", flush=True)
        outcome = read_module(module) if args.report else run_module(module)
        outcomes.append(outcome)
        write(outcomes)
        print(f"    {outcome.killed} of {len(outcome.statuses)} killed, {outcome.seconds:.0f} s", flush=True)
    below = [o.module for o in outcomes if o.killed / len(o.statuses) < GOAL]
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
