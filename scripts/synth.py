#!/usr/bin/env python3
"""Write a valid, deterministic synthetic content tree for scale tests and benchmarks.

    python scripts/synth.py --studies 1000 [--files-per-study 50] \
        [--big-study-files 1300000] [--seed 1] [--jobs 2] --out /tmp/synth

Studies get realistic REMBI fields drawn from small vocabularies (several organisms,
imaging methods, licences and release years) and, by default, the text load of real
submissions: a 150-400-word markdown description, 3-8 authors, 50 files a study.
Manifests carry screen-like attributes (Plate, Well, Field, Channel, Compound, SMILES,
Concentration). With --big-study-files one extra study holds a single dataset of that
many files, like the largest real study (1.3 million files). Same arguments, same bytes
whatever --jobs: every study draws from its own seeded generator.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml

Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 100,000 studies in minutes

ORGANISMS = [
    ("Homo sapiens", "human", 9606),
    ("Mus musculus", "mouse", 10090),
    ("Danio rerio", "zebrafish", 7955),
    ("Drosophila melanogaster", "fruit fly", 7227),
    ("Caenorhabditis elegans", "nematode", 6239),
    ("Saccharomyces cerevisiae", "baker's yeast", 4932),
    ("Arabidopsis thaliana", "thale cress", 3702),
]
METHODS = [
    ("confocal microscopy", "FBbi:00000251"),
    ("widefield microscopy", "FBbi:00000243"),
    ("light sheet fluorescence microscopy", "FBbi:00000369"),
    ("spinning disk confocal microscopy", "FBbi:00000253"),
    ("scanning electron microscopy", "FBbi:00000257"),
    ("transmission electron microscopy", "FBbi:00000258"),
    ("bright-field microscopy", "FBbi:00000243"),
]
LICENCES = ["CC0-1.0", "CC-BY-4.0"]
TOPICS = [
    "mitochondrial dynamics",
    "cell division",
    "nuclear morphology",
    "axon guidance",
    "tissue regeneration",
    "host-pathogen interaction",
    "drug response",
    "cilia formation",
    "organoid development",
    "membrane trafficking",
    "chromatin organisation",
    "cell migration",
]
STAINS = [
    ("DAPI", "DNA"),
    ("phalloidin", "actin"),
    ("MitoTracker", "mitochondria"),
    ("anti-tubulin", "microtubules"),
    ("GFP", "reporter"),
]
COMPOUNDS = [
    ("DMSO", "CS(C)=O"),
    ("nocodazole", "COC(=O)Nc1nc2cc(C(=O)c3cccs3)ccc2[nH]1"),
    (
        "taxol",
        "CC1=C2C(C(=O)C3(C)C(CC4OCC4(OC(C)=O)C3C(OC(=O)c3ccccc3)C(O)(CC1OC(=O)C(O)C(NC(=O)c1ccccc1)c1ccccc1)C2(C)C)O)OC(C)=O",
    ),
    ("staurosporine", "CNC1CC2OC(C)(C1OC)n1c3ccccc3c3c4CNC(=O)c4c4c5ccccc5n2c4c31"),
    ("brefeldin A", "CC1CCCC=CC2CC(O)CC2C(O)C=CC(=O)O1"),
    ("chloroquine", "CCN(CC)CCCC(C)Nc1ccnc2cc(Cl)ccc12"),
]
FIRST = ["Ada", "Ben", "Chiara", "Dmitri", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas"]
FIRST += ["Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tara"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Kowalski", "Haddad", "Novak"]
LAST += ["Achebe", "Bergstrom", "Castillo", "Dubois", "Eriksen", "Fischer", "Gupta", "Horvat"]
# the vocabulary of a methods section, so that descriptions load a search index like real
# ones do (a few hundred common words shared by all studies, plus each study's own terms)
VOCABULARY = (
    "cells were seeded fixed stained imaged acquired analysed quantified segmented tracked "
    "using with after before during under over per each between across within the a an of "
    "in on to and or we our this these dataset images image series time-lapse volume stack "
    "plane channel channels field fields well wells plate plates objective lens numerical "
    "aperture camera detector laser excitation emission filter exposure resolution pixel "
    "voxel nanometre micrometre minute hour day control treated untreated replicate "
    "biological technical condition conditions phenotype phenotypes morphology "
    "localisation protein proteins gene genes knockdown knockout overexpression reporter "
    "marker antibody primary secondary dilution buffer medium culture incubation "
    "temperature humidity chamber coverslip slide mounting embedding sectioning thickness "
    "depth surface membrane nucleus nuclei cytoplasm organelle vesicle filament "
    "microtubule actin cortex spindle chromosome centrosome mitochondria lysosome "
    "endosome golgi reticulum cilium tissue embryo larva organoid spheroid explant biopsy "
    "section lineage differentiation proliferation apoptosis migration adhesion polarity "
    "signalling pathway response stress drug compound concentration dose screen library "
    "hit candidate validation automated manual annotation ground truth training model "
    "network prediction accuracy intensity distribution variance mean median threshold "
    "background correction registration deconvolution denoising illumination flat-field "
    "stitching tiling projection maximum software pipeline workflow script version open "
    "source reproducible deposited metadata"
)
WORDS = VOCABULARY.split()


def orcid(rng: random.Random) -> str:
    """A syntactically valid ORCID (correct ISO 7064 check digit), not a real person's."""
    digits = [rng.randrange(10) for _ in range(15)]
    total = 0
    for d in digits:
        total = (total + d) * 2
    check = (12 - total % 11) % 11
    body = "".join(map(str, digits)) + ("X" if check == 10 else str(check))
    return "-".join(body[i : i + 4] for i in range(0, 16, 4))


def study_yaml(rng: random.Random, accession: str, number: int, datasets: list[str]) -> dict:
    topic = rng.choice(TOPICS)
    organism = rng.choice(ORGANISMS)
    method = rng.choice(METHODS)
    year = rng.randrange(2015, 2027)
    stain = rng.choice(STAINS)
    authors = [
        {
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "orcid": orcid(rng),
            "affiliations": ["lab"],
            "roles": ["submitter"] if i == 0 else ["investigator"],
        }
        for i in range(rng.randrange(3, 9))
    ]
    return {
        "format": 1,
        "accession": accession,
        "title": f"Imaging {topic} in {organism[1]} cells, series {number}",
        "release_date": f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "license": rng.choice(LICENCES),
        "collection": "direct",
        "keywords": [topic, organism[1], method[0]],
        "description": description(rng, number, topic, organism[0], method[0], stain),
        "authors": authors,
        "affiliations": {"lab": {"name": f"Synthetic Imaging Lab {number % 17}"}},
        "biosamples": {
            "cells": {
                "organism": {
                    "scientific_name": organism[0],
                    "common_name": organism[1],
                    "ncbi_taxon": organism[2],
                },
                "biological_entity": f"{organism[1]} cells",
                "experimental_variables": ["compound", "concentration"],
            }
        },
        "specimens": {
            "fixed": {
                "preparation": "Fixed in 4% PFA, permeabilised, stained.",
                "signal_channels": [{"stain": stain[0], "target": stain[1]}],
            }
        },
        "image_acquisitions": {
            "main": {
                "imaging_method": {"name": method[0], "fbbi": method[1]},
                "instrument": "Synthetic microscope 3000",
            }
        },
        "datasets": [
            {
                "id": ds,
                "title": f"Plate series {ds}",
                "biosample": "cells",
                "specimen": "fixed",
                "image_acquisition": "main",
                "files": f"{ds}.files.tsv",
            }
            for ds in datasets
        ],
    }


def description(
    rng: random.Random, number: int, topic: str, organism: str, method: str, stain: tuple
) -> str:
    """150-400 words of markdown in three or four paragraphs, like a real abstract."""
    lead = (
        f"Synthetic study {number} for scale tests. We imaged **{topic}** in "
        f"{organism} with {method}, staining {stain[1]} with {stain[0]}."
    )
    words = rng.randrange(150, 401) - len(lead.split())
    body = [rng.choice(WORDS) for _ in range(words)]
    paragraphs, at = [lead], 0
    for cut in [*sorted(rng.sample(range(20, words - 20), 2)), words]:
        sentence = " ".join(body[at:cut])
        paragraphs.append(sentence[:1].upper() + sentence[1:] + ".")
        at = cut
    return "\n\n".join(paragraphs)


HEADER = "path\tsize\tsha256\tPlate\tWell\tField\tChannel\tCompound\tSMILES\tConcentration (uM)\n"


def write_manifest(path: Path, rng: random.Random, files: int, seed_key: str) -> None:
    rows = "ABCDEFGHIJKLMNOP"
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(HEADER)
        for i in range(files):
            plate = f"P{i // 6144:04d}"  # 384 wells x 4 fields x 4 channels a plate
            j = i % 6144
            well = f"{rows[(j // 24) % 16]}{(j % 24) + 1:02d}"
            field = (j // 384) % 4
            channel = ("DAPI", "GFP", "mCherry", "Cy5")[j // 1536]
            compound, smiles = COMPOUNDS[(i * 7 + len(seed_key)) % len(COMPOUNDS)]
            size = 2_000_000 + rng.randrange(8_000_000)
            sha = hashlib.sha256(f"{seed_key}/{i}".encode()).hexdigest()
            conc = ("0.1", "1", "10")[i % 3]
            fh.write(
                f"{plate}/{well}/f{field}_{channel}.ome.tif\t{size}\t{sha}\t{plate}\t{well}\t"
                f"{field}\t{channel}\t{compound}\t{smiles}\t{conc}\n"
            )


def write_study(task: tuple[Path, int, int, int, int]) -> None:
    """One study folder; its own generator makes the bytes independent of --jobs."""
    out, seed, n, files, total = task
    rng = random.Random(f"{seed}/study/{n}")
    accession = f"S-BIAD{n}"
    big = files > 1000 and n == total
    datasets = ["screen"] if big or files <= 1000 else ["plate-a", "plate-b"]
    folder = out / "studies" / accession
    folder.mkdir(exist_ok=True)
    data = study_yaml(rng, accession, n, datasets)
    (folder / "study.yaml").write_text(
        yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    per = [
        files // len(datasets) + (1 if i < files % len(datasets) else 0)
        for i in range(len(datasets))
    ]
    for ds, k in zip(datasets, per, strict=True):
        write_manifest(
            folder / f"{ds}.files.tsv", random.Random(f"{seed}/{n}/{ds}"), k, f"{accession}/{ds}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, required=True)
    parser.add_argument("--files-per-study", type=int, default=50)
    parser.add_argument("--big-study-files", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    out = args.out
    (out / "studies").mkdir(parents=True, exist_ok=True)
    site = {
        "format": 1,
        "title": "Synthetic archive",
        "description": "Made by scripts/synth.py.",
        "base_url": "http://localhost:8000",
        "data_url": "https://data.example.org/pub",
        "licenses": LICENCES,
        "collections": {"direct": {"title": "Direct submissions"}},
    }
    (out / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    total = args.studies + (1 if args.big_study_files else 0)
    tasks = [
        (
            out,
            args.seed,
            n,
            args.big_study_files if args.big_study_files and n == total else args.files_per_study,
            total,
        )
        for n in range(1, total + 1)
    ]
    if args.jobs > 1 and total > 100:
        with ProcessPoolExecutor(args.jobs) as pool:
            list(pool.map(write_study, tasks, chunksize=200))
    else:
        for task in tasks:
            write_study(task)
    ledger = ["accession\tcreated\tnote"] + [
        f"S-BIAD{n}\t2024-01-01\t" for n in range(1, total + 1)
    ]
    (out / "accessions.tsv").write_text("\n".join(ledger) + "\n", encoding="utf-8")
    print(f"wrote {total} studies to {out}")


if __name__ == "__main__":
    main()
