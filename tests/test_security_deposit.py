"""`add-files` and symbolic links (issue 17): a link out of the deposit folder or the
study's data folder, or a link loop, is refused with a message naming it; nothing is read
through such a link, nothing written through one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from catalogue.deposit import hashing

from .conftest import copy_root
from .test_deposit import IMAGES, add, rows


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    return copy_root(tmp_path, "minimal")


@pytest.fixture()
def plate(tmp_path: Path) -> Path:
    folder = tmp_path / "deposit"
    for rel, source in [
        ("P1/A01/f1.tif", "worm_fitc_16bit.tif"),
        ("P1/A01/f2.ome.tif", "multi-channel-z-series.ome.tif"),
        ("P1/B02/f1.png", "ihc_histology_rgb.png"),
    ]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(IMAGES / source, folder / rel)
    (folder / "README.txt").write_text("how the plate was imaged\n", encoding="utf-8")
    return folder


def test_link_loops_in_the_deposit_folder_are_named_and_left_out(content: Path, plate: Path):
    (plate / "a.tif").symlink_to(plate / "b.tif")
    (plate / "b.tif").symlink_to(plate / "a.tif")
    (plate / "self.tif").symlink_to(plate / "self.tif")
    (plate / "P1/up").symlink_to(plate, target_is_directory=True)  # a folder loop
    result = add(content, plate)
    assert result.exit_code == 0, result.output
    for name in ("a.tif", "b.tif", "self.tif"):
        assert f"{plate}/{name}: symbolic link loop (it leads back to itself)" in result.output
    assert f"{plate}/P1/up: symbolic link to . inside the folder: not included" in result.output
    paths = {r["path"] for r in rows(content / "studies/S-BIAD2/plates.files.tsv")}
    assert paths == {"P1/A01/f1.tif", "P1/A01/f2.ome.tif", "P1/B02/f1.png", "README.txt"}


def test_a_manifest_linked_out_of_the_study_folder_is_refused(
    content: Path, plate: Path, tmp_path: Path
):
    """Its lines would be kept as the manifest's rows: another file of the machine copied
    into a published study."""
    outside = tmp_path / "private.tsv"
    outside.write_text("path\tsize\nsecret-patient-list.txt\t1\n", encoding="utf-8")
    study = content / "studies/S-BIAD2/study.yaml"
    study.write_text(
        study.read_text() + "datasets:\n  - id: plates\n    title: P\n    files: plates.files.tsv\n"
    )
    manifest = content / "studies/S-BIAD2/plates.files.tsv"
    manifest.symlink_to(outside)
    result = add(content, plate)
    assert result.exit_code != 0
    folder = content / "studies/S-BIAD2"
    assert f"{manifest} is a symbolic link out of {folder}; refused" in result.output
    assert manifest.is_symlink() and "secret" in outside.read_text()


def test_a_study_yaml_in_a_loop_is_refused(content: Path, plate: Path):
    study = content / "studies/S-BIAD2/study.yaml"
    study.unlink()
    study.symlink_to(study)
    result = add(content, plate)
    assert result.exit_code != 0
    assert f"{study} is a symbolic link loop; refused" in result.output
    assert "Traceback" not in result.output


def test_a_data_folder_linked_out_of_the_content_tree_receives_nothing(
    content: Path, plate: Path, tmp_path: Path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (content / "data").mkdir(exist_ok=True)
    (content / "data/S-BIAD2").symlink_to(elsewhere, target_is_directory=True)
    result = add(content, plate, "--copy")
    assert result.exit_code != 0
    assert f"{content / 'data/S-BIAD2'} is a symbolic link out of {content}" in result.output
    assert list(elsewhere.iterdir()) == []


def test_a_link_inside_the_data_folder_is_not_written_through(
    content: Path, plate: Path, tmp_path: Path
):
    """A subfolder of the data folder that links elsewhere: the copy of the file that
    belongs there is refused, not written to the other place."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (content / "data/S-BIAD2/P1").mkdir(parents=True)
    (content / "data/S-BIAD2/P1/A01").symlink_to(elsewhere, target_is_directory=True)
    result = add(content, plate, "--copy")
    assert "P1/A01/f1.tif: cannot be placed in data_root" in result.output, result.output
    assert "leads out of it" in result.output
    assert list(elsewhere.iterdir()) == []
    assert (content / "data/S-BIAD2/P1/B02/f1.png").is_file()  # the others are placed


def test_a_file_swapped_for_a_link_after_the_walk_is_not_read(tmp_path: Path):
    """Between the walk (a regular file) and hashing, the file becomes a link to a file
    elsewhere: it is not hashed, and not copied into the data folder."""
    secret = tmp_path / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    folder = tmp_path / "deposit"
    folder.mkdir()
    (folder / "f.txt").symlink_to(secret)
    st = os.stat(secret)
    dest = tmp_path / "data"
    task = hashing.Task(
        str(folder / "f.txt"), "f.txt", st.st_size, st.st_mtime_ns, place=f"copy:{dest}/f.txt"
    )
    (result,) = hashing.process_chunk([task])
    assert result["error"].startswith("cannot be read"), result
    assert "sha256" not in result and not dest.exists()
