"""The one place where time enters a build (``--today`` or SOURCE_DATE_EPOCH)."""

from __future__ import annotations

import datetime as dt
import os


def resolve_today(value: dt.date | None) -> dt.date:
    if value is not None:
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.datetime.now(tz=dt.UTC).date()
