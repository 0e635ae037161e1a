"""Offline term lists (SPDX, NCBI Taxonomy, FBbi) and the validation that uses them."""

from __future__ import annotations

import pytest

from catalogue import ontology
from catalogue.placeholders import find, is_placeholder

from .conftest import ROOTS


def test_shipped_lists_load_and_hold_the_common_terms():
    assert len(ontology.spdx_licenses()) > 600
    assert (
        ontology.spdx_licenses()["CC-BY-4.0"][0] == "Creative Commons Attribution 4.0 International"
    )
    assert ontology.taxa()[9606].scientific_name == "Homo sapiens"
    assert ontology.fbbi_terms()["FBbi:00000246"].label == "fluorescence microscopy"
    # every FBbi id is well formed, every taxon id positive
    assert all(ontology.FBBI_ID_RE.match(t) for t in ontology.fbbi_terms())
    assert all(t > 0 for t in ontology.taxa())


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (9606, 9606),
        ("9606", 9606),
        ("NCBITaxon_9606", 9606),
        ("NCBITaxon:9606", 9606),
        ("NCBI:txid45351", 45351),
        ("txid7955", 7955),
        ("http://purl.obolibrary.org/obo/NCBITaxon_10090", 10090),
        ("human", None),
        (0, None),
        ("", None),
    ],
)
def test_taxon_id_spellings(value, number):
    assert ontology.parse_taxon_id(value) == number


def test_labels_come_from_the_ontology():
    assert ontology.organism_label(9606) == "Homo sapiens"
    assert ontology.organism_label("NCBI:txid9615") == "Canis lupus familiaris"
    assert ontology.organism_common_name(7955) == "zebrafish"
    assert ontology.organism_label(999999999) is None
    assert ontology.organism_label(None) is None
    assert ontology.fbbi_label("FBbi:00000253") == "spinning disk confocal microscopy"
    assert ontology.fbbi_label("FBbi_00000258") == "transmission electron microscopy (TEM)"
    assert ontology.fbbi_label("FBbi:00000002") is None  # a fixation method, not imaging
    assert ontology.fbbi_label(None) is None


def test_names_to_ids_only_on_exact_matches():
    assert ontology.taxon_for_name("Homo sapiens") == 9606
    assert ontology.taxon_for_name("canis familiaris") == 9615
    assert ontology.taxon_for_name("Homo sapien") is None
    assert ontology.fbbi_for_name("transmission electron microscopy") == "FBbi:00000258"
    assert ontology.fbbi_for_name("Spinning disk confocal microscopy") == "FBbi:00000253"
    assert ontology.fbbi_for_name("simulated fluorescence microscopy") is None
    assert ontology.name_matches_taxon("Canis familiaris", 9615)
    assert not ontology.name_matches_taxon("Mus musculus", 9606)


def test_spdx_ids():
    assert ontology.spdx_id("cc-by-4.0") == "CC-BY-4.0"
    assert ontology.spdx_id("CC-BY") is None


def test_placeholders():
    assert is_placeholder("TODO: fill")
    assert not is_placeholder("todo list")
    data = {"a": ["x", "TODO: one"], "b": {"c": "TODO: two"}}
    assert list(find(data)) == [(("a", 1), "TODO: one"), (("b", "c"), "TODO: two")]


EXPECTED = (ROOTS / "bad-metadata" / "expected-problems.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("E019", "content/site.yaml:6:32: E019 licenses.2: 'cc-by-3.0' is spelled 'CC-BY-3.0'"),
        ("E019", "'CC-BY-SA-40' is not an SPDX licence id (did you mean 'CC-BY-SA-4.0'?)"),
        ("E032", "content/accessions.tsv:7: E032 ledger accession 'S_BIAD9' is not of the form"),
        ("E080", "content/studies/S-BIAD6/study.yaml:4:15: E080 release_date: fill in"),
        ("E080", "content/studies/S-BIAD6/study.yaml:8:11: E080 authors.0.name: fill in"),
        ("E081", "must be the number alone: write 9606"),
        ("W081", "W081 NCBI Taxonomy id 999999999 is not a taxon of the offline"),
        ("W082", "W082 scientific_name 'Mus musculus' differs from 'Homo sapiens'"),
        ("W083", "W083 FBbi id FBbi:00000002 is not an imaging method"),
    ],
)
def test_new_checks_are_in_the_bad_metadata_tree(code, text):
    lines = [ln for ln in EXPECTED.splitlines() if f": {code} " in ln]
    assert any(text in ln for ln in lines), lines
    # every message has a line number
    assert all(int(ln.split(":")[1]) > 0 for ln in lines)


def test_a_placeholder_is_one_problem_not_three():
    """release_date: "TODO: …" is neither reported as a bad date nor as E014 / E017."""
    s6 = [ln for ln in EXPECTED.splitlines() if "S-BIAD6/" in ln]
    assert not [ln for ln in s6 if ": E013 " in ln or ": E014 " in ln or ": E010 " in ln]


def test_real_taxa_outside_the_label_list_are_not_flagged(tmp_path):
    """Vero cells come from Chlorocebus aethiops (9534): a real taxon that has no label in
    the short list must validate without W081, while an id NCBI never issued still warns."""
    assert ontology.organism_label(9534) is None
    assert ontology.taxon_exists(9534)
    assert ontology.taxon_exists(2697049)  # SARS-CoV-2
    assert not ontology.taxon_exists(999999999)
    assert not ontology.taxon_exists(0)
    assert ontology.taxonomy_snapshot() == "2024-09-09"
