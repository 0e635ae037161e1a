"""File formats as readers of an archive know them, named from the file name.

The manifest has no format column: deriving it from the name keeps manifests short
and the format facet consistent across studies.
"""

from __future__ import annotations

# longest suffixes first; values are what the file table and the stats show
_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".ome.tiff", "OME-TIFF"),
    (".ome.tif", "OME-TIFF"),
    (".ome.zarr", "OME-Zarr"),
    (".ome.btf", "OME-TIFF"),
    (".tiff", "TIFF"),
    (".tif", "TIFF"),
    (".btf", "TIFF"),
    (".svs", "SVS"),
    (".ndpi", "NDPI"),
    (".png", "PNG"),
    (".jpeg", "JPEG"),
    (".jpg", "JPEG"),
    (".czi", "CZI"),
    (".lif", "LIF"),
    (".nd2", "ND2"),
    (".lsm", "LSM"),
    (".oib", "OIB"),
    (".oif", "OIF"),
    (".ims", "Imaris"),
    (".dv", "DeltaVision"),
    (".mrc", "MRC"),
    (".mrcs", "MRC"),
    (".map", "MRC"),
    (".rec", "MRC"),
    (".dm3", "DM3"),
    (".dm4", "DM4"),
    (".h5", "HDF5"),
    (".hdf5", "HDF5"),
    (".zarr", "Zarr"),
    (".nii.gz", "NIfTI"),
    (".nii", "NIfTI"),
    (".flex", "Flex"),
    (".csv", "CSV"),
    (".tsv", "TSV"),
    (".txt", "Text"),
    (".json", "JSON"),
    (".xml", "XML"),
    (".zip", "ZIP"),
    (".gz", "gzip"),
    (".mp4", "MP4"),
    (".avi", "AVI"),
    (".pdf", "PDF"),
)


def zarr_root(path: str) -> str | None:
    """The Zarr folder a manifest path lies in (or is): ``a/b.ome.zarr/0/.zattrs`` →
    ``a/b.ome.zarr``; None when no path segment ends in ``.zarr``.

    Manifests often list every file of a zarr (its chunks, ``.zattrs``, ``zarr.json``),
    or only its folder: either way the file table shows it as one image, at this path.
    """
    parts = path.strip("/").split("/")
    for index, part in enumerate(parts):
        if part.lower().endswith(".zarr"):
            return "/".join(parts[: index + 1])
    return None


def file_format(path: str) -> str:
    lower = path.lower()
    if ".zarr/" in lower:
        # every file inside an OME-Zarr (chunks, .zattrs, zarr.json) is part of one image
        return "OME-Zarr" if ".ome.zarr/" in lower else "Zarr"
    name = lower.rsplit("/", 1)[-1]
    for suffix, label in _SUFFIXES:
        if name.endswith(suffix):
            return label
    if "." in name:
        return name.rsplit(".", 1)[-1].upper()[:12]
    return "other"


# Formats that hold pixel data. "Metadata only" downloads leave these out, which is what
# a reader wants before committing to terabytes (annotations, tables, documentation).
IMAGE_FORMATS: frozenset[str] = frozenset(
    {
        "OME-TIFF",
        "OME-Zarr",
        "TIFF",
        "SVS",
        "NDPI",
        "PNG",
        "JPEG",
        "CZI",
        "LIF",
        "ND2",
        "LSM",
        "OIB",
        "OIF",
        "Imaris",
        "DeltaVision",
        "MRC",
        "DM3",
        "DM4",
        "HDF5",
        "Zarr",
        "NIfTI",
        "Flex",
        "MP4",
        "AVI",
    }
)


# Formats worth a thumbnail cell in a file table: readable here, or shown as a badge.
THUMBNAIL_FORMATS = frozenset(
    {
        "TIFF", "OME-TIFF", "SVS", "NDPI", "LSM", "Flex", "PNG", "JPEG", "GIF", "BMP",
        "OME-Zarr", "Zarr", "CZI", "LIF", "ND2", "OIB", "OIF", "Imaris", "DeltaVision",
        "MRC", "DM3", "DM4", "NIfTI", "JP2",
    }
)  # fmt: skip


def thumbnail_candidate(path: str) -> bool:
    """Whether a manifest path names an image (by its name: nothing is read)."""
    path = path.rstrip("/")
    if ".zarr/" in path.lower():
        return False  # a file inside an OME-Zarr: the zarr folder is the image
    return file_format(path) in THUMBNAIL_FORMATS
