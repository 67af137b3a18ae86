"""A minimal OpenID Connect provider for the tests: it signs in whoever it was told to.

The authorization endpoint sends the browser straight back with a code; the token endpoint
answers with an id_token naming the person and their groups. Enough of the code flow to prove
that the app signs people in through a provider and takes their role from its groups.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeProvider:
    """Run on a free port in a thread; ``claims`` is who the next sign-in will be."""

    def __init__(self) -> None:
        self.claims: dict = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # /authorize
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                back = query["redirect_uri"][0]
                target = f"{back}{'&' if '?' in back else '?'}" + urllib.parse.urlencode(
                    {"code": "one-time-code", "state": query["state"][0]}
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def do_POST(self) -> None:  # /token
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                token = ".".join(
                    [_segment({"alg": "none"}), _segment(provider.claims), "signature"]
                )
                body = json.dumps(
                    {"access_token": "access", "id_token": token, "token_type": "Bearer"}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
