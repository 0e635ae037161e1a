"""The deposit form, ``/deposit/``: a static page that writes a study.yaml in the browser.

Nothing is sent anywhere: the page (``templates/deposit.html``) loads
``/static/deposit.js``, which fetches ``/deposit/form.json`` and builds the form from it.
That file holds the study model's JSON Schema (``Study.model_json_schema()``, so the form
has exactly the fields ``catalogue validate`` reads), what the site allows (licences and
collections from site.yaml, the accession prefix), where a finished study.yaml can be
proposed (``site.yaml`` ``deposit.repository``: a new-file link that opens a pull
request), the REMBI templates per imaging modality (``deposit/rembi_templates.yaml``) and
the help shown beside fields. Scripts are files of the site only (no inline script), so a
Content-Security-Policy of ``script-src 'self'; worker-src 'self'`` holds.

Nothing of any study is in either file: the form is the same whatever is embargoed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from catalogue.identifiers import ACCESSION_RE, DATASET_ID_RE, DOI_RE, FBBI_RE, ORCID_RE
from catalogue.model import Study
from catalogue.pipeline.output import dumps_json
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.placeholders import PREFIX
from catalogue.steps.context import RenderContext

DEPOSIT_VERSION = "1"
TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "deposit" / "rembi_templates.yaml"
# fields the form does not offer: fixed, or for curators only
SKIPPED = ("format", "withdrawn", "extra")

# Help beside fields, by path in the study ("*" for any list item or section name).
HINTS: dict[str, str] = {
    "accession": "The accession you were given (catalogue new, or ask the archive's curators).",
    "title": "Shown in search results; often the title of the publication.",
    "release_date": "The day the study becomes public. Until then nothing of it is published.",
    "license": "The licence the data are shared under.",
    "collection": "The archive's collection this study belongs to.",
    "keywords": "Separate keywords with commas.",
    "description": "What was imaged, how and why (markdown). Often the abstract.",
    "authors": "Everyone who should be credited, in citation order.",
    "authors.*.orcid": "16 digits, e.g. 0000-0002-1825-0097; the check digit is verified.",
    "authors.*.email": "Never published; for the archive's curators only.",
    "authors.*.affiliations": "Names of affiliations defined below, separated by commas.",
    "authors.*.roles": "e.g. submitter, corresponding author; separated by commas.",
    "affiliations": "Institutions, each under a short name that authors refer to.",
    "affiliations.*.ror": "The institution's ROR id as a URL, e.g. https://ror.org/02catss52.",
    "publications.*.doi": "e.g. 10.1038/s41592-021-01292-0 (a https://doi.org/ prefix is fine).",
    "biosamples": "REMBI: what was imaged (organism, biological entity, variables).",
    "biosamples.*.organism.*.ncbi_taxon": "The NCBI Taxonomy number, e.g. 9606 for human.",
    "specimens": "REMBI: how the sample was prepared for imaging.",
    "image_acquisitions": "REMBI: how the images were acquired.",
    "image_acquisitions.*.imaging_method.*.fbbi": "Biological Imaging Methods Ontology id, "
    "e.g. FBbi:00000251 (confocal microscopy).",
    "annotations": "REMBI/MIFA: annotations such as segmentation masks or labels.",
    "analyses": "REMBI: how the images were analysed.",
    "datasets": "Groups of files; each refers to the REMBI sections above by their names.",
    "datasets.*.id": "Lower-case letters, digits, '-' or '_' (used in URLs).",
    "datasets.*.files": "The file list of the dataset, <id>.files.tsv: build it below or "
    "with catalogue add-files.",
    "datasets.*.biosample": "Names of biosamples above, separated by commas.",
    "datasets.*.specimen": "Names of specimens above, separated by commas.",
    "datasets.*.image_acquisition": "Names of image acquisitions above, separated by commas.",
    "datasets.*.annotation": "Names of annotations above, separated by commas.",
    "datasets.*.analysis": "Names of analyses above, separated by commas.",
    "datasets.*.representative": "Path of the image shown as the dataset's thumbnail.",
}


def _templates() -> dict[str, Any]:
    data = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))
    return {key: {"label": t["label"], "study": t["study"]} for key, t in data.items()}


def _keep_order(node: Any) -> None:
    """The form shows fields in the model's order; JSON objects are written with sorted
    keys (determinism), so each object schema carries its order as a list."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            node["x-order"] = list(node["properties"])
        for value in node.values():
            _keep_order(value)
    elif isinstance(node, list):
        for value in node:
            _keep_order(value)


def form_config(ctx: RenderContext) -> dict[str, Any]:
    """Everything the form is built from (see the module docstring)."""
    site = ctx.site
    schema = Study.model_json_schema()
    for name in SKIPPED:
        schema["properties"].pop(name, None)
    schema["required"] = [r for r in schema.get("required", []) if r not in SKIPPED]
    _keep_order(schema)
    repository = None
    if site.deposit.repository:
        repository = {
            "url": site.deposit.repository.rstrip("/"),
            "branch": site.deposit.branch,
            "content_path": site.deposit.content_path.strip("/"),
        }
    return {
        "version": DEPOSIT_VERSION,
        "schema": schema,
        "licences": list(site.licenses),
        "collections": [{"key": k, "title": c.title} for k, c in site.collections.items()],
        "accession_prefix": site.accession_prefix,
        "repository": repository,
        "templates": _templates(),
        "hints": HINTS,
        # the rules of catalogue validate that can run in the browser (identifiers.py)
        "patterns": {
            "accession": ACCESSION_RE.pattern,
            "orcid": ORCID_RE.pattern,
            "doi": DOI_RE.pattern,
            "fbbi": FBBI_RE.pattern,
            "dataset_id": DATASET_ID_RE.pattern,
        },
        "todo_prefix": PREFIX,
    }


def deposit_steps(ctx: RenderContext) -> list[Step]:
    config = form_config(ctx)
    digest = digest_of(DEPOSIT_VERSION, ctx.templates_digest, config, ctx.root)

    def page() -> StepResult:
        html = ctx.env.get_template("deposit.html").render(**ctx.page_globals(), current="deposit")
        return StepResult(files={"deposit/index.html": html.encode("utf-8")})

    return [
        # the page shows the site's header and footer: every setting, not only the form's
        Step(
            id="page:deposit",
            outputs=("deposit/index.html",),
            digest=digest_of(digest, ctx.site_digest),
            make=page,
        ),
        Step(
            id="deposit:form",
            outputs=("deposit/form.json",),
            digest=digest,
            make=lambda: StepResult(files={"deposit/form.json": dumps_json(config, pretty=True)}),
        ),
    ]
