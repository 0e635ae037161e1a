"""How text becomes index keys: one set of rules for the index builder and for queries.

The browser (``templates/static/query.js``) applies the same rules to what a reader types;
``tests/test_search.py`` runs both on the same strings, so a word indexed here is always
found there. The rules are deliberately plain, because readers of an archive search for
exact things (a gene, a compound, an accession) far more than for fuzzy prose:

- lower case, Unicode NFKD, marks removed ("Schrödinger" → "schrodinger");
- words are runs of letters and digits, so "HL-60" is "hl" + "60" and "S-BIAD1492" is
  "s" + "biad1492";
- a light plural stemmer (the "S" stemmer: "cells" → "cell", "studies" → "study",
  "nuclei" stays), so that a plural finds its singular without the surprises of
  aggressive stemmers ("tomato" never finds "Tom");
- a handful of English stop words are neither indexed nor searched.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Which part of a study a word came from; a key's postings carry the union as a bit mask.
FIELDS: dict[str, int] = {
    "title": 1,
    "description": 2,
    "author": 4,
    "keyword": 8,
    "organism": 16,
    "method": 32,
    "rembi": 64,  # biosample, specimen, acquisition, annotation, analysis text; datasets
    "accession": 128,
    "licence": 256,
    "collection": 512,
    "files": 1024,  # distinct values of the manifests' attribute columns
    "publication": 2048,
}
# how much a match in each field counts for ranking
WEIGHTS: dict[str, float] = {
    "accession": 12,
    "title": 8,
    "keyword": 5,
    "author": 5,
    "organism": 5,
    "method": 5,
    "collection": 3,
    "licence": 2,
    "publication": 2,
    "description": 2,
    "files": 1.5,
    "rembi": 1,
}

STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it"}
    | {"of", "on", "or", "the", "to", "with"}
)

_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    if text.isascii():  # most text: no accents to strip
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(
        c for c in decomposed if c.isascii() or not unicodedata.category(c).startswith("M")
    )


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Harman's S stemmer: plurals only, and only for alphabetic words of 4+ letters."""
    if len(word) < 4 or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The normalised words of a text, in order, stop words included."""
    return _WORD.findall(normalise(text))


def keys(text: str) -> list[str]:
    """Index keys of a text: its words, stemmed, without stop words, in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def column_field(name: str) -> str:
    """The query field of a manifest column: "Compound Name" → "compound_name"."""
    return "_".join(words(name))
