"""Citation exports of each public study: BibTeX and RIS, for reference managers.

Journals and readers cite the accession and its stable URL; these files say exactly
that, with the authors, title and release year, so nobody retypes them.
"""

from __future__ import annotations

from catalogue.model import StudyEntry
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext

CITATION_VERSION = "1"
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in " ".join(text.split()))


def bibtex(ctx: RenderContext, entry: StudyEntry) -> str:
    s = entry.study
    url = ctx.absolute(ctx.study_url(s.accession))
    authors = " and ".join("{" + latex(a.name) + "}" for a in s.authors)
    fields = [
        ("author", authors),
        ("title", "{" + latex(s.title) + "}"),
        ("year", str(s.release_date.year)),
        ("month", s.release_date.strftime("%b").lower()),
        ("publisher", latex(ctx.site.title)),
        ("howpublished", r"\url{" + url + "}"),
        ("url", url),
        ("note", f"Accession {latex(s.accession)}"),
    ]
    key = s.accession.replace("-", "")
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def ris(ctx: RenderContext, entry: StudyEntry) -> str:
    s = entry.study
    lines = ["TY  - DATA", f"TI  - {' '.join(s.title.split())}"]
    lines += [f"AU  - {' '.join(a.name.split())}" for a in s.authors]
    lines += [
        f"PY  - {s.release_date.year}",
        f"DA  - {s.release_date.strftime('%Y/%m/%d')}",
        f"PB  - {ctx.site.title}",
        f"UR  - {ctx.absolute(ctx.study_url(s.accession))}",
        f"AN  - {s.accession}",
        f"ID  - {s.accession}",
        *(f"KW  - {k}" for k in s.keywords),
        "ER  - ",
    ]
    return "\r\n".join(lines) + "\r\n"  # RIS lines end in CRLF by its specification


def citation_steps(ctx: RenderContext) -> list[Step]:
    steps = []
    for entry in ctx.catalogue.public():
        acc = entry.study.accession
        bib, ris_path = f"studies/{acc}/citation.bib", f"studies/{acc}/citation.ris"
        steps.append(
            Step(
                id=f"citation:{acc}",
                outputs=(bib, ris_path),
                digest=digest_of(
                    CITATION_VERSION, ctx.site.model_dump(mode="json"), entry.source_digest
                ),
                make=lambda entry=entry, bib=bib, ris_path=ris_path: StepResult(
                    files={
                        bib: bibtex(ctx, entry).encode("utf-8"),
                        ris_path: ris(ctx, entry).encode("utf-8"),
                    }
                ),
            )
        )
    return steps
