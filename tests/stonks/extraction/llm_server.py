"""A local HTTP server that speaks Ollama's /api/chat and OpenAI's /v1/chat/completions.

Tests script its answers: each request pops the next step (a JSON body and status, a
delay, or raw bytes). Requests are recorded with their JSON bodies.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    body: Any = None
    status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None


def ollama_answer(content: str, *, prompt: int = 100, completion: int = 50,
                  done_reason: str = "stop") -> Step:
    return Step({"model": "llama3.1:8b", "created_at": "2010-01-28T00:00:00Z",
                 "message": {"role": "assistant", "content": content}, "done": True,
                 "done_reason": done_reason, "prompt_eval_count": prompt,
                 "eval_count": completion})


def openai_answer(content: str, *, prompt: int = 100, completion: int = 50,
                  finish_reason: str = "stop") -> Step:
    return Step({"id": "chatcmpl-1", "object": "chat.completion", "model": "qwen2.5-7b",
                 "choices": [{"index": 0, "finish_reason": finish_reason,
                              "message": {"role": "assistant", "content": content}}],
                 "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion}})


@dataclass
class FakeLLMServer:
    url: str
    steps: list[Step] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    default: Step | None = None

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)


def serve() -> Iterator[FakeLLMServer]:
    state = FakeLLMServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append((self.path, body))
            if self.path not in ("/api/chat", "/v1/chat/completions"):
                self.send_response(404)
                self.end_headers()
                return
            step = state.steps.pop(0) if state.steps else state.default
            if step is None:
                step = Step({"error": "no scripted answer"}, status=500)
            if step.delay_s:
                time.sleep(step.delay_s)
            payload = step.raw if step.raw is not None else json.dumps(step.body).encode()
            try:
                self.send_response(step.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
