"""Site defaults: what site.yaml supplies when a study record leaves it out.

Mirrored records are imported unedited, and real archives leave some fields to their
policies rather than to each record: the BioImage Archive applies its default licence to a
submission that states none, and mints DOIs of the form ``10.6019/<accession>``. site.yaml
says so once (``default_license``, ``doi_pattern``); the loader fills the field in before
validation, and names each study that takes the default licence (W084) so that a curator
can see which ones rely on the policy.
"""

from __future__ import annotations

from catalogue.model import Catalogue, LeftOut, Site, StudyEntry
from catalogue.problems import Problem, errors, problem
from catalogue.readers.yamlmarks import Marked


def apply_site_defaults(marked: Marked, site: Site | None, rel: str) -> list[Problem]:
    if site is None or not isinstance(marked.data, dict):
        return []
    data = marked.data
    out: list[Problem] = []
    accession = data.get("accession")
    if site.default_license and data.get("license") in (None, ""):
        data["license"] = site.default_license
        out.append(
            problem(
                rel,
                1,
                "W084",
                f"{accession or 'this study'} states no licence; the site default "
                f"{site.default_license} applies (site.yaml default_license)",
            )
        )
    if site.doi_pattern and data.get("doi") in (None, "") and isinstance(accession, str):
        data["doi"] = site.study_doi(accession)
    return out


def check_site_defaults(site: Site, rel: str, marked: Marked) -> list[Problem]:
    """The default licence must be one the site allows, or no study could use it."""
    if site.default_license and site.default_license not in site.licenses:
        line, col = marked.position(("default_license",))
        if ("default_licence",) in marked.values:
            line, col = marked.position(("default_licence",))
        return [
            problem(
                rel,
                line,
                "E019",
                f"default_license {site.default_license!r} is not one of the site's licenses",
                col,
            )
        ]
    return []


def _folder_of(p: Problem, names: list[str]) -> str | None:
    """The study folder (``studies/<name>``) a problem was found in, if any."""
    path = "/" + p.path.replace("\\", "/")
    for name in names:
        if f"/studies/{name}/" in path:
            return f"studies/{name}"
    return None


def leave_out_failing(
    entries: list[StudyEntry], names: list[str], problems: list[Problem]
) -> tuple[list[StudyEntry], tuple[LeftOut, ...]]:
    """``--keep-going``: the studies whose folders have errors are not published, so that
    one bad record never blocks the nightly build of a mirror of thousands."""
    failing: dict[str, list[Problem]] = {}
    for p in errors(problems):
        folder = _folder_of(p, names)
        if folder is not None:
            failing.setdefault(folder, []).append(p)
    left = tuple(
        LeftOut(folder=f, errors=len(ps), first=sorted(ps)[0].format_text())
        for f, ps in sorted(failing.items())
    )
    return [e for e in entries if e.folder not in failing], left


def in_left_out(p: Problem, left_out: tuple[LeftOut, ...]) -> bool:
    return _folder_of(p, [lo.folder.removeprefix("studies/") for lo in left_out]) is not None


def left_out_summary(catalogue: Catalogue) -> list[str]:
    """What a ``--keep-going`` build says about the studies it did not publish."""
    if not catalogue.left_out:
        return []
    errors_total = sum(lo.errors for lo in catalogue.left_out)
    lines = [
        f"build: left out {len(catalogue.left_out)} studies with {errors_total} errors "
        f"(--keep-going); publishing the other {len(catalogue.studies)}:"
    ]
    lines += [f"  {lo.folder}: {lo.errors} errors, first: {lo.first}" for lo in catalogue.left_out]
    return lines
