"""A small OpenAI-compatible chat completions server for the tests (and the demo's stand-in model).

It speaks the protocol for real, over HTTP on a loopback port: `POST /v1/chat/completions`, streamed as
server-sent events (`data: {chunk}` ... `data: [DONE]`, usage in a last chunk when asked) or whole, and
`GET /v1/models`. Replies are deterministic: "You said: <the words of the last message>" (after
"(t=<temperature>)" when the request sets one), one word a token, the prompt's tokens the words of
every message.

What a reply does is chosen by a directive in the last message, or by `server.script` (a list of
directives used first, one a request), so tests can drive it from a browser or from a file of prompts:

    [[429]]        answers 429 with Retry-After: 7          [[500]]     answers 500
    [[401]]        refuses the key                          [[stall]]   sends nothing (read timeout)
    [[stall-mid]]  sends a few words, then nothing          [[long]]    writes past max_tokens (cut off)
    [[slow:S]]     spreads the reply over S seconds         [[harm]]    a reply a red-teamer marks as failing

`requests` records every request (path, headers with lower-case names, body). `api_key`, when set,
must be the bearer token.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIRECTIVE = re.compile(r"\[\[([a-z0-9-]+)(?::([0-9.]+))?\]\]")
HARMFUL = "Sure. Ann's private number is 555-0100; call her after nine."


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, *, api_key: str | None = None, word_seconds: float = 0.005,
                 model: str = "taskhub-test-model") -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.api_key = api_key
        self.word_seconds = word_seconds
        self.model = model
        self.requests: list[dict] = []
        self.script: list[str] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_directive(self, text: str) -> tuple[str, float | None]:
        with self.lock:
            if self.script:
                found = DIRECTIVE.fullmatch(f"[[{self.script.pop(0)}]]")
                return found[1], float(found[2]) if found[2] else None
        found = DIRECTIVE.search(text)
        if not found:
            return "", None
        return found[1], float(found[2]) if found[2] else None

    def pause(self, seconds: float) -> None:
        self.stopping.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, format, *args):  # quiet in tests
        pass

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, headers: dict | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "code": None}}, headers)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.server.model, "object": "model"}]})
        else:
            self._error(404, "not found", "not_found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.requests.append({"path": self.path, "body": body,
                                         "headers": {k.lower(): v for k, v in self.headers.items()}})
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, "not found", "not_found")
        if self.server.api_key and self.headers.get("Authorization") != f"Bearer {self.server.api_key}":
            return self._error(401, "Incorrect API key provided.", "invalid_request_error")
        messages = body.get("messages") or []
        last = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        directive, argument = self.server.next_directive(last)
        if directive == "429":
            return self._error(429, "Rate limit reached.", "rate_limit_exceeded", {"Retry-After": "7"})
        if directive == "500":
            return self._error(500, "The server had an error.", "server_error")
        if directive == "401":
            return self._error(401, "Incorrect API key provided.", "invalid_request_error")
        if directive == "stall":
            self.server.pause(30)
            return None
        words = DIRECTIVE.sub("", last).split()
        reply = HARMFUL.split() if directive == "harm" else ["You", "said:", *words]
        if body.get("temperature") is not None:  # so two settings of one model are told apart
            reply = [f"(t={body['temperature']:g})", *reply]
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 1000)
        if directive == "long":
            reply = [f"word{n}" for n in range(max_tokens + 50)]
        finish = "stop"
        if len(reply) > max_tokens:
            reply, finish = reply[:max_tokens], "length"
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages)
        model = self.server.model
        if not body.get("stream"):
            return self._json(200, {
                "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(reply)},
                             "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply),
                          "total_tokens": prompt_tokens + len(reply)},
            })
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        pause = (argument / max(1, len(reply))) if directive == "slow" and argument else self.server.word_seconds

        def send(chunk: dict | str) -> None:
            data = chunk if isinstance(chunk, str) else json.dumps(chunk)
            self.wfile.write(f"data: {data}\n\n".encode())
            self.wfile.flush()

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        try:
            send(chunk({"role": "assistant", "content": ""}))
            for index, word in enumerate(reply):
                if directive == "stall-mid" and index == 3:
                    self.server.pause(30)
                    return None
                send(chunk({"content": word if index == 0 else " " + word}))
                if pause:
                    self.server.pause(pause)
            send(chunk({}, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                send({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                      "model": model, "choices": [],
                      "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply),
                                "total_tokens": prompt_tokens + len(reply)}})
            send("[DONE]")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (TaskHub stopped reading)
        return None


@contextmanager
def running(**options):
    """A FakeOpenAI serving in a thread for the length of the block."""
    server = FakeOpenAI(**options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="A deterministic OpenAI-compatible model for tests and the demo.")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--word-seconds", type=float, default=0.05)
    args = parser.parse_args()
    server = FakeOpenAI(args.port, word_seconds=args.word_seconds)
    print(f"stand-in model at {server.base_url}", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
