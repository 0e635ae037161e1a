"""``catalogue serve``: a small static server for local preview, with the site's 404 page.

Production sites are served by a real web server (nginx, Apache, object storage);
this exists so that a maintainer sees search, file tables and the viewer working (their
scripts fetch files, which browsers refuse over file://).
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from catalogue import hosting
from catalogue.pipeline.state import STATE_FILE


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".webp": "image/webp",
        ".js": "text/javascript",
        ".json": "application/json",
        ".wasm": "application/wasm",
    }

    def end_headers(self) -> None:
        """Every answer carries the site's headers, as the generated server configs send."""
        for name, value in hosting.COMMON_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        """As a deployed site would: no build-state file, no directory listings."""
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.rstrip("/").rsplit("/", 1)[-1] == STATE_FILE:
            self.send_error(404)
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        self.send_error(404)
        return None

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


def tree_signature(*folders: Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detector for --watch: names, sizes and mtimes (the build itself
    decides by content hash what really changed)."""
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                st = p.stat()
                out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def watch(
    folders: tuple[Path, ...],
    rebuild: Callable[[], object],
    stop: threading.Event,
    interval: float = 1.0,
) -> None:
    seen = tree_signature(*folders)
    while not stop.wait(interval):
        now = tree_signature(*folders)
        if now != seen:
            seen = now
            rebuild()


def serve_forever(
    root: Path,
    host: str,
    port: int,
    echo: Callable[[str], None],
    watch_folders: tuple[Path, ...] = (),
    rebuild: Callable[[], object] | None = None,
) -> None:
    server = make_server(root, host, port)
    echo(f"serving {root} at http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    stop = threading.Event()
    if rebuild is not None and watch_folders:
        echo(f"watching {', '.join(str(f) for f in watch_folders)}: the site is rebuilt on change")
        threading.Thread(target=watch, args=(watch_folders, rebuild, stop), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        stop.set()
        server.server_close()
