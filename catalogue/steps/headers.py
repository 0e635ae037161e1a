"""Server configuration for what ``catalogue.hosting`` decides: types, compression, cache
lifetimes and common headers, as nginx includes and as lines of Apache's ``.htaccess``.

Written by the same step as the redirect rules (``redirects:server``) and hidden from
the site like them.
"""

from __future__ import annotations

from catalogue import hosting

NGINX_HEADERS = "nginx-headers.conf"
NGINX_BROTLI = "nginx-brotli.conf"
NETLIFY_HEADERS = "_headers"


def netlify_headers(root: str, header: str) -> str:
    """``_headers`` for Netlify and Cloudflare Pages: the common headers on every path."""
    lines = [f"# {header}", f"{root}/*"]
    lines += [f"  {k}: {v}" for k, v in hosting.COMMON_HEADERS.items()]
    return "\n".join(lines) + "\n"


def _nginx_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nginx_add_headers(cache: str, indent: str) -> list[str]:
    """The ``add_header`` lines of one block. nginx drops the server's ``add_header`` in
    a location that has its own, so every block repeats the common headers."""
    headers = {"Cache-Control": cache, **hosting.COMMON_HEADERS}
    return [f"{indent}add_header {k} {_nginx_string(v)} always;" for k, v in headers.items()]


def nginx_headers(root: str, header: str) -> str:
    """For the ``server { }`` block: the site's types (a complete list, so that nothing
    depends on the host's ``mime.types``), charset, gzip, and one location per lifetime."""
    by_type: dict[str, list[str]] = {}
    for suffix, kind in hosting.TYPES.items():
        by_type.setdefault(kind, []).append(suffix[1:])
    lines = [
        f"# {header}",
        "# Include inside the server { } of the site, after nginx-redirects.conf.",
        "types {",
        *(f"    {kind} {' '.join(names)};" for kind, names in by_type.items()),
        "}",
        f"default_type {hosting.DEFAULT_TYPE};",
        f"charset_types {' '.join(hosting.TEXT_TYPES)};",
        "gzip on;",
        "gzip_vary on;",
        "gzip_comp_level 5;",
        "gzip_min_length 256;",
        # text/html is always compressed once gzip is on; listing it again is a warning
        f"gzip_types {' '.join(t for t in hosting.COMPRESSED_TYPES if t != 'text/html')};",
        "# a file.gz beside a file is sent as it is, to clients that accept gzip",
        "gzip_static on;",
        *_nginx_add_headers(hosting.NO_CACHE, ""),
    ]
    for pattern, cache in hosting.CACHE_RULES:
        lines += [
            f"location ~ {_nginx_string('^' + root + '/' + pattern)} {{",
            *_nginx_add_headers(cache, "    "),
            "}",
        ]
    return "\n".join(lines) + "\n"


def nginx_brotli(header: str) -> str:
    """Only for an nginx with the brotli modules loaded (Debian:
    libnginx-mod-http-brotli-filter and -static); an unknown directive stops nginx."""
    return (
        f"# {header}\n"
        "# Include inside the server { } of the site only where nginx has the brotli modules.\n"
        "brotli on;\n"
        "brotli_comp_level 5;\n"
        "brotli_min_length 256;\n"
        f"brotli_types {' '.join(t for t in hosting.COMPRESSED_TYPES if t != 'text/html')};\n"
        "brotli_static on;\n"
    )


def htaccess_headers(root: str) -> list[str]:
    """Lines of ``.htaccess``: types (mod_mime), lifetimes and common headers
    (mod_headers), compression (mod_brotli, mod_deflate; both need mod_filter). All
    need only ``AllowOverride FileInfo``; a missing module leaves its part out."""
    text = set(hosting.TEXT_TYPES)
    lines = ["<IfModule mod_mime.c>"]
    lines += [f"AddType {kind} {suffix}" for suffix, kind in hosting.TYPES.items()]
    charset = [s for s, kind in hosting.TYPES.items() if kind in text]
    lines += [f"AddCharset utf-8 {' '.join(charset)}", "</IfModule>", "<IfModule mod_headers.c>"]
    lines += [
        f'Header always set {k} "{v}"'
        for k, v in {"Cache-Control": hosting.NO_CACHE, **hosting.COMMON_HEADERS}.items()
    ]
    for n, (pattern, cache) in enumerate(hosting.CACHE_RULES):
        keyword = "If" if n == 0 else "ElseIf"
        lines += [
            f'<{keyword} "%{{REQUEST_URI}} =~ m#^{root}/{pattern}#">',
            f'Header always set Cache-Control "{cache}"',
            f"</{keyword}>",
        ]
    types = " ".join(hosting.COMPRESSED_TYPES)
    lines += [
        "</IfModule>",
        "<IfModule mod_filter.c>",
        "<IfModule mod_brotli.c>",
        f"AddOutputFilterByType BROTLI_COMPRESS {types}",
        "</IfModule>",
        "<IfModule mod_deflate.c>",
        f"AddOutputFilterByType DEFLATE {types}",
        "</IfModule>",
        "</IfModule>",
    ]
    return lines
