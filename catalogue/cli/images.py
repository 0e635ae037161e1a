"""Image commands registered on the `catalogue` group (see cli.py): inspect, thumbnail,
harvest, convert. Each prints what is wrong and exits non-zero instead of a traceback."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

COMMANDS: list[click.Command] = []


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
def inspect(path: Path) -> None:
    """Print, as JSON, what can be read from one image file or OME-Zarr folder.

    Format, dimensions (X, Y, Z, C, T), pixel type, pyramid levels, physical pixel
    sizes with units, channel names and colours, instrument and objective (from
    OME-XML and other headers). Pixels are not read.

    Example: catalogue inspect content/data/S-BIAD1/worm.tif

    Exits 1 when the file cannot be read (the JSON then says why).
    """
    from catalogue.imaging.metadata import inspect_image

    record = inspect_image(path)
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))
    sys.exit(0 if record.get("readable") or record.get("note") else 1)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="WebP file to write.",
)
@click.option(
    "--size",
    type=click.IntRange(16, 4096),
    default=256,
    show_default=True,
    help="Longest side in pixels (the build uses 256).",
)
def thumbnail(path: Path, out: Path, size: int) -> None:
    """Render one thumbnail exactly as the build would, for a preview.

    A file without a picture gets the same placeholder or format badge as on the site,
    and the warning the build would print.

    Example: catalogue thumbnail content/data/S-BIAD1/worm.tif -o /tmp/worm.webp
    """
    from dataclasses import replace

    from catalogue.imaging.thumbnail import site_thumbnail
    from catalogue.steps.thumbnails import SETTINGS

    result = site_thumbnail(path, replace(SETTINGS, max_size=size))
    try:
        _write_atomically(out, result.webp)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    info = result.info
    what = f"format badge {info['badge']}" if info.get("badge") else "placeholder"
    if info.get("ok"):
        what = f"{info['width']} × {info['height']}"
    click.echo(f"thumbnail: {out} ({what}, {len(result.webp)} bytes)", err=True)
    if result.warning:
        click.echo(f"warning: {path}: {result.warning}", err=True)
        sys.exit(1)


def _write_atomically(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=out.parent, prefix=".thumbnail-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


@click.command()
@click.argument("accession")
@click.option(
    "--content",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("content"),
    show_default=True,
    help="Content tree to read.",
)
@click.option("--overwrite", is_flag=True, help="Replace values a curator already wrote.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Parallel workers reading headers (default: number of CPUs).",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    metavar="SPEC",
    help="Where headers are read: local, dask://HOST:PORT or dask-local.",
)
def harvest(
    accession: str, content: Path, overwrite: bool, jobs: int | None, executor: str
) -> None:
    """Read image headers of a study's local files into its manifests.

    For each manifest row whose file is under content/<data_root>/ACCESSION/, adds
    SizeX, SizeY, SizeZ, SizeC, SizeT, PixelType and PhysicalSize{X,Y,Z} (with units)
    columns. A value a curator wrote is kept unless --overwrite. Manifests are
    rewritten atomically. A proposed image_acquisitions entry (instrument, objective,
    pixel sizes, channels from OME-XML) is printed for study.yaml, not written.

    Example: catalogue harvest S-BIAD1 --content content
    """
    from catalogue.imaging.harvest import HarvestError, harvest_study, proposal_yaml
    from catalogue.pipeline.executors import ExecutorError, LazyExecutor, scheduler_address

    if executor not in ("local", "dask-local"):
        try:
            scheduler_address(executor)
        except ExecutorError as exc:
            raise click.BadParameter(str(exc), param_hint="--executor") from None
    try:
        with LazyExecutor(executor, jobs or os.cpu_count() or 1) as runner:
            report = harvest_study(
                content,
                accession,
                overwrite=overwrite,
                executor=runner,
                echo=lambda m: click.echo(m, err=True),
            )
    except (HarvestError, ExecutorError) as exc:
        click.echo(f"harvest: {exc}", err=True)
        sys.exit(1)
    for manifest in report.manifests:
        for problem in manifest.problems:
            click.echo(f"warning: {manifest.manifest}: {problem}", err=True)
    text = proposal_yaml(report)
    if text:
        click.echo("# Proposed for study.yaml (not written; check before pasting):")
        click.echo(text.rstrip("\n"))
    else:
        click.echo("# No acquisition metadata found in the files' headers.")


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="OME-Zarr folder to write (name it .ome.zarr).",
)
@click.option(
    "--ngff",
    type=click.Choice(["0.5", "0.4"]),
    default="0.5",
    show_default=True,
    help="NGFF version: 0.5 (zarr v3) or 0.4 (zarr v2, for older viewers).",
)
@click.option(
    "--tile",
    type=click.IntRange(64, 4096),
    default=256,
    show_default=True,
    help="Chunk size in X and Y; levels are added until the image fits one tile.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Threads (or dask-local workers) reading and writing chunks (default: one per core).",
)
@click.option(
    "--executor",
    default="local",
    show_default=True,
    metavar="SPEC",
    help="Where chunks are computed: local (threads), dask-local or dask://HOST:PORT.",
)
def convert(
    path: Path,
    out: Path,
    ngff: str,
    tile: int,
    overwrite: bool,
    jobs: int | None,
    executor: str,
) -> None:
    """Convert an image (TIFF, LSM, ND2, LIF, CZI, MRC, PNG, …) to an OME-Zarr pyramid.

    Chunks are read and written in parallel with Dask, on local threads or on a Dask
    cluster (--executor; its workers must see PATH and OUT at the same paths); channel
    names and colours, physical pixel sizes, the frame interval and display windows are
    kept in the NGFF metadata. The result appears only when complete (written beside
    OUT, then renamed).

    Example: catalogue convert content/data/S-BIAD1/worm.tif -o /tmp/worm.ome.zarr
    """
    from catalogue.imaging.convert import ConvertError, scheduler
    from catalogue.imaging.convert import convert as run
    from catalogue.pipeline.executors import ExecutorError, scheduler_address

    if executor not in ("local", "dask-local"):
        try:
            scheduler_address(executor)
        except ExecutorError as exc:
            raise click.BadParameter(str(exc), param_hint="--executor") from None
    try:
        with scheduler(executor, jobs or os.cpu_count() or 1) as where:
            click.echo(f"convert: chunks computed on {where}", err=True)
            result = run(
                path,
                out,
                ngff_version=ngff,
                tile=tile,
                overwrite=overwrite,
                echo=lambda line: click.echo(line, err=True),
            )
    except ImportError:
        raise click.ClickException(
            "conversion needs ome-zarr and dask: pip install 'catalogue[convert]'"
        ) from None
    except (ConvertError, ExecutorError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror or exc}") from None
    levels = ", ".join("×".join(str(n) for n in shape[-2:][::-1]) for shape in result.levels)
    click.echo(f"convert: wrote {result.path} (levels {levels})", err=True)


@click.command("convert-study")
@click.argument("accession")
@click.option(
    "--content",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("content"),
    show_default=True,
    help="Content folder.",
)
def convert_study(accession: str, content: Path) -> None:
    """OME-Zarr copies of the images of datasets marked `convert: ome-zarr`.

    Each local image gets `<path>.ome.zarr` beside it (published with the originals at
    data_url); its files are added to the dataset's manifest with a `derived_from`
    column. Unchanged images are not converted again.

    Example: catalogue convert-study S-BIAD1
    """
    from catalogue.imaging.derive import DeriveError
    from catalogue.imaging.derive import convert_study as run

    try:
        report = run(content, accession, echo=lambda line: click.echo(line, err=True))
    except ImportError:
        raise click.ClickException(
            "conversion needs ome-zarr and dask: pip install 'catalogue[convert]'"
        ) from None
    except DeriveError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"convert-study: {len(report.converted)} converted, {len(report.kept)} up to date, "
        f"{report.rows_added} manifest row(s) added",
        err=True,
    )
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
    if report.problems:
        sys.exit(1)


COMMANDS.extend([inspect, thumbnail, harvest, convert, convert_study])
