"""Files that stay inside their folder, whatever symbolic links say.

A content tree arrives by pull request and a data folder by copy; either may hold a
symbolic link. Following a link out of its folder would publish whatever it points to:
``/etc/passwd`` as a "manifest", a private image as a thumbnail, another (embargoed)
study's picture on a public page. So every reader asks here before it opens a file, with
the folder the file belongs to: the content tree, the study's folder, the study's data
folder, the templates. Links that stay inside are fine (a shared manifest within a study,
an alias within the data folder).
"""

from __future__ import annotations

import os
from pathlib import Path


def escapes(path: Path, folder: Path) -> bool:
    """Whether ``path`` (which need not exist) leads outside ``folder`` once links are
    followed. A path that does not exist does not escape: there is nothing to read."""
    try:
        if not os.path.lexists(path):
            return False
        real = path.resolve(strict=False)
        return not real.is_relative_to(folder.resolve(strict=False))
    except (OSError, RuntimeError):  # a link loop, or a path the system cannot follow
        return True
