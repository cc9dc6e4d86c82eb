"""A real OpenAI-compatible chat-completions server on loopback, for the eval tests.

It serves either a local transformers model (greedy, its own chat template) or a scripted
policy: a JSON file mapping each problem statement to its replies by attempt. A scripted reply
is a string, ``{"text": ..., "finish_reason": "length"}`` (a reply cut at a length limit), or
``{"status": 500}`` (that call fails). Without ``max_tokens`` a request has no length limit.

Run: python chat_server.py (--model DIR | --script FILE) [--delay S] [--fail-first N]
                          [--fault KIND --fault-at N [--fault-times M]] [--drop-stop]

A request may continue the last assistant message (``continue_final_message``, a scripted
reply then picked by the tool outputs in it) and carry ``stop`` strings, cut at as vLLM does
(kept with ``include_stop_str_in_output`` unless ``--drop-stop``; ``stop_reason`` says
which).
It prints "READY <port>" once it listens on 127.0.0.1.

Faults, on chat requests N to N+M-1 (1-based, in arrival order): ``json`` (malformed JSON),
``html`` (an HTML page with status 200), ``cut`` (the body stops half-way), ``utf8`` (bytes
that are not UTF-8), ``empty-choices``, ``no-usage``, and ``surrogate`` (a valid reply whose
content holds a lone surrogate escape, which must be recorded, not retried).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Scripted(Exception):
    """A scripted reply that is an HTTP error status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Policy:
    def __init__(self, args: argparse.Namespace) -> None:
        self.lock = threading.Lock()
        self.script = None
        if args.script:
            with open(args.script) as handle:
                self.script = json.load(handle)
        else:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(args.model)
            self.model = AutoModelForCausalLM.from_pretrained(args.model)

    def reply(self, messages: list[dict], max_tokens: int) -> tuple[str, int, str]:
        if self.script is not None:
            question = next(m["content"] for m in messages if m["role"] == "user")
            if messages[-1]["role"] == "assistant":  # continuing a tool env's turn
                attempt = messages[-1]["content"].count("```output")
            else:
                attempt = sum(m["role"] == "assistant" for m in messages)
            replies = self.script[next(q for q in self.script if q in question)]
            reply = replies[min(attempt, len(replies) - 1)]
            if isinstance(reply, dict):  # {"status": 500}, or {"text": ..., "finish_reason": ...}
                if "status" in reply:
                    raise Scripted(int(reply["status"]))
                return reply["text"], len(reply["text"].split()), reply["finish_reason"]
            text = reply
            tokens = len(text.split())
            if tokens > max_tokens:
                return " ".join(text.split()[:max_tokens]), max_tokens, "length"
            return text, tokens, "stop"
        import torch

        ids = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        with self.lock, torch.no_grad():
            out = self.model.generate(
                torch.tensor([ids]),
                max_new_tokens=max_tokens,
                do_sample=False,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[0, len(ids) :].tolist()
        stopped = bool(new) and new[-1] == self.tokenizer.eos_token_id
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return text, len(new), "stop" if stopped else "length"


def serve(args: argparse.Namespace) -> None:
    policy = Policy(args)
    failures = {"left": args.fail_first, "seen": 0}
    counter = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _loop(self) -> None:
            """A redirect to a place that redirects again, forever."""
            self.send_response(302)
            self.send_header("Location", "/v1/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path.endswith("/loop"):
                self._loop()
            elif self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]})
            else:
                self._send(404, {"error": "not found"})

        def _raw(self, body: bytes, length: int | None = None, kind: str = "json") -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"application/{kind}")
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_POST(self) -> None:
            if self.path.endswith("/loop"):
                self._loop()
                return
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            if args.log:  # every request body, as received
                with counter, open(args.log, "ab") as log:
                    log.write(raw + b"\n")
            request = json.loads(raw)
            with counter:
                fail = failures["left"] > 0
                failures["left"] -= fail
                failures["seen"] += 1
                number = failures["seen"]
            if fail:
                self._send(503, {"error": "warming up"})
                return
            fault = args.fault if args.fault_at <= number < args.fault_at + args.fault_times else ""
            time.sleep(args.delay)
            try:
                text, tokens, finish = policy.reply(
                    request["messages"], int(request.get("max_tokens") or 1 << 30)
                )
            except Scripted as scripted:
                self._send(scripted.status, {"error": "a scripted failure"})
                return
            if request.get("continue_final_message") and request.get("add_generation_prompt"):
                self._send(400, {"error": "continue_final_message needs add_generation_prompt off"})
                return
            matched = None
            for stop in request.get("stop") or ():  # as vLLM: cut at the first stop string
                if stop in text:
                    drop = args.drop_stop or not request.get("include_stop_str_in_output")
                    text = text[: text.index(stop) + (0 if drop else len(stop))]
                    matched, finish = stop, "stop"
                    tokens = len(text.split())
                    break
            if fault == "surrogate":
                text = text + "\ud800"
            body = {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                        "stop_reason": matched,
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": tokens, "total_tokens": tokens},
            }
            if fault == "json":
                self._raw(b'{"choices": [{"message": {"content": "trunc')
            elif fault == "html":
                self._raw(b"<html><body>502 Bad Gateway</body></html>", kind="html")
            elif fault == "cut":
                data = json.dumps(body).encode()
                self._raw(data[: len(data) // 2], length=len(data))
                self.close_connection = True
            elif fault == "utf8":
                self._raw(b'{"choices": [{"message": {"content": "\xff\xfe"}}]}')
            elif fault == "empty-choices":
                self._send(200, {**body, "choices": []})
            elif fault in ("infinity", "negative"):
                data = json.dumps(body).replace(
                    f'"completion_tokens": {tokens}',
                    '"completion_tokens": ' + ("Infinity" if fault == "infinity" else "-5"),
                )
                self._raw(data.encode())
            elif fault == "redirect-loop":
                self._loop()
            elif fault == "status-line":
                self.wfile.write(b"HTTP/1.1 2x0 WHAT\r\nContent-Length: 2\r\n\r\n{}")
                self.close_connection = True
            elif fault == "huge-header":
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("X-Padding", "x" * 9000)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif fault == "no-usage":
                self._send(200, {key: v for key, v in body.items() if key != "usage"})
            else:
                self._send(200, body)

    ThreadingHTTPServer.request_queue_size = 256  # many rollouts connect at once
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--script")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fault", default="")
    parser.add_argument("--fault-at", type=int, default=0)
    parser.add_argument("--fault-times", type=int, default=1)
    parser.add_argument("--drop-stop", action="store_true")
    parser.add_argument("--log")
    serve(parser.parse_args())
