"""The one place where time enters a build (``--today`` or SOURCE_DATE_EPOCH).

An embargo depends on this date, so a SOURCE_DATE_EPOCH that cannot be read is an
error, never silently replaced by the clock.
"""

from __future__ import annotations

import datetime as dt
import os


class ClockError(ValueError):
    pass


def resolve_today(value: dt.date | None) -> dt.date:
    if value is not None:
        return value
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or epoch.strip() == "":
        return dt.datetime.now(tz=dt.UTC).date()
    text = epoch.strip()
    if not text.isdigit():
        raise ClockError(
            f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds since 1970-01-01"
        )
    try:
        return dt.datetime.fromtimestamp(int(text), tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise ClockError(f"SOURCE_DATE_EPOCH={epoch!r} is out of range") from None
