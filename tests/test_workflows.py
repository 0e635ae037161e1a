"""The GitHub Actions workflows: valid YAML, the right triggers, and only CLI commands and
options that exist (a renamed option must not silently break every lab's CI)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from catalogue.cli import main

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as the boolean True
    return workflow.get("on") or workflow.get(True)


def catalogue_calls(workflow: dict) -> list[list[str]]:
    calls = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            script = step.get("run", "")
            script = re.sub(r"\$\{\{[^}]*\}\}", "X", script).replace("\\\n", " ")
            for line in script.splitlines():
                for part in re.split(r"\|\||&&|\||;", line):
                    words = shlex.split(part.strip()) if part.strip() else []
                    if words and words[0] == "catalogue":
                        calls.append(words[1:])
    return calls


def test_there_are_two_workflows():
    assert [f.name for f in FILES] == ["nightly.yml", "pull-request.yml"]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_workflow_is_valid_and_every_step_does_something(path: Path):
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["name"]
    assert triggers(workflow)
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_workflows_call_only_existing_commands_and_options(path: Path):
    calls = catalogue_calls(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert calls
    for words in calls:
        command = main.commands.get(words[0])
        assert isinstance(command, click.Command), f"no command catalogue {words[0]}"
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for word in words[1:]:
            if word.startswith("-"):
                assert word.split("=")[0] in known, f"catalogue {words[0]} has no option {word}"


def test_pull_request_workflow_validates_diffs_builds_and_keeps_a_preview():
    workflow = load("pull-request.yml")
    assert "pull_request" in triggers(workflow)
    calls = catalogue_calls(workflow)
    assert [c[0] for c in calls] == ["validate", "diff", "build"]
    assert calls[0][calls[0].index("--format") + 1] == "github"
    steps = workflow["jobs"]["check"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0  # diff needs the base branch
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "build/"


def test_nightly_workflow_builds_as_of_the_run_date_and_deploys_to_pages():
    workflow = load("nightly.yml")
    on = triggers(workflow)
    (schedule,) = on["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert on["push"]["branches"] == ["main"]
    build = next(c for c in catalogue_calls(workflow) if c[0] == "build")
    assert build[build.index("--today") + 1] == "$(date -u +%F)"
    uses = [s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read", "pages": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_action_is_pinned_by_commit_with_its_version(path: Path):
    """A tag can be moved to other code; a full commit SHA cannot."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if "uses:" in ln]
    assert lines
    for line in lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_permissions_are_granted_per_job_only(path: Path):
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}, "grant permissions per job, not to the workflow"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} must say what it needs"
        assert "write-all" not in str(job["permissions"])


def test_workflows_are_clean_under_zizmor():
    """zizmor (from PyPI, in the test extra), offline: no template injection, no persisted
    credentials, no broad permissions, no unpinned actions, at its pedantic level."""
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    assert Path(zizmor).is_file(), "zizmor not found: pip install -e '.[test]' installs it"
    result = subprocess.run(
        [
            zizmor,
            "--offline",
            "--persona=pedantic",
            "--no-progress",
            "--format=plain",
            str(WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr
