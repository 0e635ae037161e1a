"""The Content-Security-Policy every page of a site carries.

Pages hold user text (titles, descriptions, file names) that is escaped and sanitised;
the policy is the second wall behind that: even if some markup slipped through, the
browser runs no script and applies no style that is not a file of the site itself.
So: scripts, styles, workers and fonts only from the site's own origin, no inline
scripts, event handlers or style attributes, no WebAssembly, no plugins, no ``<base>``
rewriting (the search and the viewer are plain JavaScript files of the site). Images
and fetches may also come from https hosts, because data files live on separate file
hosting (``data_url``) that viewers read.

The same text goes into a ``<meta http-equiv>`` tag of every page (so a site copied to
any host keeps it), the headers of ``catalogue serve`` and the generated server configs.
"""

from __future__ import annotations

DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "worker-src": "'self'",
    "img-src": "'self' https:",
    "connect-src": "'self' https:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
}

CONTENT_SECURITY_POLICY = "; ".join(f"{k} {v}" for k, v in DIRECTIVES.items())
