"""``catalogue serve``: a small static server for local preview, with the site's 404 page.

Production sites are served by a real web server (nginx, Apache, object storage);
this exists so that a maintainer sees search working (Pagefind needs HTTP, not file://).
"""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".webp": "image/webp",
        ".js": "text/javascript",
        ".json": "application/json",
        ".wasm": "application/wasm",
        ".pf_meta": "application/octet-stream",
    }

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_server(root: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Handler, directory=str(root.resolve()))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_forever(root: Path, host: str, port: int, echo: Callable[[str], None]) -> None:
    server = make_server(root, host, port)
    echo(f"serving {root} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
