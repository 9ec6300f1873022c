#!/usr/bin/env python3
"""A stand-in SMS provider for the local stack and compose: accepts POST /sms with {"to", "body"}
and appends each message as a JSON line to the given file. Listens on loopback unless --host
says otherwise (compose listens on the container's network)."""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4090)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            if self.path != "/sms" or length > 65536:
                self.send_response(404)
                self.end_headers()
                return
            message = json.loads(self.rfile.read(length) or b"{}")
            with open(args.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(message) + "\n")
            self.send_response(202)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
