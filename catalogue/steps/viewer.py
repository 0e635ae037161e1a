"""The zoomable viewer the site serves itself: one page per local OME-Zarr, plus its data.

External viewers (Vizarr, Neuroglancer) run on other origins and need ``data_url`` to
allow cross-origin requests; a mirror of the site would lose them. This step publishes,
for every OME-Zarr image or plate with a local copy, ``/viewer/<acc>/<path>/`` (a page
running ``static/viewer/ome-zarr-viewer.js``, built from ``viewer/src`` with zarrita)
and a copy of the zarr under ``/viewer/<acc>/<path>/data/``, so the viewer fetches
everything from the site's own origin. The copy is streamed file by file and reused
while no file of the zarr changes (by path, size and mtime).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from catalogue.imaging.ngff import is_zarr
from catalogue.model import Site
from catalogue.pipeline.plan import Step, StepResult, digest_of
from catalogue.steps.context import RenderContext

VIEWER_VERSION = "1"
LABEL = "Zoomable viewer"
# Bounds what one image may add to the site: larger pyramids are linked, not copied.
MAX_FILES = 20_000
MAX_BYTES = 2 * 2**30


def viewer_path(accession: str, path: str) -> str:
    """Site-relative folder of the viewer page of ``<accession>/<path>``."""
    return f"viewer/{accession}/{path.strip('/')}"


def viewer_url(root: str, accession: str, path: str) -> str:
    return f"{root}/{quote(viewer_path(accession, path), safe='/')}/"


def zarr_files(folder: Path) -> list[tuple[str, int, int]] | None:
    """(relative path, size, mtime_ns) of the zarr's regular files; None when too large.

    Symbolic links are not followed (a link could point out of the data folder).
    """
    found: list[tuple[str, int, int]] = []
    total = 0
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(here) / name
            if path.is_symlink() or not path.is_file():
                continue
            st = path.stat()
            total += st.st_size
            found.append((path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
            if len(found) > MAX_FILES or total > MAX_BYTES:
                return None
    return found


Found = list[tuple[str, str, Path, list[tuple[str, int, int]]]]


def viewer_images(site: Site, content: Path, images: list[tuple[str, str]]) -> Found:
    """The local OME-Zarr copies the viewer can publish (not links, not oversized)."""
    data_root = content / site.data_root
    out = []
    for accession, path in images:
        folder = data_root / accession / path
        if not is_zarr(folder) or folder.is_symlink():
            continue
        files = zarr_files(folder)
        if files:
            out.append((accession, path, folder, files))
    return out


def viewer_steps(ctx: RenderContext, found: Found) -> list[Step]:
    steps: list[Step] = []
    for accession, path, folder, files in found:
        base = viewer_path(accession, path)
        title = f"{accession}: {path}"
        page = f"{base}/index.html"
        source = f"{ctx.root}/{quote(base, safe='/')}/data/"

        fmt = _zarr_format(folder)

        def render(
            page: str = page,
            title: str = title,
            source: str = source,
            accession: str = accession,
            fmt: int = fmt,
        ) -> StepResult:
            html = ctx.env.get_template("viewer.html").render(
                **ctx.page_globals(),
                title=title,
                source=source,
                study_url=ctx.study_url(accession),
                accession=accession,
                zarr_format=fmt,
            )
            return StepResult(files={page: html.encode("utf-8")})

        steps.append(
            Step(
                id=f"viewer:{accession}/{path}",
                outputs=(page,),
                digest=digest_of(
                    VIEWER_VERSION, ctx.templates_digest, ctx.root, title, source, fmt
                ),
                make=render,
            )
        )
        extra = _missing_attrs(files) if fmt == 2 else []
        outputs = tuple(f"{base}/data/{rel}" for rel in [*(r for r, _, _ in files), *extra])
        steps.append(
            Step(
                id=f"viewer-data:{accession}/{path}",
                outputs=outputs,
                digest=digest_of(VIEWER_VERSION, files),
                make=_copier(folder, base, files, extra),
                streams=True,
            )
        )
    return steps


def _zarr_format(folder: Path) -> int:
    return 3 if (folder / "zarr.json").is_file() else 2


def _missing_attrs(files: list[tuple[str, int, int]]) -> list[str]:
    """zarr v2 arrays and groups without ``.zattrs``: zarrita asks for one anyway, and a
    404 for each would fill the reader's console, so the copy gets an empty ``{}``."""
    present = {rel for rel, _, _ in files}
    out = []
    for rel in sorted(present):
        name = rel.rsplit("/", 1)[-1]
        if name in (".zarray", ".zgroup"):
            attrs = rel[: -len(name)] + ".zattrs"
            if attrs not in present:
                out.append(attrs)
    return sorted(set(out))


def _copier(
    folder: Path, base: str, files: list[tuple[str, int, int]], extra: list[str]
) -> Callable[[Callable[[str], BinaryIO]], StepResult]:
    def copy(open_output: Callable[[str], BinaryIO]) -> StepResult:
        for rel, _, _ in files:
            with (folder / rel).open("rb") as source, open_output(f"{base}/data/{rel}") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        for rel in extra:
            with open_output(f"{base}/data/{rel}") as out:
                out.write(b"{}\n")
        return StepResult(files={})

    return copy
