"""Releases and rollback for S3 targets, where the bucket keeps object versions.

S3 has no rename and no symlink, so a release cannot be switched in one step. What it
can do, with versioning on, is keep every earlier version of every object. After each
deploy to ``s3://BUCKET/PREFIX`` a release record is written beside the prefix, at
``PREFIX.releases/<name>.json``: the version id of every object of the site as
deployed. ``catalogue rollback`` copies those versions back over the current ones (in
the deploy's dependency order, new keys deleted last), so the site is the earlier one
again, object by object. Records live outside the site's prefix, so a bucket policy
that makes ``PREFIX/*`` public leaves them private; without a prefix there is nowhere
outside the site to put them, and no release is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Echo = Callable[[str], None]
RECORD_RE = re.compile(r"^(\d{6,})-(\d{8}T\d{6}Z)\.json$")
CURRENT = "current.json"


class ReleaseError(Exception):
    pass


def releases_prefix(prefix: str) -> str:
    return f"{prefix}.releases/"


def versioning_on(client: Any, bucket: str) -> bool:
    return client.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"


def latest_versions(client: Any, bucket: str, prefix: str) -> dict[str, str]:
    """Key → version id of the current version of each object under ``prefix/``."""
    out: dict[str, str] = {}
    pages = client.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=f"{prefix}/"
    )
    for page in pages:
        for version in page.get("Versions", []):
            if version.get("IsLatest"):
                out[version["Key"]] = version["VersionId"]
        for marker in page.get("DeleteMarkers", []):
            if marker.get("IsLatest"):
                out.pop(marker["Key"], None)
    return out


def record_names(client: Any, bucket: str, prefix: str) -> list[str]:
    """Release names recorded for ``prefix``, oldest first."""
    names = []
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=releases_prefix(prefix)
    )
    for page in pages:
        for obj in page.get("Contents", []):
            leaf = obj["Key"].rsplit("/", 1)[-1]
            if RECORD_RE.match(leaf):
                names.append(leaf[: -len(".json")])
    return sorted(names, key=lambda n: int(n.split("-", 1)[0]))


def _read_json(client: Any, bucket: str, key: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return data


def _put_json(client: Any, bucket: str, key: str, value: dict[str, Any]) -> None:
    body = json.dumps(value, indent=1, sort_keys=True).encode()
    client.put_object(
        Bucket=bucket, Key=key, Body=body, ContentType="application/json", CacheControl="no-cache"
    )


def record_release(
    client: Any, bucket: str, prefix: str, name: str, keep: int, echo: Echo
) -> str | None:
    """Write the record of the deploy just made; None when the bucket cannot roll back."""
    if not prefix:
        echo("deploy: no release recorded: rollback on S3 needs a prefix (s3://BUCKET/PREFIX)")
        return None
    if not versioning_on(client, bucket):
        echo(f"deploy: no release recorded: versioning is off on bucket {bucket}")
        return None
    names = record_names(client, bucket, prefix)
    seq = int(names[-1].split("-", 1)[0]) + 1 if names else 1
    release = f"{seq:06d}-{name}"
    objects = latest_versions(client, bucket, prefix)
    base = releases_prefix(prefix)
    _put_json(client, bucket, f"{base}{release}.json", {"release": release, "objects": objects})
    _put_json(client, bucket, f"{base}{CURRENT}", {"release": release})
    for old in [*names, release][:-keep] if keep > 0 else []:
        client.delete_object(Bucket=bucket, Key=f"{base}{old}.json")
    return release


def rollback_s3(
    client: Any,
    bucket: str,
    prefix: str,
    order: Callable[[str], int],
    release: str | None,
    dry_run: bool,
) -> tuple[str, str]:
    """Restore the objects of a recorded release; returns (restored, was)."""
    if not prefix:
        raise ReleaseError("rollback on S3 needs a prefix (s3://BUCKET/PREFIX)")
    base = releases_prefix(prefix)
    names = record_names(client, bucket, prefix)
    if not names:
        raise ReleaseError(
            f"no release recorded beside {prefix}/ (deploys record them when the bucket "
            "has versioning on)"
        )
    try:
        current = str(_read_json(client, bucket, f"{base}{CURRENT}")["release"])
    except client.exceptions.NoSuchKey:  # no pointer yet: the newest record is served
        current = names[-1]
    if release is not None:
        if release not in names:
            raise ReleaseError(f"no release {release!r} (kept: {', '.join(names)})")
        target = release
    else:
        seq = int(current.split("-", 1)[0])
        older = [n for n in names if int(n.split("-", 1)[0]) < seq]
        if not older:
            raise ReleaseError(f"no release older than {current} is kept")
        target = older[-1]
    if dry_run or target == current:
        return target, current
    wanted: dict[str, str] = _read_json(client, bucket, f"{base}{target}.json")["objects"]
    now = latest_versions(client, bucket, prefix)
    strip = len(prefix) + 1
    for key in sorted(wanted, key=lambda k: (order(k[strip:]), k)):
        if now.get(key) != wanted[key]:
            client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": key, "VersionId": wanted[key]},
                MetadataDirective="COPY",
            )
    for key in sorted(set(now) - set(wanted)):
        client.delete_object(Bucket=bucket, Key=key)
    _put_json(client, bucket, f"{base}{CURRENT}", {"release": target})
    return target, current
