"""The local console's HTTP server: the static page and a small JSON API, on a loopback port of its own.

    GET /                                  the page (static/index.html; app.js and style.css beside it)
    GET /api/stack                         the stack as describe-stacks shows it
    GET /api/executions                    the executions, newest first
    GET /api/execution?arn=ARN             one execution: timeline with each state's input/output,
                                           outcome, the graph and the path it took, the two VPCs
    GET /api/activity                      intake decisions, sweeps and cleanups (the functions' log group)

Standard library only (``http.server``), one thread per request, bound to 127.0.0.1. Nothing here prints.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from .. import executions
from ..executions.notes import one_line
from .data import ConsoleData, NotFound, dumps

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".md": "text/plain; charset=utf-8"}


def _static_file(path: str) -> Path | None:
    """The file under ``static/`` that ``path`` names, never one outside it."""
    relative = path.lstrip("/") or "index.html"
    candidate = (STATIC / relative).resolve()
    if not candidate.is_relative_to(STATIC) or not candidate.is_file():
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    data: ConsoleData  # set on the subclass made per server
    server_version = "peering-console"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("console: " + format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, dumps(value), "application/json")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            self._api(url.path.removeprefix("/api/"), parse_qs(url.query))
            return
        file = _static_file(unquote(url.path))
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, b"Not found.\n", "text/plain; charset=utf-8")
            return
        kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, file.read_bytes(), kind)

    def _api(self, name: str, query: dict[str, list[str]]) -> None:
        try:
            if name == "stack":
                value: Any = self.data.stack()
            elif name == "executions":
                value = self.data.executions()
            elif name == "execution":
                arn = (query.get("arn") or [""])[0]
                if ":execution:" not in arn:
                    self._json(HTTPStatus.BAD_REQUEST, {"error": "Pass ?arn= with an execution ARN."})
                    return
                value = self.data.execution(arn)
            elif name == "activity":
                value = self.data.activity()
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"No API /api/{name}."})
                return
        except NotFound as e:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(e)})
            return
        except executions.Unreadable as e:  # a history this version's models cannot read
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(e)})
            return
        except (executions.CliError, ClientError, BotoCoreError) as e:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": one_line(str(e))})
            return
        except Exception as e:  # the page shows one sentence; the traceback goes to the log
            log.exception("console API %s failed", name)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(e).__name__}: {e}"})
            return
        self._json(HTTPStatus.OK, value)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that went away mid-answer (it navigated on) is not an error worth a traceback."""
        import sys  # noqa: PLC0415

        if isinstance(sys.exception(), ConnectionError):
            log.debug("console: %s went away", client_address)
            return
        log.exception("console: answering %s failed", client_address)


class ConsoleServer:
    """The console on ``host``:``port`` (0: a free port), serving until ``stop``."""

    def __init__(self, data: ConsoleData, host: str = "127.0.0.1", port: int = 0):
        handler = type("ConsoleHandler", (_Handler,), {"data": data})
        self._httpd = _Server((host, port), handler)
        self.host, self.port = self._httpd.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="peering-console", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
