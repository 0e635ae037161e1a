"""Splitting a person's name written as one string into family and given names.

Citations (BibTeX, RIS, CSL, DataCite) need the family name of each author; many records
give one string only. The rule, used by every importer (docs/content-format.md, "Authors"):

1. A name that reads as an organisation (consortium, project, team, group, network,
   initiative, laboratory, institute, centre, university, facility, repository, data, …,
   or with parentheses, ``&`` or ``/``) is kept as a literal ``name``.
2. ``Family, Given`` (one comma) splits at the comma.
3. PubMed style ``Takeuchi Y`` / ``Ellinger B`` (family name then up to three capital
   initials) gives the initials as the given name.
4. Otherwise nameparser (a maintained library that knows particles such as *van der*,
   *de la*, and suffixes such as *Jr*) splits ``Given Middle Family``; the family name
   keeps its particles and suffix.
5. A single word is kept as a literal ``name`` (nobody can tell which part it is).
"""

from __future__ import annotations

import re

_ORG_WORDS = re.compile(
    r"\b(consortium|consortia|project|team|group|network|initiative|collaboration|"
    r"laborator(y|ies)|lab|institute|institut|centre|center|university|facility|"
    r"programme|program|platform|core|society|committee|association|members|"
    r"investigators|alliance|atlas|foundation|company|inc|ltd|gmbh|repository|"
    r"examples|data|environment|archive|service|agency|council|department|"
    r"contributors|authors|developers|curators?|editors)\b|[()&/]",
    re.I,
)
_INITIALS = re.compile(r"^[A-Z]{1,3}$")


def split_name(text: str) -> dict[str, str]:
    """``{"family_name": …, "given_name": …}`` for a person, ``{"name": …}`` otherwise."""
    name = " ".join(text.split())
    if not name:
        return {}
    if _ORG_WORDS.search(name):
        return {"name": name}
    if name.count(",") == 1:
        family, given = (p.strip() for p in name.split(","))
        if family and given and not _ORG_WORDS.search(given):
            return {"family_name": family, "given_name": given}
    words = name.split(" ")
    if len(words) == 1:
        return {"name": name}
    if len(words) >= 2 and _INITIALS.match(words[-1]) and not _INITIALS.match(words[0]):
        return {"family_name": " ".join(words[:-1]), "given_name": words[-1]}
    from nameparser import HumanName

    parsed = HumanName(name)
    family = " ".join(p for p in (parsed.last, parsed.suffix) if p).strip()
    given = " ".join(p for p in (parsed.first, parsed.middle) if p).strip()
    if not family:
        return {"name": name}
    out = {"family_name": family}
    if given:
        out["given_name"] = given
    return out


def person(given: str | None, family: str | None, literal: str | None = None) -> dict[str, str]:
    """The author fields of a record that gives the parts separately (EMPIAR, ORCID)."""
    given = " ".join((given or "").split())
    family = " ".join((family or "").split())
    if family:
        out = {"family_name": family}
        if given:
            out["given_name"] = given
        return out
    return split_name(literal or given)
