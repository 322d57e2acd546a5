"""What a fresh clone must carry for a newcomer: the tutorial the README points to, and the pyenv
version file that lets plain `sam build` find the Lambda runtime's interpreter."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_points_to_the_tutorial_in_the_repository_not_to_a_shared_directory():
    readme = (ROOT / "README.md").read_text()
    assert "docs/tutorial.md" in readme
    assert "shared/seed" not in readme
    assert (ROOT / "docs" / "tutorial.md").is_file()


def test_the_tutorial_keeps_the_seeds_facts():
    text = (ROOT / "docs" / "tutorial.md").read_text()
    steps = re.findall(r"^(\d+)\. ", text, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, 12)]
    for fact in ("peeringVPC-A 10.6.0.0/16", "peeringVPC-B 10.7.0.0/16", "requester = A, accepter = B",
                 "`10.7.0.0/16 -> pcx`", "`10.6.0.0/16 -> pcx`", "**no 0.0.0.0/0** on B", "**no reply**",
                 "**it replies**"):
        assert fact in text, fact


def test_python_version_names_the_lambda_runtimes_python():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation tags
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    runtime = template["Globals"]["Function"]["Runtime"]
    assert runtime == "python" + (ROOT / ".python-version").read_text().strip()


# Readers that may exit before their writer has finished: under `set -o pipefail` the writer then
# dies of SIGPIPE and the pipeline fails with 141 (how stop 17's CI ended, on `make --version | head -n1`).
EARLY_EXIT_READER = re.compile(r"\|\s*(head\b|grep\s+(-\w*[qm]\w*\b|--quiet|--max-count))")


def test_ci_and_make_pipelines_never_end_in_a_reader_that_stops_early():
    for name in (".ci/run", "Makefile"):
        text = (ROOT / name).read_text()
        assert "pipefail" in text, name  # the reason the rule matters in these files
        commands = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        offenders = [line for line in commands if EARLY_EXIT_READER.search(line)]
        assert offenders == [], (name, offenders)


def test_the_early_exit_rule_catches_what_failed_ci_and_lets_full_readers_through():
    assert EARLY_EXIT_READER.search("make --version | head -n1")
    assert EARLY_EXIT_READER.search("x | grep -q foo")
    assert EARLY_EXIT_READER.search("x | grep -m1 foo")
    assert not EARLY_EXIT_READER.search("make --version | sed -n 1p")
    assert not EARLY_EXIT_READER.search('x 2>&1 | { grep -v "^WARNING" || true; }')
    assert not EARLY_EXIT_READER.search("ls | sort -rV")
