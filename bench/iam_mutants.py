"""``python -m bench.iam_mutants`` (``make mutate-iam``): IAM mutants of template.yaml and accepter-role.yaml.

Each mutant removes or widens one condition the security model relies on, in a copy of the repository;
tests/iam/test_policies.py (the offline evaluator, without the slow recorded-workflow test) must fail on
each. Writes bench/iam-mutants.md with the outcome of every mutant.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "iam-mutants.md"
SKIP = "ec2:ResourceTag/peering-automation/skip: &not-skipped"
MUTANTS: dict[str, tuple[str, str, str]] = {
    "Accept without the in-progress status condition": (
        "template.yaml", "                  ec2:ResourceTag/peering-automation/status: in-progress\n", ""),
    "Accept without the requester-account condition": (
        "template.yaml", "                  ec2:RequesterVpc: !If", "                  ec2:Unused: !If"),
    "Accept without the accepter-account condition": (
        "template.yaml", "                  ec2:AccepterVpc: !If", "                  ec2:Unused2: !If"),
    "CreateTags allowed for every peering-automation/* key": (
        "template.yaml", "ForAllValues:StringEquals:\n                aws:TagKeys: &status-keys\n"
        "                  - peering-automation/status",
        "ForAllValues:StringLike:\n                aws:TagKeys: &status-keys\n"
        "                  - peering-automation/*"),
    "CreateTags without the Null guard on aws:TagKeys": (
        "template.yaml", '              "Null":\n                aws:TagKeys: "false"\n', ""),
    "Route writers without the skip condition": (
        "template.yaml", SKIP, SKIP.replace("/skip", "/not-skip")),
    "AssumeRole into any account": (
        "template.yaml", '"arn:*:iam::${Accounts}:role/peering-autopilot/*"',
        '"arn:*:iam::*:role/peering-autopilot/*"'),
    "Accepter role without the ExternalId": (
        "accepter-role.yaml", "                sts:ExternalId: !Ref ExternalId\n", ""),
    "Accepter role trusting the whole account": (
        "accepter-role.yaml", "              AWS: !Ref TrustedRoleArns",
        "              AWS: !Sub arn:${AWS::Partition}:iam::${TrustedAccountId}:root"),
    "Accepter role accepting requests from any account": (
        "accepter-role.yaml", "ec2:RequesterVpc: !Sub arn:${AWS::Partition}:ec2:*:${TrustedAccountId}:vpc/*\n"
        "              - Sid: AcceptIntoThisAccountsVpcs",
        "ec2:RequesterVpc: arn:*:ec2:*:*:vpc/*\n              - Sid: AcceptIntoThisAccountsVpcs"),
    "Accepter role in every Region": (
        "accepter-role.yaml", "aws:RequestedRegion: !Ref Regions", "aws:RequestedRegionUnused: !Ref Regions"),
    "Accepter role without the skip condition": (
        "accepter-role.yaml", "                    ec2:ResourceTag/peering-automation/skip:\n",
        "                    ec2:ResourceTag/peering-automation/not-skip:\n"),
}


def run_one(workdir: Path, file: str, old: str, new: str) -> bool:
    """True when the policy tests fail on the mutant (killed)."""
    tree = workdir / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv*", "node_modules", "__pycache__",
                                                              ".aws-sam", ".hypothesis", ".pytest_cache"))
    path = tree / file
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"mutant anchor not found in {file}: {old[:60]!r} (the template changed: update the mutant)")
    path.write_text(text.replace(old, new, 1))
    env = dict(os.environ, PYTHONPATH=f"{tree / 'tools'}:{tree / 'layers' / 'peering'}")
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/iam/test_policies.py", "-q", "-x",
                             "-p", "no:cacheprovider", "-k", "not recorded"],
                            cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    return result.returncode != 0


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (file, old, new) in MUTANTS.items():
            killed = run_one(Path(tmp), file, old, new)
            rows.append((name, file, killed))
            print(f"{'killed  ' if killed else 'SURVIVED'} {name}", flush=True)
    killed = sum(k for *_, k in rows)
    lines = ["# IAM mutants", "", "Written by `make mutate-iam` (`python -m bench.iam_mutants`). Each mutant "
             "removes or widens one condition in a copy of the repository; `tests/iam/test_policies.py` must "
             "fail on it.", "",
             f"**{killed} of {len(rows)} killed.**", "", "| mutant | file | result |", "| --- | --- | --- |"]
    lines += [f"| {name} | `{file}` | {'killed' if k else 'SURVIVED'} |" for name, file, k in rows]
    RESULTS.write_text("\n".join(lines) + "\n")
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
