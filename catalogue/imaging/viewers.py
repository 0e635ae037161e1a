""" "Open in viewer" links for OME-Zarr data published under ``data_url``.

A link must open something. Other archives have published plate links that open
nothing, because each viewer accepts different OME-Zarr nodes:

- Vizarr opens a multiscale image, a well and a whole HCS plate (as a grid of wells),
  but not the root of a bioformats2raw container (it has no ``multiscales``);
- Neuroglancer and the ITK-VTK viewer open one multiscale image only.

So the layout is read from the metadata of the local copy (``.zattrs``/``.zgroup`` or
``zarr.json``; the chunks need not be there) and each viewer gets the node it can open:
a plate's root for Vizarr, the first field of its first well
(``<plate>/<row>/<column>/<field>``) for Neuroglancer and ITK-VTK; a container's first
image (``<container>/<series[0]>``) for all three. The ITK-VTK viewer is offered for
zarr v2 (NGFF up to 0.4) only, the version it is known to read. The viewers run in the
reader's browser and fetch the data directly, so ``data_url`` must allow cross-origin
requests (CORS).

Base URLs come from ``site.yaml``'s optional ``viewers:`` mapping (``model.Viewers``);
a viewer set to ``null`` is not offered.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from catalogue.formats import zarr_root
from catalogue.imaging.base import Unrenderable
from catalogue.imaging.ngff import Layout, is_zarr, layout
from catalogue.model import Site, Viewers

_SAFE = ":/@!$'()*,;="  # left readable in query values; '&', '?', '#', '+', ' ' are encoded


def viewer_links(site: Site, accession: str, path: str, local_path: Path) -> list[tuple[str, str]]:
    """(label, URL) pairs for the OME-Zarr published as ``<data_url>/<accession>/<path>``.

    ``local_path`` is its local copy (``content/<data_root>/<accession>/<path>``), read
    for the layout only. Anything that is not a readable OME-Zarr gets no links (an
    empty list), never an exception.
    """
    if not is_zarr(local_path):
        return []
    try:
        found = layout(local_path)
    except (Unrenderable, OSError):
        return []
    published = f"{site.data_url}/{quote(accession, safe='')}/{quote(path.strip('/'), safe='/')}"
    return links_for_layout(site.viewers, published, found)


def links_for_layout(viewers: Viewers, url: str, found: Layout) -> list[tuple[str, str]]:
    """The links for an OME-Zarr at ``url`` with the given layout (see the docstring)."""
    image = _image_url(url, found)
    links: list[tuple[str, str]] = []
    if viewers.vizarr:
        # Vizarr reads plates and wells itself; elsewhere it needs the image.
        target = url if found.kind in ("plate", "well") else image
        if target:
            links.append(("Vizarr", f"{viewers.vizarr}?source={quote(target, safe=_SAFE)}"))
    if image is None:
        return links
    if viewers.neuroglancer:
        scheme = "zarr3://" if found.zarr_format == 3 else "zarr://"
        name = image.rstrip("/").rsplit("/", 1)[-1]
        if found.kind == "plate":
            name = found.images[0]
        state = {"layers": [{"type": "image", "source": scheme + image, "name": name}]}
        text = json.dumps(state, separators=(",", ":"))
        links.append(("Neuroglancer", f"{viewers.neuroglancer}#!{quote(text, safe=_SAFE)}"))
    if viewers.itk_vtk_viewer and found.zarr_format == 2:
        links.append(
            ("ITK-VTK viewer", f"{viewers.itk_vtk_viewer}?image={quote(image, safe=_SAFE)}")
        )
    return links


def _image_url(url: str, found: Layout) -> str | None:
    """URL of the first multiscale image, or None when the layout lists none."""
    if not found.images:
        return None
    first = found.images[0]
    return f"{url}/{quote(first, safe='/')}" if first else url


__all__ = ["links_for_layout", "viewer_links", "zarr_root"]
