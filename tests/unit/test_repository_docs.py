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
