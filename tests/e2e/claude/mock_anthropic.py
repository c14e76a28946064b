#!/usr/bin/env python3
# Copied unchanged from the shared e2e harness (shared/e2e/mock_anthropic.py, written for issue 12
# by the session that measured Claude Code 2.1.330 against it); tests/e2e/claude/mod.rs drives it.
"""Loopback mock of the Anthropic Messages API, for driving the real Claude Code CLI.

Stdlib only. Binds 127.0.0.1 only. Serves:

  POST /v1/messages               streamed (SSE) or plain JSON replies; while "limited", the
                                  real-shaped subscriber plan-limit reply: HTTP 429 with
                                  anthropic-ratelimit-unified-status: rejected, -reset: <epoch>,
                                  -representative-claim: five_hour (what makes Claude Code draw
                                  "You've hit your ... limit · resets <time> (<zone>)").
  POST /v1/messages/count_tokens  {"input_tokens": N}
  anything else                   404 JSON error (logged)

Control (loopback only), GET or POST:
  /control/limit?reset=EPOCH      limited until EPOCH (unix seconds) ...
  /control/limit?reset_in=SECS    ... or SECS from now; optional &claim=five_hour|seven_day|...
                                  The limit also ends by itself once EPOCH has passed, like the
                                  real service.
  /control/ok                     not limited any more
  /control/reply?text=...         the text of later normal replies (default: "Mock reply #N.")
  /control/delay?s=0.2            seconds between streamed text chunks (default 0.05)
  /control/state                  current mode as JSON

Every API request is one JSON line in --log (default ./requests.jsonl):
  {"n", "ts", "iso", "method", "path", "kind": "messages"|"count_tokens"|"other",
   "stream", "model", "tools", "max_tokens", "n_messages", "main", "limited", "status",
   "text", "texts", "system_head", "cwd", "session"}
where "text" is the newest user message's last text block that is not a <system-reminder>
(what a person or a supervisor typed), "texts" all its text blocks, "limited" whether this
request got the 429, and "main" a guess that it is a conversation turn (streamed, with tools)
rather than a side request (title, quota probe), "cwd" the working directory named in the
system prompt (tells agents apart) and "session" Claude Code's X-Claude-Code-Session-Id header
(a new one means a new process). Control requests are not logged there.

Usage:
  mock_anthropic.py serve [--port 0] [--port-file F] [--log F]
  mock_anthropic.py ctl PORT limit --reset-in 60 | limit --reset EPOCH | ok | state
"""
import argparse
import datetime as dt
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"limited": False, "reset": None, "claim": "five_hour", "reply": None, "delay": 0.05,
         "n": 0, "turns": 0}
LOG_PATH = "requests.jsonl"


def now():
    return time.time()


def is_limited():
    """(limited?, reset epoch, claim); a limit whose reset has passed ends by itself."""
    with LOCK:
        if STATE["limited"] and STATE["reset"] is not None and now() >= STATE["reset"]:
            STATE["limited"] = False
        return STATE["limited"], STATE["reset"], STATE["claim"]


def user_texts(body):
    """All text blocks of the newest user message, and the last one that is not a
    system reminder (the words someone typed)."""
    msgs = body.get("messages") or []
    for m in reversed(msgs):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        blocks = [c] if isinstance(c, str) else [
            b.get("text", "") for b in (c or []) if isinstance(b, dict) and b.get("type") == "text"]
        if not blocks and isinstance(c, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in c):
            return ["<tool_result>"], "<tool_result>"
        typed = [t for t in blocks if not t.lstrip().startswith("<system-reminder>")]
        return blocks, (typed[-1].strip() if typed else "")
    return [], ""


def system_head(body):
    s = body.get("system")
    if isinstance(s, list):
        s = " ".join(b.get("text", "") for b in s if isinstance(b, dict))
    return (s or "")[:120]


def working_dir(body):
    """The agent's working directory as Claude Code states it to the model ("Primary working
    directory: /path", in a system prompt or an early user message); tells apart agents that
    share one mock."""
    m = re.search(r"(?:Primary working directory|Working directory): ([^\s\\\"]+)",
                  json.dumps(body, ensure_ascii=False))
    return m.group(1) if m else None


def log(rec):
    with LOCK:
        STATE["n"] += 1
        rec["n"] = STATE["n"]
        with open(LOG_PATH, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-anthropic/1"

    def log_message(self, fmt, *args):  # quiet: the JSONL log is the record
        pass

    # ---- plumbing -------------------------------------------------------------------------
    def _body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:20])
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def _route(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path.startswith("/control/"):
            if method == "POST":
                self._body()
            return self._control(u.path[len("/control/"):], q)
        body = self._body() if method == "POST" else {}
        if method == "POST" and u.path == "/v1/messages":
            return self._messages(body)
        if method == "POST" and u.path == "/v1/messages/count_tokens":
            log({"ts": now(), "iso": iso(now()), "method": method, "path": u.path,
                 "kind": "count_tokens", "limited": False, "status": 200})
            return self._json(200, {"input_tokens": 42})
        log({"ts": now(), "iso": iso(now()), "method": method, "path": self.path,
             "kind": "other", "limited": False, "status": 404})
        self._json(404, {"type": "error",
                         "error": {"type": "not_found_error", "message": "Not found (mock)"}})

    # ---- control --------------------------------------------------------------------------
    def _control(self, verb, q):
        with LOCK:
            if verb == "limit":
                if "reset" in q:
                    reset = float(q["reset"])
                else:
                    reset = now() + float(q.get("reset_in", 60))
                STATE.update(limited=True, reset=int(reset), claim=q.get("claim", "five_hour"))
            elif verb == "ok":
                STATE.update(limited=False)
            elif verb == "reply":
                STATE["reply"] = q.get("text") or None
            elif verb == "delay":
                STATE["delay"] = float(q.get("s", 0.05))
            elif verb != "state":
                return self._json(404, {"error": f"unknown control {verb}"})
        is_limited()  # a limit whose reset has passed ends by itself
        with LOCK:
            snap = {k: STATE[k] for k in ("limited", "reset", "claim", "reply", "delay", "n")}
        snap["now"] = now()
        self._json(200, snap)

    # ---- the Messages API -----------------------------------------------------------------
    def _messages(self, body):
        t = now()
        texts, text = user_texts(body)
        stream = bool(body.get("stream"))
        tools = len(body.get("tools") or [])
        limited, reset, claim = is_limited()
        rec = {"ts": t, "iso": iso(t), "method": "POST", "path": self.path, "kind": "messages",
               "stream": stream, "model": body.get("model"), "tools": tools,
               "max_tokens": body.get("max_tokens"), "n_messages": len(body.get("messages") or []),
               "main": stream and tools > 0, "limited": limited,
               "status": 429 if limited else 200, "text": text,
               "texts": [x[:400] for x in texts], "system_head": system_head(body),
               "cwd": working_dir(body),
               "session": self.headers.get("x-claude-code-session-id")}
        log(rec)
        if limited:
            return self._limit_reply(reset, claim)
        with LOCK:
            STATE["turns"] += 1
            reply = STATE["reply"] or f"Mock reply #{STATE['turns']}."
            delay = STATE["delay"]
        model = body.get("model") or "claude-sonnet-4-5"
        if stream:
            return self._stream(model, reply, delay)
        self._json(200, {
            "id": "msg_mock_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
            "model": model, "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 6,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
            headers=allowed_headers())

    def _limit_reply(self, reset, claim):
        """The subscriber plan-limit reply as the real service sends it (see
        research/cli-banners.md): 429 rate_limit_error plus the unified rate-limit headers."""
        short = {"five_hour": "5h", "seven_day": "7d", "seven_day_opus": "7d_opus",
                 "seven_day_sonnet": "7d_sonnet"}.get(claim, "5h")
        h = {
            "anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-reset": str(int(reset)),
            "anthropic-ratelimit-unified-representative-claim": claim,
            f"anthropic-ratelimit-unified-{short}-status": "rejected",
            f"anthropic-ratelimit-unified-{short}-reset": str(int(reset)),
            f"anthropic-ratelimit-unified-{short}-utilization": "1.0",
            "anthropic-ratelimit-unified-fallback-percentage": "0.5",
            "anthropic-ratelimit-unified-overage-status": "rejected",
            "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
            "retry-after": str(max(1, int(reset - now()))),
            "x-should-retry": "false",
        }
        self._json(429, {"type": "error",
                         "error": {"type": "rate_limit_error",
                                   "message": "This request would exceed your account's rate "
                                              "limit. Please try again later."},
                         "request_id": "req_mock_" + uuid.uuid4().hex[:20]}, headers=h)

    def _stream(self, model, reply, delay):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:20])
        for k, v in allowed_headers().items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        mid = "msg_mock_" + uuid.uuid4().hex[:20]

        def ev(name, data):
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        try:
            ev("message_start", {"type": "message_start", "message": {
                "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}})
            ev("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}})
            ev("ping", {"type": "ping"})
            words = reply.split(" ")
            for i, w in enumerate(words):
                ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta",
                                                     "text": w + (" " if i < len(words) - 1 else "")}})
                time.sleep(delay)
            ev("content_block_stop", {"type": "content_block_stop", "index": 0})
            ev("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": max(1, len(words))}})
            ev("message_stop", {"type": "message_stop"})
        except (BrokenPipeError, ConnectionResetError):
            pass


def allowed_headers():
    """What the service sends with a normal reply to a subscriber: well inside the window."""
    reset = int(now()) + 5 * 3600
    return {"anthropic-ratelimit-unified-status": "allowed",
            "anthropic-ratelimit-unified-reset": str(reset),
            "anthropic-ratelimit-unified-representative-claim": "five_hour",
            "anthropic-ratelimit-unified-5h-status": "allowed",
            "anthropic-ratelimit-unified-5h-reset": str(reset),
            "anthropic-ratelimit-unified-5h-utilization": "0.02"}


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds")


def serve(a):
    global LOG_PATH
    LOG_PATH = os.path.abspath(a.log)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, a.port_file)
    print(f"mock-anthropic listening on 127.0.0.1:{port}, log {LOG_PATH}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


def ctl(a):
    q = {}
    if a.verb == "limit":
        if a.reset is not None:
            q["reset"] = a.reset
        else:
            q["reset_in"] = a.reset_in
        q["claim"] = a.claim
    url = f"http://127.0.0.1:{a.port}/control/{a.verb}"
    if q:
        url += "?" + urllib.parse.urlencode(q)
    with urllib.request.urlopen(url, timeout=5) as r:
        print(r.read().decode())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--log", default="requests.jsonl")
    c = sub.add_parser("ctl")
    c.add_argument("port", type=int)
    c.add_argument("verb", choices=["limit", "ok", "state"])
    c.add_argument("--reset", type=int)
    c.add_argument("--reset-in", type=float, default=60)
    c.add_argument("--claim", default="five_hour")
    a = p.parse_args()
    serve(a) if a.cmd == "serve" else ctl(a)


if __name__ == "__main__":
    sys.exit(main())
