"""What a user installing the wheel gets: the command, the type marker, the licence, the
templates and data, and metadata that says what the project is."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # build from a copy: setuptools writes build/ beside pyproject.toml, and build/ is also
    # where the site goes
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("catalogue", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("catalogue-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_ships_the_type_marker_licence_templates_and_data(wheel: zipfile.ZipFile):
    names = set(wheel.namelist())
    assert "catalogue/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "catalogue/site_templates/study.html" in names
    assert "catalogue/data/spdx-licenses.tsv" in names
    assert "catalogue/deposit/rembi_templates.yaml" in names  # the deposit form's templates
    # the zoomable viewer's committed bundle (users need no Node) and its licences
    assert "catalogue/site_templates/static/viewer/ome-zarr-viewer.js" in names
    assert "catalogue/site_templates/static/viewer/LICENSES.txt" in names
    licence = next(n for n in names if n.endswith("/licenses/LICENSE"))
    assert b"Apache License" in wheel.read(licence)
    assert b"Version 2.0, January 2004" in wheel.read(licence)


def test_wheel_ships_every_module_of_the_package(wheel: zipfile.ZipFile):
    """A new sub-package missing from pyproject's list would be missing for every user."""
    names = set(wheel.namelist())
    modules = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "catalogue").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    missing = [m for m in modules if m not in names]
    assert not missing, f"add their packages to [tool.setuptools] packages: {missing}"


def test_wheel_metadata_names_licence_authors_keywords_and_classifiers(wheel: zipfile.ZipFile):
    meta_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = email.message_from_bytes(wheel.read(meta_name))
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Author"]
    assert "bioimaging" in meta["Keywords"]
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers


def test_console_script_points_at_the_command_group(wheel: zipfile.ZipFile):
    entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    line = next(
        x for x in wheel.read(entry_points).decode().splitlines() if x.startswith("catalogue")
    )
    module, _, attribute = line.split("=", 1)[1].strip().partition(":")
    # the target must be the click group itself, not something that happens to import
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import {module} as m; import sys; sys.argv = ['catalogue', '--help']; "
            f"m.{attribute}()",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "deploy" in result.stdout and "build" in result.stdout


def test_python_dash_m_catalogue_runs_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "catalogue", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "0.1.0" in result.stdout
