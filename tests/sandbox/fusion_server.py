"""A local stand-in for a SandboxFusion service: ``POST /run_code``, for the client's tests.

It runs each request's code with ``python -c`` under the request's ``run_timeout`` (no
isolation: it only ever runs the tests' own snippets) and answers as SandboxFusion does:
``{"status": "Success" | "Failed" | "SandboxError", "run_result": {"status": "Finished" |
"TimeLimitExceeded", "return_code", "stdout", "stderr", "execution_time"}}``.

Run: python fusion_server.py [--fail-first N] [--fault KIND] [--fault-every K]
It prints "READY <port>" once it listens on 127.0.0.1. ``GET /stats`` returns the arrival
times of the ``run_code`` requests (seconds, monotonic) and the most served at once.

Faults: the first N requests get HTTP 503; with ``--fault``, every K-th request (or every
one, K=1) gets ``sandbox-error`` (status SandboxError), ``html`` (an HTML page, status 200),
``no-result`` (JSON without run_result), ``hang`` (no answer for 30 s) or ``404``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(args: argparse.Namespace) -> None:
    lock = threading.Lock()
    state = {"seen": 0, "arrivals": [], "active": 0, "most": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                stats = {"arrivals": state["arrivals"], "most": state["most"]}
            self._send(200, json.dumps(stats).encode())

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with lock:
                state["seen"] += 1
                number = state["seen"]
                state["arrivals"].append(time.monotonic())
                state["active"] += 1
                state["most"] = max(state["most"], state["active"])
            try:
                self._answer(request, number)
            finally:
                with lock:
                    state["active"] -= 1

        def _answer(self, request: dict, number: int) -> None:
            if self.path != "/run_code":
                self._send(404, b'{"detail": "Not Found"}')
                return
            if number <= args.fail_first:
                self._send(503, b"busy")
                return
            fault = args.fault if args.fault and number % args.fault_every == 0 else ""
            if fault == "404":
                self._send(404, b'{"detail": "Not Found"}')
                return
            if fault == "hang":
                time.sleep(30)
                return
            if fault == "html":
                self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
                return
            if fault == "sandbox-error":
                self._send(200, json.dumps({"status": "SandboxError", "message": "pod"}).encode())
                return
            started = time.monotonic()
            try:
                done = subprocess.run([sys.executable, "-c", request["code"]],
                                      capture_output=True, text=True,
                                      timeout=float(request.get("run_timeout", 5)))  # fmt: skip
                result = {"status": "Finished", "return_code": done.returncode,
                          "stdout": done.stdout, "stderr": done.stderr}  # fmt: skip
            except subprocess.TimeoutExpired:
                result = {"status": "TimeLimitExceeded", "return_code": None,
                          "stdout": "", "stderr": ""}  # fmt: skip
            result["execution_time"] = time.monotonic() - started
            ok = result["status"] == "Finished" and result["return_code"] == 0
            reply = {"status": "Success" if ok else "Failed", "message": "",
                     "compile_result": None, "run_result": result}  # fmt: skip
            if fault == "no-result":
                reply.pop("run_result")
            self._send(200, json.dumps(reply).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fault", default="")
    parser.add_argument("--fault-every", type=int, default=1)
    serve(parser.parse_args())
