"""A real OpenAI-compatible chat-completions server on loopback, for the eval tests.

It serves either a local transformers model (greedy, its own chat template) or a scripted
policy: a JSON file mapping each problem statement to its replies by attempt.

Run: python chat_server.py (--model DIR | --script FILE) [--delay S] [--fail-first N]
It prints "READY <port>" once it listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
            attempt = sum(m["role"] == "assistant" for m in messages)
            replies = self.script[question]
            text = replies[min(attempt, len(replies) - 1)]
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
    failures = {"left": args.fail_first}
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

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length))
            with counter:
                fail = failures["left"] > 0
                failures["left"] -= fail
            if fail:
                self._send(503, {"error": "warming up"})
                return
            time.sleep(args.delay)
            text, tokens, finish = policy.reply(request["messages"], int(request["max_tokens"]))
            self._send(
                200,
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": request["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": tokens},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--script")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--fail-first", type=int, default=0)
    serve(parser.parse_args())
