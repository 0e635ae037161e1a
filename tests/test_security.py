"""One test per class of fault a hostile trial found (issue 17), each failing without its
defence: version history leaking an embargoed study, tracebacks instead of `path:line`
problems, symlinks out of the content tree, hostile paths, base URLs and DOIs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue.cli import main

from .conftest import ROOTS, TODAY, build_site, site_files
from .test_lifecycle import commit, git

MINIMAL = ROOTS / "minimal" / "content"


def validate(content: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", "--content", str(content)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def with_dataset(study: str, dataset: str, manifest: str) -> str:
    return study.rstrip("\n") + (
        f"\ndatasets:\n  - id: {dataset}\n    title: Raw\n    files: {manifest}\n"
    )


# --- 1. version history must not name an embargoed study -------------------------------


def test_a_file_moved_out_of_an_embargoed_study_brings_no_history(tmp_path: Path):
    """`git mv` of a manifest from the embargoed S-BIAD2 into the public S-BIAD1: the public
    study's page and record show the file as added, never S-BIAD2's path, nor the commits
    that touched only S-BIAD2."""
    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    public = (content / "studies/S-BIAD1/study.yaml").read_text()
    secret = (content / "studies/S-BIAD2/study.yaml").read_text()
    git(repo, "init", "-q", "-b", "main")
    shutil.rmtree(content / "studies/S-BIAD2")
    commit(repo, "Add S-BIAD1", "2024-01-05")
    s2 = content / "studies/S-BIAD2"
    s2.mkdir()
    (s2 / "study.yaml").write_text(with_dataset(secret, "raw", "raw.files.tsv"))
    (s2 / "raw.files.tsv").write_text("path\tsize\nraw_01.tif\t10\n")
    only_secret = [commit(repo, "Add the zanzibarite study", "2024-02-01")]
    (s2 / "raw.files.tsv").write_text("path\tsize\nraw_01.tif\t12\n")
    only_secret.append(commit(repo, "Correct sizes", "2024-03-01"))
    git(repo, "mv", "content/studies/S-BIAD2/raw.files.tsv", "content/studies/S-BIAD1/")
    (s2 / "study.yaml").write_text(secret)
    (content / "studies/S-BIAD1/study.yaml").write_text(
        public.rstrip("\n") + "\n  - id: raw\n    title: Raw\n    files: raw.files.tsv\n"
    )
    moved = commit(repo, "Move the raw files", "2024-04-01")
    out = tmp_path / "build"
    build_site(content, out)
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    first = record["versions"][0]
    assert first["commit"] == moved
    assert {"status": "added", "path": "raw.files.tsv"} in first["changes"]
    assert first["subject"] == ""  # the commit also changed the embargoed study
    shown = [v["commit"] for v in record["versions"]]
    assert not set(only_secret) & set(shown)
    leaks = [b"S-BIAD2", b"s-biad2", b"zanzibarite", *(c.encode() for c in only_secret)]
    leaks += [c[:12].encode() for c in only_secret]
    for path, data in site_files(out):
        for word in leaks:
            assert word not in data, (path, word)


def test_a_file_moved_into_an_embargoed_study_is_gone_from_the_public_one(tmp_path: Path):
    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "Add both", "2024-01-05")
    secret = (content / "studies/S-BIAD2/study.yaml").read_text()
    public = (content / "studies/S-BIAD1/study.yaml").read_text()
    git(repo, "mv", "content/studies/S-BIAD1/images.files.tsv", "content/studies/S-BIAD2/")
    (content / "studies/S-BIAD2/study.yaml").write_text(
        with_dataset(secret, "images", "images.files.tsv")
    )
    (content / "studies/S-BIAD1/study.yaml").write_text(
        public.split("datasets:")[0] + "datasets:\n  - id: none\n    title: Nothing yet\n"
    )
    moved = commit(repo, "Move the images to S-BIAD2", "2024-04-01")
    out = tmp_path / "build"
    build_site(content, out)
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    assert record["versions"][0]["commit"] == moved
    assert {"status": "deleted", "path": "images.files.tsv"} in record["versions"][0]["changes"]
    for path, data in site_files(out):
        assert b"S-BIAD2" not in data, path


def test_a_subject_naming_an_embargoed_study_is_blanked_where_it_names_it(tmp_path: Path):
    """Commits that touch only the public S-BIAD1 but name the embargoed S-BIAD2 by its
    accession, a word of its title (alone, capitalised, as the start of a longer word),
    its DOI or its EMPIAR id: the words go, the rest of the subject stays readable; a
    subject naming nothing embargoed is shown whole."""
    repo = tmp_path / "repo"
    content = repo / "content"
    shutil.copytree(MINIMAL, content)
    secret = content / "studies/S-BIAD2/study.yaml"
    secret.write_text(
        secret.read_text()
        + "doi: 10.99999/reserved.777\nkeywords: [quokkamite]\n"
        + "source: {name: EMPIAR, url: 'https://www.ebi.ac.uk/empiar/EMPIAR-55501/', "
        + "id: EMPIAR-55501}\n"
    )
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "Start", "2024-01-05")
    public = content / "studies/S-BIAD1/study.yaml"
    subjects = [
        "Compare S-BIAD1 with s-biad2",
        "Link S-BIAD1 to the Zanzibarite atlas",
        "Mention zanzibarites and quokkamite",
        "Cite 10.99999/RESERVED.777 from S-BIAD1",
        "Same sample as EMPIAR-55501",
        "Fix the worm images of S-BIAD1",
    ]
    for i, subject in enumerate(subjects):
        public.write_text(public.read_text() + f"# {i}\n")
        commit(repo, subject, f"2024-02-0{i + 1}")
    out = tmp_path / "build"
    build_site(content, out)
    record = json.loads((out / "api/v1/studies/S-BIAD1.json").read_text())
    shown = [v["subject"] for v in record["versions"]][::-1][1:]
    hidden = "[not yet public]"
    assert shown == [
        f"Compare S-BIAD1 with {hidden}",
        f"Link S-BIAD1 to the {hidden} atlas",
        f"Mention {hidden} and {hidden}",
        f"Cite {hidden} from S-BIAD1",
        f"Same sample as {hidden}",
        "Fix the worm images of S-BIAD1",
    ]
    page = (out / "studies/S-BIAD1/index.html").read_text(encoding="utf-8")
    assert "Fix the worm images of S-BIAD1" in page
    words = [b"s-biad2", b"zanzibarite", b"quokkamite", b"reserved.777", b"55501"]
    for path, data in site_files(out):
        for word in words:
            assert word not in data.lower(), (path, word)


# --- 2. bad input is a `path:line` problem, never a traceback ---------------------------


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("studies/S-BIAD1/study.yaml", "key: &a [*a]\n", "recursive alias"),
        ("site.yaml", "key: &a [*a]\n", "recursive alias"),
        ("site.yaml", "key: &a {<<: *a}\n", ""),  # a merge of itself: nothing to merge
        ("studies/S-BIAD1/study.yaml", 'note: "a\x00b"\n', "control character U+0000"),
        ("studies/S-BIAD1/study.yaml", "note: a\x07b\n", "control character U+0007"),
        ("site.yaml", "note: \x1b[31mred\n", "control character U+001B"),
        ("site.yaml", "deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
)
def test_hostile_yaml_is_a_problem_with_a_line(
    tmp_path: Path, where: str, text: str, expected: str
):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    path = content / where
    lines = len(path.read_text().splitlines())
    path.write_text(path.read_text() + text)
    code, output = validate(content)
    if not expected:
        assert "Traceback" not in output
        return
    assert code == 1, output
    assert f"content/{where}:" in output, output
    line = next(x for x in output.splitlines() if expected in x)
    if "nested" not in expected:
        assert f"{where}:{lines + 1}:" in line, line


def test_aliases_that_expand_beyond_reason_are_refused(tmp_path: Path, monkeypatch):
    from catalogue.readers import yamlmarks

    monkeypatch.setattr(yamlmarks, "MAX_VALUES", 10_000)
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdef"):
        prev = "abcdef"[i]
        laughs.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    (content / "site.yaml").write_text(
        (content / "site.yaml").read_text() + "\n".join(laughs) + "\n"
    )
    code, output = validate(content)
    assert code == 1
    assert "YAML aliases expand to more than 10,000 values" in output


def test_a_manifest_without_a_path_column_is_a_problem(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    manifest.write_text(manifest.read_text().replace("path\t", "name\t", 1))
    code, output = validate(content)
    assert code == 1
    assert (
        "content/studies/S-BIAD1/images.files.tsv:1: E041 header lacks the required column 'path'"
        in output
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda a: a.update(valqual=[["TermId", "NCBITaxon_9606"]]), ".valqual[0]"),
        (lambda a: a.update(valqual={"name": "TermId"}), ".valqual"),
        (lambda a: a.update(valqual="NCBITaxon_9606"), ".valqual"),
        (lambda a: a.update(value={"name": "Homo sapiens"}), ".value"),
    ],
)
def test_a_malformed_organism_in_pagetab_is_a_problem(tmp_path: Path, change, where: str):
    sample = ROOTS.parent / "data/pagetab/S-BIAD1043_original.json"
    data = json.loads(sample.read_text())
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("name") == "Organism":
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    assert found
    change(found[0])
    study = tmp_path / "study.json"
    study.write_text(json.dumps(data))
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    result = CliRunner().invoke(
        main, ["import-pagetab", str(study), "--content", str(content), "--accession", "new"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{study}:1: E091 not a PageTab submission: section." in result.output
    assert where in result.output, result.output


# --- 3. symbolic links never lead out of their folder -----------------------------------


def outside_file(tmp_path: Path, name: str, data: bytes) -> Path:
    secret = tmp_path / "outside" / name
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(data)
    return secret


def test_a_representative_image_linked_out_of_the_data_folder_is_refused(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    image = content / "data/S-BIAD1/worm.tif"
    secret = outside_file(tmp_path, "private.tif", image.read_bytes())
    image.unlink()
    image.symlink_to(secret)
    code, output = validate(content)
    assert code == 1
    assert (
        "content/studies/S-BIAD1/study.yaml:19:21: E043 representative worm.tif is a link to a "
        "file outside the study's data folder content/data/S-BIAD1" in output
    ), output
    # the thumbnail step itself refuses it too (a second line of defence)
    from catalogue.steps.thumbnails import _local

    assert not _local(image, content / "data/S-BIAD1", content)
    assert _local(secret, secret.parent, tmp_path)


def test_an_image_linked_to_another_study_is_not_rendered(tmp_path: Path):
    """A link within the content tree but out of the study's own data folder (e.g. to an
    embargoed study's image) is not a local copy of this study."""
    from catalogue.imaging.localdata import local_images
    from catalogue.readers.tree import load

    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    other = content / "data/S-BIAD2"
    other.mkdir()
    shutil.copy(content / "data/S-BIAD1/worm.tif", other / "zanzibarite.tif")
    (content / "data/S-BIAD1/linked.tif").symlink_to(other / "zanzibarite.tif")
    (content / "data/S-BIAD1/linked-dir.zarr").symlink_to(other, target_is_directory=True)
    (content / "data/S-BIAD1/alias.tif").symlink_to("worm.tif")  # inside: fine
    catalogue, problems = load(content, TODAY)
    assert catalogue is not None, problems
    assert list(local_images(catalogue, content)) == [
        ("S-BIAD1", "alias.tif"),
        ("S-BIAD1", "worm.tif"),
    ]


def test_a_study_folder_linked_out_of_the_tree_is_refused(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    elsewhere = tmp_path / "outside" / "S-BIAD3"
    elsewhere.mkdir(parents=True)
    (elsewhere / "study.yaml").write_text(
        (content / "studies/S-BIAD2/study.yaml").read_text().replace("S-BIAD2", "S-BIAD3")
    )
    (content / "studies/S-BIAD3").symlink_to(elsewhere, target_is_directory=True)
    code, output = validate(content)
    assert code == 1
    assert (
        "content/studies/S-BIAD3: E043 study folder is a link to a folder outside the content "
        "tree's studies/" in output
    ), output


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("studies/S-BIAD2/study.yaml", "E043 study.yaml is a link to a file outside the study's"),
        ("site.yaml", "E043 site.yaml is a link to a file outside the content tree"),
        ("accessions.tsv", "E043 the ledger is a link to a file outside the content tree"),
        ("redirects.tsv", "E043 the file is a link to a file outside the content tree"),
        ("studies/S-BIAD1/images.files.tsv", "manifest images.files.tsv is a link to a file"),
        # (named where study.yaml lists it)
    ],
)
def test_content_files_linked_out_of_their_folder_are_refused(
    tmp_path: Path, link: str, message: str
):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    target = content / link
    data = target.read_bytes() if target.exists() else b"old\tnew\n"
    secret = outside_file(tmp_path, target.name, data)
    if target.exists():
        target.unlink()
    target.symlink_to(secret)
    code, output = validate(content)
    assert code == 1, output
    where = "studies/S-BIAD1/study.yaml:18:12" if link.endswith(".files.tsv") else link
    assert f"content/{where}" in output and message in output, output


def test_a_manifest_linked_to_another_study_is_refused(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    shutil.copy(manifest, content / "studies/S-BIAD2/secret.files.tsv")
    manifest.unlink()
    manifest.symlink_to("../S-BIAD2/secret.files.tsv")
    code, output = validate(content)
    assert code == 1
    assert "manifest images.files.tsv is a link to a file outside the study's folder" in output


def test_a_data_folder_linked_out_of_the_tree_is_refused(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    shutil.move(content / "data/S-BIAD1", tmp_path / "elsewhere")
    (content / "data/S-BIAD1").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    code, output = validate(content)
    assert code == 1
    assert "E043 data folder content/data/S-BIAD1 is a link to a folder outside" in output


def test_templates_and_static_files_linked_out_are_not_used(tmp_path: Path):
    import jinja2

    from catalogue.render import make_environment
    from catalogue.steps.assets import asset_steps

    templates = tmp_path / "templates"
    (templates / "static").mkdir(parents=True)
    (templates / "static" / "style.css").write_text("body {}")
    secret = outside_file(tmp_path, "passwd", b"root:x:0:0")
    (templates / "static" / "leak.css").symlink_to(secret)
    (templates / "page.html").symlink_to(secret)
    (templates / "ok.html").write_text("fine")
    assert [s.outputs for s in asset_steps(templates / "static")] == [("static/style.css",)]
    env = make_environment(templates)
    assert env.get_template("ok.html").render() == "fine"
    with pytest.raises(jinja2.TemplateNotFound):
        env.get_template("page.html")


def test_harvest_does_not_read_an_image_linked_out_of_the_data_folder(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    image = content / "data/S-BIAD1/worm.tif"
    secret = outside_file(tmp_path, "private.tif", image.read_bytes())
    image.unlink()
    image.symlink_to(secret)
    result = CliRunner().invoke(main, ["harvest", "S-BIAD1", "--content", str(content)])
    assert "0 of 0 local image files read" in result.output, result.output


# --- 4. paths, base URLs and DOIs that would confuse or break out -----------------------


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("next\x85line.tif", "control character"),  # C1 NEXT LINE
        ("csi\x9b31m.tif", "control character"),
        ("a\u2028b.tif", "control character"),
        ("a\u2029b.tif", "control character"),
        ("   ", "only spaces"),
        ("plate/ /a.tif", "only spaces"),
        ("n" * 256 + ".tif", "longer than file systems allow (255 bytes)"),
        ("é" * 128 + ".tif", "longer than file systems allow (255 bytes)"),  # 256 bytes
        ("d/" * 2048 + "a.tif", "longer than file systems allow (4096)"),
    ],
)
def test_hostile_manifest_paths_are_refused(tmp_path: Path, path: str, why: str):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    manifest.write_text(manifest.read_text() + f"{path}\t10\t\tFITC\n", encoding="utf-8")
    code, output = validate(content)
    assert code == 1, output
    line = next(x for x in output.splitlines() if "E043" in x)
    assert line.startswith("content/studies/S-BIAD1/images.files.tsv:3: E043"), line
    assert why in line, line
    assert len(line) < 300  # a 4 kB path is not echoed whole


def test_long_but_legal_paths_are_accepted(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    manifest = content / "studies/S-BIAD1/images.files.tsv"
    ok = "/".join(["d" * 250] * 16) + "/a.tif"  # 4,022 bytes, names of 250
    manifest.write_text(manifest.read_text() + f"{ok}\t10\t\tFITC\n", encoding="utf-8")
    code, output = validate(content)
    assert code == 0, output


@pytest.mark.parametrize(
    "url",
    [
        "https://x.org/a'b",
        'https://x.org/"',
        "https://x.org/?q=1",
        "https://x.org/#top",
        "https://x.org/a b",
        "https://x.org/<a>",
    ],
)
def test_a_base_url_that_would_break_every_link_is_refused(tmp_path: Path, url: str):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    site = content / "site.yaml"
    site.write_text(
        site.read_text().replace("base_url: http://localhost:8000", f"base_url: {json.dumps(url)}")
    )
    code, output = validate(content)
    assert code == 1, output
    assert "content/site.yaml:4:" in output and "base_url" in output, output
    assert "must not contain" in output, output
    result = CliRunner().invoke(
        main, ["build", "--content", str(MINIMAL), "--out", str(tmp_path / "b"), "--base-url", url]
    )
    assert result.exit_code == 2, result.output
    assert "must not contain" in result.output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "doi", ["10.1234/a<b>", '10.1234/x"onmouseover=1', "10.1234/a b", "10.1234/a\x85b"]
)
def test_a_doi_with_markup_characters_is_refused(tmp_path: Path, doi: str):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    study = content / "studies/S-BIAD1/study.yaml"
    study.write_text(
        study.read_text() + f"publications:\n  - {{title: A paper, doi: {json.dumps(doi)}}}\n"
    )
    code, output = validate(content)
    assert code == 1, output
    assert "E016 publications.0.doi: DOI" in output and "percent-encoded" in output, output


def test_the_doi_rule_accepts_real_dois():
    from catalogue.identifiers import doi_ok

    for doi in ["10.1038/s41592-021-01262-9", "10.6019/S-BIAD1492", "10.1002/(SICI)1097%3C2%3E"]:
        assert doi_ok(doi), doi


def test_a_logo_under_a_folder_linked_out_of_the_tree_is_refused(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(MINIMAL, content)
    secret = outside_file(tmp_path, "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (content / "brand").symlink_to(secret.parent, target_is_directory=True)
    site = content / "site.yaml"
    site.write_text(site.read_text() + "brand: {logo: brand/logo.svg}\n")
    code, output = validate(content)
    assert code == 1
    assert "E043 brand.logo: brand/logo.svg is a link to a file outside the content tree" in (
        output
    ), output
