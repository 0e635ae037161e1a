"""PageTab import, datasets: study components, the older Experiment and Supplementary
layouts, annotations with their own files, and files given on the study itself.

Each becomes one dataset of the study, in document order, referring by key to the REMBI
records sections made (its associations, or sections nested in it); its files go
through files. Old layouts carry no REMBI sections, so the biosample and image
acquisition they describe in attributes are made here.
"""

from __future__ import annotations

from typing import Any

from catalogue.identifiers import DATASET_ID_RE
from catalogue.pagetab.conversion import Conversion
from catalogue.pagetab.files import add_files
from catalogue.pagetab.people import add_link
from catalogue.pagetab.sections import (
    add_rembi,
    clean_organisms,
    infer_taxa,
    method_text,
    organism_text,
)
from catalogue.pagetab.vocabulary import (
    ASSOCIATION_KINDS,
    REMBI,
    Section,
    _bag_add,
    _unique,
    norm,
    slug,
    text_value,
)
from catalogue.placeholders import todo


def _new_dataset(
    conv: Conversion, title: str, description: str | None, given_id: str | None = None
) -> dict[str, Any]:
    """A dataset whose id is made from its title, unless the PageTab carries the id
    (export writes a 'Dataset ID' when the id is not the one the title would give)."""
    if given_id and DATASET_ID_RE.match(given_id) and given_id not in conv.dataset_ids:
        conv.dataset_ids.add(given_id)
    else:
        given_id = _unique(slug(title, "dataset", 64), conv.dataset_ids)
    dataset: dict[str, Any] = {"id": given_id}
    dataset["title"] = title
    if description:
        dataset["description"] = description
    conv.datasets.append(dataset)
    return dataset


def _resolve(conv: Conversion, kind: str, value: str) -> str | None:
    return conv.titles.get(kind, {}).get(norm(value))


def _refer(conv: Conversion, dataset: dict[str, Any], kind: str, key: str) -> None:
    """Make ``dataset`` refer to a REMBI record; a correlation lists its datasets instead."""
    if kind == "correlation":
        members = conv.records["correlation"][key].setdefault("datasets", [])
        if dataset["id"] not in members:
            members.append(dataset["id"])
        return
    field_name = REMBI[kind][1]
    assert field_name is not None
    refs = dataset.setdefault(field_name, [])
    if key not in refs:
        refs.append(key)


def add_component(conv: Conversion, s: Section) -> None:
    name = s.take_one("Name", "Title")
    dataset = _new_dataset(
        conv,
        name or s.accno or "Study component",
        s.take_one("Description"),
        s.take_one("Dataset ID"),
    )
    path = f"datasets.{dataset['id']}"
    if not name:
        dataset["title"] = todo("title of the dataset")
    for sub in s.subsections:
        if sub.kind == "associations":
            _associations(conv, sub, dataset, path)
        elif sub.kind in REMBI:
            key = add_rembi(conv, sub, sub.kind, title=sub.accno or f"{dataset['id']} {sub.kind}")
            _refer(conv, dataset, sub.kind, key)
        else:
            conv.unknown(path, sub)
    representative = s.take_one("Representative image")
    if representative:
        dataset["representative"] = representative
    remote = _json_attr(s.take_one("Catalogue remote files"))
    if remote is not None:
        dataset["remote_files"] = remote
    add_files(conv, dataset, s.take("File List"), s.files, path)
    conv.keep(path, s)
    for link in s.links:
        add_link(conv, link, path)


def _json_attr(text: str | None) -> dict[str, Any] | None:
    """A mapping written as JSON by export-pagetab (for fields PageTab has no name for)."""
    import json

    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _associations(conv: Conversion, s: Section, dataset: dict[str, Any], path: str) -> None:
    for i, attr in enumerate(s.attributes):
        kind = ASSOCIATION_KINDS.get(norm(attr.get("name")))
        value = text_value(attr.get("value"))
        if kind is None or value is None:
            continue
        key = _resolve(conv, kind, value)
        if key is None:
            continue
        s.used.add(i)
        _refer(conv, dataset, kind, key)
    bag = s.rest()
    for name, item in bag.items():
        for one in item if isinstance(item, list) else [item]:
            _bag_add(conv.bags.setdefault(path, {}), name, one)
            conv.note(f"{path}: association {name} = {one!r} matches no section; kept in extra")


def study_organisms(conv: Conversion, study: Section) -> list[dict[str, Any]]:
    """Study-level Organism attributes (old layouts), when no Biosample section exists
    to hold them; otherwise they stay study attributes (kept in extra)."""
    old_layout = any(s.kind == "experiment" for s in study.subsections) or study.files
    if not old_layout and conv.records["biosample"]:
        return []
    return [organism_text(a) for a in study.take_raw("Organism")]


def organism_biosample(conv: Conversion, organisms: list[dict[str, Any]]) -> str:
    """A biosample made from the study's Organism attributes; returns its key."""
    names = ", ".join(o["scientific_name"] for o in organisms)
    key = _unique(slug(names, "biosample"), conv.keys.setdefault("biosample", set()))
    clean = clean_organisms(conv, organisms, f"biosamples.{key}")
    infer_taxa(conv, clean, f"biosamples.{key}")
    record = {"organism": clean[0] if len(clean) == 1 else clean}
    conv.records["biosample"][key] = record
    conv.study.setdefault("biosamples", {})[key] = record
    conv.titles.setdefault("biosample", {})[norm(key)] = key
    conv.note(f"biosamples.{key}: made from the study's Organism attribute")
    return key


def add_experiment(conv: Conversion, s: Section, organisms: list[dict[str, Any]]) -> None:
    """The oldest BioImages layout: one 'Experiment' section per dataset."""
    dataset = _new_dataset(conv, "Experiment", s.take_one("Description"))
    path = f"datasets.{dataset['id']}"
    entity = s.take_one("Sample type")
    if organisms or entity:
        key = _unique(dataset["id"], conv.keys.setdefault("biosample", set()))
        record: dict[str, Any] = {}
        if organisms:
            clean = clean_organisms(conv, organisms, f"biosamples.{key}")
            infer_taxa(conv, clean, f"biosamples.{key}")
            record["organism"] = clean[0] if len(clean) == 1 else clean
        if entity:
            record["biological_entity"] = entity
        conv.records["biosample"][key] = record
        conv.study.setdefault("biosamples", {})[key] = record
        conv.titles.setdefault("biosample", {})[norm(key)] = key
        dataset["biosample"] = [key]
    method_attrs = s.take_raw("Imaging method")
    if method_attrs:
        key = _unique(dataset["id"], conv.keys.setdefault("acquisition", set()))
        apath = f"image_acquisitions.{key}"
        methods = [
            method_text(conv, a, f"{apath}.imaging_method.{i}") for i, a in enumerate(method_attrs)
        ]
        record = {"imaging_method": methods[0] if len(methods) == 1 else methods}
        conv.records["acquisition"][key] = record
        conv.study.setdefault("image_acquisitions", {})[key] = record
        conv.titles.setdefault("acquisition", {})[norm(key)] = key
        dataset["image_acquisition"] = [key]
    add_files(conv, dataset, s.take("File List"), s.files, path)
    conv.keep(path, s)
    for sub in s.subsections:
        conv.unknown(path, sub)


def add_dataset_from(conv: Conversion, s: Section, title: str) -> None:
    """A dataset made from a section of another kind (Supplementary Data)."""
    dataset = _new_dataset(conv, title, s.take_one("Description"))
    path = f"datasets.{dataset['id']}"
    add_files(conv, dataset, s.take("File List"), s.files, path)
    conv.keep(path, s)
    for sub in s.subsections:
        conv.unknown(path, sub)


def add_annotation_datasets(conv: Conversion) -> None:
    """Annotations with their own files become datasets that refer to them."""
    for key, record, lists, files in conv.pending_annotations:
        title = conv.bags.get(f"annotations.{key}", {}).get("Title") or key
        dataset = _new_dataset(conv, str(title), record.get("description"))
        dataset["annotation"] = [key]
        add_files(conv, dataset, lists, files, f"datasets.{dataset['id']}")


def add_study_files(conv: Conversion, study: Section, organisms: list[dict[str, Any]]) -> None:
    """Files given on the study itself (old layouts): one dataset 'Files'."""
    dataset = _new_dataset(conv, "Files", None)
    if organisms:
        dataset["biosample"] = [organism_biosample(conv, organisms)]
    add_files(conv, dataset, [], study.files, f"datasets.{dataset['id']}")
