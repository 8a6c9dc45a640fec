"""HTTP for the board on the standard library's threading server: parse, call ``Board``, answer.

The stdlib server is enough for a few office browsers on a LAN; TLS, when needed, belongs to a
reverse proxy in front (then pass ``secure_cookies=True``).
"""

from __future__ import annotations

import logging
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from .app import Board, Request, Response

log = logging.getLogger("hubdesk.board")
MAX_BODY = 64 * 1024  # a note is at most 2,000 characters; nothing the board takes is larger
MAX_FIELDS = 20

SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "hubdesk"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_HEAD(self):
        self._answer(Response(405, b"", [("Allow", "GET, POST")]))

    def _serve(self, method: str) -> None:
        try:
            req = self._request(method)
        except ValueError as e:
            self.close_connection = True  # the rest of the request is unread: start afresh
            self._answer(Response(400, f"Bad request: {e}\n".encode(), content_type="text/plain; charset=utf-8"))
            return
        try:
            resp = self.server.board.handle(req)
        except Exception:  # a fault must cost one page, never the server
            log.exception("board: %s %s failed", method, req.path)
            resp = Response(500, b"The board failed on this page; the error is in the desk's log.\n",
                            content_type="text/plain; charset=utf-8")
        self._answer(resp)

    def _request(self, method: str) -> Request:
        path, _, query = self.path.partition("?")
        if not path.startswith("/"):
            raise ValueError("the path must start with /")
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            cookies = {k: v.value for k, v in jar.items()}
        except CookieError:
            cookies = {}
        form: dict[str, str] = {}
        if method == "POST":
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise ValueError("a POST needs a Content-Length")
            if int(length) > MAX_BODY:
                self.close_connection = True
                raise ValueError(f"the form is larger than {MAX_BODY} bytes")
            kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            body = self.rfile.read(int(length))
            if kind != "application/x-www-form-urlencoded":
                raise ValueError("forms must be sent as application/x-www-form-urlencoded")
            form = _pairs(body.decode("utf-8"))  # UnicodeDecodeError is a ValueError
        return Request(method, path, _pairs(query), form, cookies)

    def _answer(self, resp: Response) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        if not any(k == "Cache-Control" for k, _ in resp.headers):
            self.send_header("Cache-Control", "no-store")
        for key, value in (*SECURITY_HEADERS, *resp.headers):
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(resp.body)

    def log_message(self, fmt, *args):  # to the desk's log, not stderr
        log.debug("board %s: " + fmt, self.address_string(), *args)


def _pairs(text: str) -> dict[str, str]:
    """Form or query fields; a name given twice keeps its first value (a forged second one is ignored)."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS):
        out.setdefault(key, value)
    return out


class BoardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, board: Board, request_timeout: float = 30.0):
        """``request_timeout``: a connection silent this long is closed (no thread held by an idle client)."""
        self.board = board
        handler = type("BoardHandler", (_Handler,), {"timeout": request_timeout})
        super().__init__(address, handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(db, host: str = "127.0.0.1", port: int = 8080, request_timeout: float = 30.0,
                **options) -> BoardServer:
    """The board on ``host:port`` (port 0: any free one; see ``.url``). Options go to ``Board``:
    ``api``, ``clock``, ``tz``, ``refresh``, ``secure_cookies``. Call ``serve_forever()``."""
    return BoardServer((host, port), Board(db, **options), request_timeout)


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` from the config; ValueError with the reason."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"board.listen {listen!r}: expected host:port with a port 0-65535")
    return host.strip("[]") or "127.0.0.1", int(port)


def start(db, cfg, **options):
    """Serve the board from a thread (``hubdesk run``); returns the function that stops it."""
    import threading

    from .fmt import timezone_named

    host, port = parse_listen(cfg.board.listen)
    # board.timezone: the office's zone for the times shown (the desk itself runs in UTC)
    options.setdefault("tz", timezone_named(getattr(cfg.board, "timezone", "")))
    server = make_server(db, host, port, **options)
    thread = threading.Thread(target=server.serve_forever, name="board", daemon=True)
    thread.start()
    log.info("board on %s", server.url)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)
    stop.url = server.url  # where it listens (useful with port 0)
    return stop
