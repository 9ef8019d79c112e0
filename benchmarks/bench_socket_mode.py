"""Socket Mode clients side by side on one loopback server: throughput, ack latency, refreshes.

    python benchmarks/bench_socket_mode.py                  # the full run (issue 16, "Performance")
    python benchmarks/bench_socket_mode.py --burst 5000 --seconds 3 --refreshes 5     # a smoke run
    options: --module path/to/slack_rtm.py  --size 600  --rate 1000  --body-ms 0.5
             --refresh-rate 200  --refresh-every 1.0  --close-after 3.0
             --only NAME[,NAME]  (client names and/or scenario names: burst, latency, refresh)
             --json PATH  (also write every figure to PATH as JSON)

The server is this process: one thread, one selector loop, raw sockets on
127.0.0.1.  It answers ``POST /api/apps.connections.open`` with a ws:// URL
to itself, upgrades, says ``hello``, writes events_api envelopes of about
--size bytes (the shape of corpus/socket_mode/python-slack-sdk_events_api_
message_channel.json), answers pings, and records every ack by envelope_id
with its arrival time.  Each client runs in a child process of its own
(this file with --client), so its CPU time and peak RSS (ru_maxrss) are its
own; CPU is counted from after its imports to the end of its run.

Clients (every one acks every envelope):
  slack_rtm      connect("xapp-..."): for envelope in session (acked by the session before it is yielded)
  bare           websocket-client, skip_utf8_validation=True: recv, json.loads, send the ack
  sdk-builtin    slack_sdk.socket_mode.SocketModeClient, sys.setrecursionlimit raised to 1,000,000
  sdk-default    the same with Python's default recursion limit (burst only: shows how it fails)
  sdk-wsclient   slack_sdk.socket_mode.websocket_client.SocketModeClient
The slack_sdk clients ack in their request listener (on their thread pool), then run the loop body.

Scenarios:
  burst    --burst envelopes written at once after hello; envelopes/s from hello to the last ack,
           CPU per envelope, peak RSS.  Ends at the last ack, when the connection closes, or when
           no ack has come for 15 s (the figure is then the failure).
  latency  --rate envelopes a second for --seconds, one frame each on its schedule; the loop body
           busy-waits --body-ms (a spin on time.perf_counter: sleep() overshoots by more than the
           figure measured).  Ack latency = the server's send time to the ack's arrival.
  refresh  envelopes at --refresh-rate a second, round robin over every open connection, while the
           server refreshes --refreshes times, one every --refresh-every s: ``disconnect`` reason
           ``warning`` on the newest connection, which it closes --close-after s later.  As Slack
           does, an envelope not acked when its connection closes is sent again on another one
           (a new envelope_id, the same event_id, retry_attempt + 1).  Lost: an event never
           yielded; duplicated: yielded twice (by event_id).  No connection: the total time,
           after the first hello, during which the server had no connection open.

A smoke run (--smoke: --burst 3000 --seconds 2 --refreshes 3 --refresh-every 0.5, about 30 s) on 2
cores shared with other work, Python 3.11.7, websocket-client 1.9.2, slack_sdk 3.48.0.  SMOKE
figures only: bursts this small are mostly start-up, and latencies here swing by milliseconds
from run to run with the machine's load.

  burst 3,000   slack_rtm 5,303/s 162 us 54 MiB; bare 5,538/s 111 us 36 MiB; sdk-builtin * 7,156/s
                140 us 51 MiB; sdk-builtin at the default limit: RecursionError, 0 acked;
                sdk-wsclient 2,590/s 335 us 37 MiB
  latency 2 s   p50/p99 ms: slack_rtm 1.04/3.91; bare 0.23/16.0; sdk-builtin 1.41/22.6
  refresh 3     slack_rtm 1,102 sent, 0 lost, 0 duplicated, 0 s without a connection;
                sdk-builtin 0 lost, 37 duplicated (it closes the warned connection at once and
                acks what it read there on the new one, too late: each was sent again), 0 s

slack_rtm's ack latency is the envelope interval (1.0 ms at 1,000/s, 2.0 ms at 500/s with no loop
body; the bare loop's 0.2 ms): its socket (socket.create_connection in _Wire) has no TCP_NODELAY,
so each small ack waits for the server's next frame to carry the TCP ACK of the last (Nagle).
"""

import argparse
import base64
import copy
import functools
import hashlib
import json
import logging
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "corpus", "socket_mode", "python-slack-sdk_events_api_message_channel.json")
CLIENTS = ("slack_rtm", "bare", "sdk-builtin", "sdk-default", "sdk-wsclient")
SCENARIOS = {"burst": ("slack_rtm", "bare", "sdk-builtin", "sdk-default", "sdk-wsclient"),
             "latency": ("slack_rtm", "bare", "sdk-builtin"),
             "refresh": ("slack_rtm", "sdk-builtin")}
SMOKE = ["--burst", "3000", "--seconds", "2", "--refreshes", "3", "--refresh-every", "0.5"]
RECURSION_LIMIT = 1000000
STALL = 15.0
CLIENT_STALL = 2.0

# -- envelopes -----------------------------------------------------------------

TEMPLATE = {"envelope_id": "", "payload": {
    "token": "verification-token", "team_id": "T111", "api_app_id": "A111",
    "event": {"client_msg_id": "f0582a78-72db-4feb-b2f3-1e47d66365c8", "type": "message", "text": "",
              "user": "U222", "ts": "1610241741.000200", "team": "T111", "channel": "C111",
              "event_ts": "1610241741.000200", "channel_type": "channel"},
    "type": "event_callback", "event_id": "", "event_time": 1610241741,
    "authorizations": [{"enterprise_id": None, "team_id": "T111", "user_id": "U333", "is_bot": True,
                        "is_enterprise_install": False}],
    "is_ext_shared_channel": False, "event_context": "1-message-T111-C111"},
    "type": "events_api", "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""}


def envelope(n, size, attempt=0, kind="message"):
    """Envelope ``n`` (event Ev<n>), about ``size`` bytes of JSON, framed as a server text frame."""
    env = copy.deepcopy(TEMPLATE)
    env["envelope_id"] = "%08d-%04d-4d5e-a1ad-646e532baa19" % (n, attempt)
    env["payload"]["event_id"] = "Ev%010d" % n
    env["payload"]["event"]["type"] = kind
    if attempt:
        env["retry_attempt"], env["retry_reason"] = attempt, "timeout"
    text = json.dumps(env, separators=(",", ":"))
    env["payload"]["event"]["text"] = "x" * max(0, size - len(text))
    return env["envelope_id"], frame(json.dumps(env, separators=(",", ":")).encode())


def frame(payload, opcode=0x1):
    """An unmasked server frame."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
    return head + payload


def client_frames(buf):
    """The complete masked client frames at the start of ``buf``: [(opcode, payload)], bytes used."""
    from websockets.frames import apply_mask
    out, pos, size = [], 0, len(buf)
    while size - pos >= 6:
        opcode, length, head = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, pos + 2
        if length == 126:
            length, head = int.from_bytes(buf[head:head + 2], "big"), head + 2
        elif length == 127:
            length, head = int.from_bytes(buf[head:head + 8], "big"), head + 8
        end = head + 4 + length
        if end > size:
            break
        out.append((opcode, apply_mask(bytes(buf[head + 4:end]), bytes(buf[head:head + 4]))))
        pos = end
    return out, pos


# -- the server ------------------------------------------------------------------

class Conn:
    """One accepted socket: HTTP first, then (after the upgrade) a WebSocket."""

    def __init__(self, sock, key):
        self.sock, self.key = sock, key
        self.inbuf, self.out = bytearray(), bytearray()
        self.ws = self.closed = self.warned = self.closing = False
        self.unacked = {}                         # envelope_id -> event number, sent on this connection


class Server:
    """The loopback Slack: a selector loop that runs one scenario for one client."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.sel = selectors.SelectSelector()         # select()'s timeout is in us; epoll's in ms: late sends
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ)
        self.port, self.keys = self.listener.getsockname()[1], 0
        self.conns = {}

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/api/" % self.port

    def run(self, proc, timeout):
        """Serve until the scenario is done and the client exited (or ``timeout``)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            due = self.scenario.tick(self, time.monotonic())
            if self.scenario.done and proc.poll() is not None:
                return True
            if self.scenario.done and self.scenario.error:    # a failed client: a moment to report, no more
                end = min(end, time.monotonic() + CLIENT_STALL + 3.0)
            wait = 0.1 if due is None else max(0.0, min(0.1, due - time.monotonic()))
            for key, mask in self.sel.select(wait):
                if key.fileobj is self.listener:
                    self.accept()
                else:
                    self.io(key.data, mask)
        return False

    def accept(self):
        sock, _ = self.listener.accept()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.keys += 1
        conn = self.conns[self.keys] = Conn(sock, self.keys)
        self.sel.register(sock, selectors.EVENT_READ, conn)

    def io(self, conn, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush(conn)
        if mask & selectors.EVENT_READ and not conn.closed:
            try:
                data = conn.sock.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                return self.close(conn)
            conn.inbuf += data
            (self.frames if conn.ws else self.http)(conn)

    def http(self, conn):
        head, sep, body = bytes(conn.inbuf).partition(b"\r\n\r\n")
        if not sep:
            return
        lines = head.split(b"\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if lines[0].startswith(b"POST"):
            if len(body) < int(fields.get(b"content-length", b"0")):
                return
            answer = json.dumps({"ok": True, "url": "ws://127.0.0.1:%d/link/%d" % (self.port, conn.key)}).encode()
            self.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                      b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
            conn.closing = True
            return
        accept = base64.b64encode(hashlib.sha1(fields[b"sec-websocket-key"]
                                               + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.inbuf, conn.ws = bytearray(body), True
        self.send(conn, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A111"},
                 "debug_info": {"host": "applink-bench", "build_number": 1, "approximate_connection_time": 18060}}
        self.send(conn, frame(json.dumps(hello).encode()))
        self.scenario.hello(self, conn, time.monotonic())

    def frames(self, conn):
        frames, used = client_frames(conn.inbuf)
        del conn.inbuf[:used]
        now = time.monotonic()
        for opcode, payload in frames:
            if opcode == 0x1:
                envelope_id = json.loads(payload).get("envelope_id")
                self.scenario.ack(self, conn, envelope_id, now)
            elif opcode == 0x9:
                self.send(conn, frame(payload, 0xA))
            elif opcode == 0x8:
                self.send(conn, frame(payload[:2], 0x8))
                return self.close(conn)

    def send(self, conn, data):
        if conn.closed:
            return
        conn.out += data
        self.flush(conn)

    def flush(self, conn):
        try:
            sent = conn.sock.send(conn.out) if conn.out else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return self.close(conn)
        del conn.out[:sent]
        if not conn.out and conn.closing:
            return self.close(conn)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        self.sel.modify(conn.sock, events, conn)

    def close(self, conn):
        """Close ``conn`` (a close frame first, if it is a WebSocket the server ends)."""
        if conn.closed:
            return
        conn.closed = True
        self.sel.unregister(conn.sock)
        conn.sock.close()
        del self.conns[conn.key]
        if conn.ws:
            self.scenario.closed(self, conn, time.monotonic())

    def end(self, conn):
        """The server ends ``conn``: a close frame, then TCP closed (at once, as Slack may)."""
        conn.out += frame((1000).to_bytes(2, "big") + b"refresh", 0x8)
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(1.0)
            conn.sock.sendall(conn.out)
        except OSError:
            pass
        conn.out.clear()
        self.close(conn)


# -- the scenarios ----------------------------------------------------------------

class Burst:
    """``count`` envelopes at once after hello; the time to the last ack."""

    def __init__(self, count, size):
        self.count, self.done, self.error = count, False, None
        ids, self.blob = burst_blob(count, size)
        self.ids, self.acked, self.conn = set(ids), 0, None
        self.started = self.last = None

    def hello(self, server, conn, now):
        if self.conn is not None:
            return                                # a reconnect after a failure: nothing more comes
        self.conn, self.started, self.last = conn, now, now
        server.send(conn, self.blob)
        self.blob = b""

    def ack(self, server, conn, envelope_id, now):
        if envelope_id in self.ids:
            self.ids.discard(envelope_id)
            self.acked, self.last = self.acked + 1, now
            self.done = self.acked == self.count

    def closed(self, server, conn, now):
        if conn is self.conn and not self.done:
            self.error, self.done = "connection closed after %d acks" % self.acked, True

    def tick(self, server, now):
        if not self.done and self.last is not None and now - self.last > STALL:
            self.error, self.done = "stalled after %d acks" % self.acked, True
        return None

    def result(self):
        seconds = (self.last or 0) - (self.started or 0)
        return {"acked": self.acked, "seconds": seconds, "rate": self.acked / seconds if seconds > 0 else 0,
                "error": self.error}


@functools.lru_cache(maxsize=1)
def burst_blob(count, size):
    """The burst's envelope ids and frames, in one blob (made once for every client)."""
    frames = [envelope(n, size) for n in range(count)]
    return [envelope_id for envelope_id, _ in frames], b"".join(data for _, data in frames)


class Latency:
    """``rate`` envelopes a second for ``seconds`` on one connection; send time to ack arrival."""

    def __init__(self, rate, seconds, size):
        self.rate, self.total = rate, int(rate * seconds)
        self.frames = [envelope(n, size) for n in range(self.total)]
        self.index = {envelope_id: n for n, (envelope_id, _) in enumerate(self.frames)}
        self.sent, self.latency = [None] * self.total, {}
        self.conn = self.start = None
        self.next, self.done, self.error = 0, False, None

    def hello(self, server, conn, now):
        if self.conn is None:
            self.conn, self.start = conn, now + 0.3      # the client's loop is running by then

    def ack(self, server, conn, envelope_id, now):
        n = self.index.get(envelope_id)
        if n is not None and n not in self.latency and self.sent[n] is not None:
            self.latency[n] = now - self.sent[n]

    def closed(self, server, conn, now):
        if conn is self.conn and not self.done and len(self.latency) < self.total:
            self.error, self.done = "connection closed after %d acks" % len(self.latency), True

    def tick(self, server, now):
        if self.start is None or self.done:
            return None
        while self.next < self.total and self.start + self.next / self.rate <= now:
            server.send(self.conn, self.frames[self.next][1])
            self.sent[self.next] = time.monotonic()
            self.next += 1
        if self.next == self.total:
            last = self.sent[-1]
            self.done = len(self.latency) == self.total or now - last > 5.0
            return now + 0.01
        return self.start + self.next / self.rate

    def result(self):
        values = sorted(self.latency.values())
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1e3 if values else float("nan")
        return {"acked": len(values), "sent": self.next, "p50": pick(0.5), "p99": pick(0.99),
                "max": values[-1] * 1e3 if values else float("nan"), "error": self.error}


class Refresh:
    """Envelopes flowing over every open connection while the server refreshes them."""

    def __init__(self, refreshes, every, close_after, rate, size):
        self.refreshes, self.every, self.close_after, self.rate, self.size = refreshes, every, close_after, rate, size
        self.open, self.pending_close, self.resend = [], [], []
        self.events, self.acked, self.robin = 0, set(), 0
        self.first = self.gap_since = self.end_sent = self.end_id = None
        self.gap, self.warned, self.connections, self.resent = 0.0, 0, 0, 0
        self.done, self.error, self.next_refresh, self.stop_at = False, None, None, None

    def hello(self, server, conn, now):
        self.connections += 1
        if self.first is None:
            self.first, self.next_refresh = now, now + self.every
        if self.gap_since is not None:
            self.gap, self.gap_since = self.gap + now - self.gap_since, None
        self.open.append(conn)

    def ack(self, server, conn, envelope_id, now):
        self.acked.add(envelope_id)
        for other in self.open:
            other.unacked.pop(envelope_id, None)

    def closed(self, server, conn, now):
        if conn in self.open:
            self.open.remove(conn)
        for envelope_id, (n, attempt, kind) in conn.unacked.items():
            if envelope_id not in self.acked:
                self.resend.append((n, attempt + 1, kind))
        if not self.open and self.first is not None and not self.done:
            self.gap_since = now

    def tick(self, server, now):
        if self.first is None or self.done:
            return None
        self.refresh(server, now)
        for conn, at in list(self.pending_close):
            if at <= now:
                self.pending_close.remove((conn, at))
                if not conn.closed:
                    server.end(conn)
        if self.stop_at is None and self.warned == self.refreshes and not self.pending_close:
            self.stop_at = now + 1.0
        self.flow(server, now)
        self.done = self.end_sent is not None and (self.end_id in self.acked or not self.open)
        return now + 0.005

    def refresh(self, server, now):
        if self.warned >= self.refreshes or now < self.next_refresh:
            return
        fresh = [conn for conn in self.open if not conn.warned]
        if not fresh:
            return
        conn = fresh[-1]
        conn.warned = True
        server.send(conn, frame(json.dumps({"type": "disconnect", "reason": "warning",
                                            "debug_info": {"host": "applink-bench"}}).encode()))
        self.pending_close.append((conn, now + self.close_after))
        self.warned += 1
        self.next_refresh = now + self.every

    def flow(self, server, now):
        if not self.open:
            return
        due = int((min(now, self.stop_at or now) - self.first) * self.rate)
        while self.resend or self.events < due:
            if self.resend:
                n, attempt, kind = self.resend.pop(0)
                self.resent += 1
            else:
                n, attempt, kind = self.events, 0, "message"
                self.events += 1
            self.push(server, n, attempt, kind)
        if self.stop_at is not None and now >= self.stop_at and self.end_sent is None:
            self.end_sent = now
            self.end_id = self.push(server, self.events, 0, "bench_end")

    def push(self, server, n, attempt, kind="message"):
        conn = self.open[self.robin % len(self.open)]
        self.robin += 1
        envelope_id, data = envelope(n, self.size, attempt, kind)
        conn.unacked[envelope_id] = (n, attempt, kind)
        server.send(conn, data)
        return envelope_id

    def result(self, yielded):
        got = [int(event_id[2:]) for event_id in yielded]
        seen = set(got)
        return {"sent": self.events, "yielded": len(got),
                "lost": len(set(range(self.events)) - seen), "duplicated": len(got) - len(seen),
                "resent": self.resent, "connections": self.connections, "refreshes": self.warned,
                "gap": self.gap, "error": self.error}


# -- the clients (each in a child process: this file with --client) ---------------

def spin(seconds):
    """The loop body: a busy wait (sleep() would overshoot)."""
    if seconds:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass


class Stop:
    """When a client's loop ends, and what it yielded."""

    def __init__(self, count, body):
        self.count, self.body, self.n, self.events = count, body, 0, []
        self.cpu = None                               # the CPU time used when the loop ended

    def seen(self, envelope):
        """Count ``envelope``, run the loop body; True when the loop should end."""
        self.n += 1
        spin(self.body)
        if self.count and self.n >= self.count or envelope["payload"]["event"]["type"] == "bench_end":
            self.cpu = usage()
            return True
        if not self.count:
            self.events.append(envelope["payload"]["event_id"])
        return False


def run_slack_rtm(args, stop):
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.module)))
    import slack_rtm
    start = usage()
    with slack_rtm.connect("xapp-1-bench", base_url=args.url, allow_http=True) as session:
        for item in session:
            if stop.seen(item):
                break
    return start


def run_bare(args, stop):
    import urllib.request
    import websocket
    start = usage()
    request = urllib.request.Request(args.url + "apps.connections.open", data=b"", method="POST",
                                     headers={"Authorization": "Bearer xapp-1-bench"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        url = json.loads(answer.read())["url"]
    ws = websocket.create_connection(url, skip_utf8_validation=True)
    ws.recv()                                                 # hello
    while True:
        item = json.loads(ws.recv())
        ws.send(json.dumps({"envelope_id": item["envelope_id"]}))
        if stop.seen(item):
            break
    ws.close()
    return start


def run_sdk(args, stop):
    import threading
    from slack_sdk.socket_mode.response import SocketModeResponse
    from slack_sdk.web import WebClient
    if args.client == "sdk-wsclient":
        from slack_sdk.socket_mode.websocket_client import SocketModeClient
    else:
        from slack_sdk.socket_mode import SocketModeClient
    if args.client == "sdk-builtin":
        sys.setrecursionlimit(RECURSION_LIMIT)
    start, finished, lock = usage(), threading.Event(), threading.Lock()

    def listener(client, request):
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        with lock:
            if stop.seen({"payload": request.payload}):
                finished.set()

    client = SocketModeClient(app_token="xapp-1-bench", web_client=WebClient(base_url=args.url))
    client.socket_mode_request_listeners.append(listener)
    client.connect()
    seen, since = 0, time.monotonic()
    while not finished.wait(0.25):                    # ends, too, once nothing has come for CLIENT_STALL s
        if stop.n != seen:
            seen, since = stop.n, time.monotonic()
        elif time.monotonic() - since > CLIENT_STALL:
            raise RuntimeError("nothing for %g s after %d envelopes" % (CLIENT_STALL, stop.n))
    return start                                      # not closed: closing takes it seconds, and is not the figure


class Logged(logging.Handler):
    """The kinds of the first few exceptions a client logs (slack_sdk logs and carries on)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors = []

    def emit(self, record):
        message = record.getMessage()
        error = re.search(r"error: (\w+)", message)          # slack_sdk's on_error: "... error: Kind, ..."
        kind = record.exc_info[0].__name__ if record.exc_info else error.group(1) if error else message[:60]
        if kind not in self.errors and len(self.errors) < 3:
            self.errors.append(kind)


def usage():
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def peak_rss(own):
    """The client's peak resident set in MiB: VmHWM, its own since exec.  (ru_maxrss
    is not: Linux keeps across exec the high-water mark of the forked parent, the
    server holding every frame of the burst.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return own.ru_maxrss / 1024


def client_main(args):
    import logging
    logged = Logged()
    for name in ("slack_sdk", "slack_rtm"):       # no traceback per frame: the first errors are the figure
        logging.getLogger(name).addHandler(logged)
        logging.getLogger(name).propagate = False
    stop = Stop(args.count, args.body_ms / 1e3)
    run = {"slack_rtm": run_slack_rtm, "bare": run_bare}.get(args.client, run_sdk)
    error = None
    start = usage()
    try:
        start = run(args, stop)
    except Exception as exc:                 # noqa: BLE001  the figure is the failure, whatever it is
        error = "%s: %s" % (type(exc).__name__, exc)
    if logged.errors:
        error = "%s; logged: %s" % (error or "", ", ".join(logged.errors))
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": (stop.cpu or own.ru_utime + own.ru_stime) - start, "rss": peak_rss(own),
                      "n": stop.n, "events": stop.events, "error": error}), flush=True)
    os._exit(0)                                       # slack_sdk's threads must not hold the exit


# -- the runs ---------------------------------------------------------------------

def measure(args, name, scenario, count, timeout):
    """Run client ``name`` against ``scenario``: (the server's result, the client's)."""
    server = Server(scenario)
    command = [sys.executable, os.path.abspath(__file__), "--client", name, "--url", server.base_url,
               "--module", args.module, "--count", str(count), "--timeout", str(timeout),
               "--body-ms", str(args.body_ms if isinstance(scenario, Latency) else 0)]
    began = time.monotonic()
    # Files, not pipes: a result of 20,000 event ids is more than a pipe
    # holds, and nobody reads the pipe until the client has ended.
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True)
        finished = server.run(proc, timeout + 15)
        if not finished:
            proc.kill()
        proc.wait(30)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    try:
        client = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        client = {"cpu": float("nan"), "rss": float("nan"), "n": 0, "events": [],
                  "error": "no result (%s)" % (err.strip().splitlines() or ["killed"])[-1][:120]}
    if not finished:
        client["error"] = client["error"] or "timed out after %d s" % timeout
    client["wall"] = time.monotonic() - began
    for conn in list(server.conns.values()):
        conn.sock.close()
    server.listener.close()
    return client


def wanted(args):
    only = {item for value in args.only for item in value.split(",") if item}
    unknown = only - set(CLIENTS) - set(SCENARIOS)
    if unknown:
        sys.exit("--only: unknown %s (clients: %s; scenarios: %s)" % (", ".join(sorted(unknown)),
                                                                        ", ".join(CLIENTS), ", ".join(SCENARIOS)))
    scenarios = [s for s in SCENARIOS if s in only or not only & set(SCENARIOS)]
    return [(s, [c for c in SCENARIOS[s] if c in only or not only & set(CLIENTS)]) for s in scenarios]


def label(name):
    return {"sdk-builtin": "sdk-builtin *", "sdk-default": "sdk-builtin, default limit"}.get(name, name)


def burst(args, clients):
    rows = {}
    for name in clients:
        scenario = Burst(args.burst, args.size)
        client = measure(args, name, scenario, args.burst, max(60, args.burst / 500))
        rows[name] = (scenario.result(), client)
        progress("burst", name, rows[name])
    print("\nBurst: %s envelopes of %d bytes, each acked (envelopes/s: from hello to the last ack)"
          % (format(args.burst, ","), args.size))
    print("%-28s %10s %8s %8s %12s %10s  %s" % ("client", "acked", "seconds", "env/s", "CPU us/env",
                                               "peak MiB", "failure"))
    for name, (server, client) in rows.items():
        print("%-28s %10s %8.2f %8s %12.1f %10.0f  %s" % (
            label(name), format(server["acked"], ","), server["seconds"], format(round(server["rate"]), ","),
            client["cpu"] / server["acked"] * 1e6 if server["acked"] else float("nan"), client["rss"],
            failure(server, client)))
    rate = {name: server["rate"] for name, (server, client) in rows.items() if not server["error"]}
    if "slack_rtm" in rate:
        for other, target in (("sdk-builtin", 3.0), ("bare", 0.9)):
            if rate.get(other):
                print("slack_rtm / %s: %.2fx (target >= %gx)" % (other, rate["slack_rtm"] / rate[other], target))
    if "slack_rtm" in rows:
        print("slack_rtm peak RSS: %.0f MiB (target < 100 MiB)" % rows["slack_rtm"][1]["rss"])
    return rows


def latency(args, clients):
    rows = {}
    for name in clients:
        scenario = Latency(args.rate, args.seconds, args.size)
        client = measure(args, name, scenario, scenario.total, args.seconds + 30)
        rows[name] = (scenario.result(), client)
        progress("latency", name, rows[name])
    print("\nLatency: %d envelopes a second for %g s, loop body %g ms (busy wait); "
          "server send to ack arrival" % (args.rate, args.seconds, args.body_ms))
    print("%-28s %10s %8s %8s %8s %10s  %s" % ("client", "acked", "p50 ms", "p99 ms", "max ms", "CPU %",
                                              "failure"))
    for name, (server, client) in rows.items():
        print("%-28s %10s %8.3f %8.3f %8.2f %10.0f  %s" % (
            label(name), "%s/%s" % (format(server["acked"], ","), format(server["sent"], ",")), server["p50"],
            server["p99"], server["max"], client["cpu"] / args.seconds * 100,
            failure(server, client)))
    if "slack_rtm" in rows:
        print("slack_rtm p99: %.3f ms (goal <= 1 ms)" % rows["slack_rtm"][0]["p99"])
    return rows


def refresh(args, clients):
    rows = {}
    for name in clients:
        scenario = Refresh(args.refreshes, args.refresh_every, args.close_after, args.refresh_rate, args.size)
        client = measure(args, name, scenario, 0, args.refreshes * args.refresh_every + args.close_after + 60)
        rows[name] = (scenario.result(client["events"]), client)
        progress("refresh", name, rows[name])
    print("\nRefresh: %d refreshes (disconnect warning, the connection closed %g s later), one every %g s, "
          "envelopes at %g/s" % (args.refreshes, args.close_after, args.refresh_every, args.refresh_rate))
    print("%-28s %8s %8s %6s %6s %7s %6s %9s  %s" % ("client", "sent", "yielded", "lost", "dup", "resent",
                                                     "conns", "no conn s", "failure"))
    for name, (server, client) in rows.items():
        print("%-28s %8s %8s %6d %6d %7d %6d %9.3f  %s" % (
            label(name), format(server["sent"], ","), format(server["yielded"], ","), server["lost"],
            server["duplicated"], server["resent"], server["connections"], server["gap"],
            failure(server, client)))
    return rows


def failure(server, client):
    return "; ".join(error for error in (server["error"], client["error"]) if error)


def progress(scenario, name, row):
    server, client = row
    print("  %s %s: %s; client %s" % (scenario, name, {k: v for k, v in server.items() if v is not None},
                                       {k: v for k, v in client.items() if k != "events"}),
          file=sys.stderr, flush=True)


def versions(args):
    import slack_sdk.version
    import websocket
    import platform
    print("Python %s, websocket-client %s, slack_sdk %s, slack_rtm from %s; %d CPUs"
          % (platform.python_version(), websocket.__version__, slack_sdk.version.__version__,
             os.path.relpath(args.module), os.cpu_count()))
    print("* sdk-builtin runs with sys.setrecursionlimit(%s): with the default its recursive frame reader "
          "fails under a burst (the sdk-builtin, default limit row)" % format(RECURSION_LIMIT, ","))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", default=os.path.normpath(os.path.join(HERE, "..", "slack_rtm.py")))
    parser.add_argument("--burst", type=int, default=100000)
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--body-ms", type=float, default=0.5)
    parser.add_argument("--refreshes", type=int, default=100)
    parser.add_argument("--refresh-every", type=float, default=1.0)
    parser.add_argument("--refresh-rate", type=float, default=200)
    parser.add_argument("--close-after", type=float, default=3.0)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--smoke", action="store_true", help="a run of about 30 s: %s" % " ".join(SMOKE))
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=600, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args = parser.parse_args(SMOKE + sys.argv[1:])
    if args.client:
        return client_main(args)
    plan = wanted(args)
    versions(args)
    results = {}
    for scenario, clients in plan:
        results[scenario] = {"burst": burst, "latency": latency, "refresh": refresh}[scenario](args, clients)
    if args.json:
        write_json(args, results)
    return results


def write_json(args, results):
    """{scenario: {client: {"server": ..., "client": ...}}}, the clients' event ids left out, with the settings."""
    figures = {scenario: {name: {"server": server, "client": {k: v for k, v in client.items() if k != "events"}}
                          for name, (server, client) in rows.items()} for scenario, rows in results.items()}
    figures["settings"] = {k: v for k, v in vars(args).items() if k not in ("client", "url", "count", "timeout")}
    with open(args.json, "w") as out:
        json.dump(figures, out, indent=1, default=str)


if __name__ == "__main__":
    main()
