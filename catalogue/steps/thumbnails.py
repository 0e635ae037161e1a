"""Thumbnail steps: one per distinct representative image, named by content hash.

The output name is a hash of (source bytes, thumbnail settings, thumbnailer version),
so an unchanged image costs nothing on the next build and a stale one cannot survive.
"""

from __future__ import annotations

import hashlib
import os
from functools import partial
from pathlib import Path
from typing import Any

from ..imaging import ThumbnailSettings, placeholder_webp, render_thumbnail
from ..model import Catalogue
from ..pipeline import Step, StepResult

SETTINGS = ThumbnailSettings()


def source_sha256(path: Path, rel: str, cache: dict[str, list[Any]]) -> str:
    """sha256 of a source image, remembered by (size, mtime_ns) so rebuilds do not re-read it."""
    st = path.stat()
    known = cache.get(rel)
    if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
        return str(known[2])
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    cache[rel] = [st.st_size, st.st_mtime_ns, h.hexdigest()]
    return h.hexdigest()


def _make(source: str, rel: str, out: str) -> StepResult:
    thumb = render_thumbnail(Path(source), SETTINGS)
    if thumb.webp is None:
        return StepResult(
            files={out: placeholder_webp("no preview", SETTINGS)},
            warnings=(
                f"{rel}: W050 cannot make a thumbnail ({thumb.warning}); showing a placeholder",
            ),
            info={"ok": False, "width": SETTINGS.max_size, "height": SETTINGS.max_size},
        )
    return StepResult(
        files={out: thumb.webp}, info={"ok": True, "width": thumb.width, "height": thumb.height}
    )


def thumbnail_steps(
    catalogue: Catalogue, content: Path, cache: dict[str, list[Any]]
) -> tuple[list[Step], dict[tuple[str, str], str]]:
    """Steps for the public studies' representative images, and which step serves which dataset."""
    steps: list[Step] = []
    used: dict[tuple[str, str], str] = {}
    data_root = content / catalogue.site.data_root
    for entry in catalogue.public():
        acc = entry.study.accession
        for ds in entry.study.datasets:
            if not ds.representative:
                continue
            source = data_root / acc / ds.representative
            if not source.is_file():
                continue
            rel = os.path.relpath(source, Path.cwd())
            key = hashlib.sha256(
                (source_sha256(source, rel, cache) + SETTINGS.key()).encode()
            ).hexdigest()[:24]
            out = f"thumbnails/{key}.webp"
            step_id = f"thumbnail:{key}"
            steps.append(
                Step(
                    id=step_id,
                    outputs=(out,),
                    digest=key,
                    make=partial(_make, str(source), rel, out),
                    heavy=True,
                )
            )
            used[(acc, ds.id)] = step_id
    return steps, used
