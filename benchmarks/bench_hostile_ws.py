"""Time, CPU and peak memory of an RTM session against hostile WebSocket servers.

    python benchmarks/bench_hostile_ws.py [--module path/to/slack_rtm.py] [--seconds 8] [--cases ...]
                                      [--json PATH]

The session runs in a child process (its CPU time and peak RSS, ru_maxrss,
are its own); the servers run in this process, on 127.0.0.1, answering
rtm.connect over HTTP with a ws:// URL to themselves:

  endless header  the upgrade answered by a 101 status line, then one header
                  line of 10 MB that never ends
  refusal body    a 403 with Content-Length: 10 GB, its body sent for --seconds
  fragments       after the hello, a message just under 8 MiB (max_message_size) in
                  64-byte fragments (131,073 frames)
  ping flood      after the hello, 0-byte pings as fast as the server can
                  write, an event after every 1,000; the next connection is a
                  healthy one, sending events as fast as it can.  The figure:
                  the events the user got in --seconds, from each connection

--module picks the slack_rtm to measure (say, an older one from git show),
so the figures can be compared before and after.

Measured on 2 shared cores, websocket-client 1.9, Python 3.11, --seconds 8:

                  d3ba7f1 (websocket-client's own connection)    now
  endless header  19.5 s, 15.3 s CPU, peak RSS 588 MiB           0.05 s, 33 MiB: upgrade answer over 65536 bytes
  refusal body    13.1 s reading the body (until the server      0.05 s: refused, 'HTTP/1.1 403 Forbidden'
                  stopped), peak RSS 72 MiB
  fragments       212 s CPU, then the message delivered          0.12 s, 0.29 s CPU: more than 4096 fragments
  ping flood      279 of 2,330 flood events in 8 s, never        0 of the flood's (dropped after 100 control
                  reconnected: 0 from the healthy connection     frames), then 733,736 from the healthy one
"""

import argparse
import itertools
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time

from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(opcode, payload=b"", fin=True):
    """An unmasked server frame, framed by the websockets library."""
    return Frame(Opcode(opcode), payload, fin).serialize(mask=False, extensions=[])


def text(event):
    return frame(0x1, json.dumps(event).encode())


def upgraded(head):
    """The 101 answer to the upgrade request ``head``, from websockets' own handshake."""
    protocol = ServerProtocol()
    protocol.receive_data(head + b"\r\n")
    protocol.send_response(protocol.accept(protocol.events_received()[0]))
    return b"".join(protocol.data_to_send())


class Server:
    """rtm.connect over HTTP and the WebSocket on one loopback port; the
    n-th WebSocket connection is served by ``behave(n, client, head)``."""

    def __init__(self, behave, seconds):
        self.behave, self.seconds, self.upgrades = behave, seconds, 0
        self.written = {"flood": 0, "healthy": 0, "pings": 0}
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        with client:
            try:
                lines = iter(client.makefile("rb").readline, b"")       # the request has no body
                head = b"".join(itertools.takewhile(lambda line: line != b"\r\n", lines))
                if head.startswith(b"POST"):
                    body = json.dumps({"ok": True, "url": f"ws://127.0.0.1:{self.port}/websocket/T1",
                                       "self": {"id": "U1", "name": "bot"}, "team": {"id": "T1"}}).encode()
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                   b"Content-Length: %d\r\n\r\n" % len(body) + body)
                    return
                self.upgrades += 1
                self.behave(self, self.upgrades, client, head)
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.sock.close()


def drain(client):
    def read():
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass
    threading.Thread(target=read, daemon=True).start()


def endless_header(server, n, client, head):
    client.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Endless: ")
    for _ in range(10):
        client.sendall(b"a" * (1 << 20))
    server.stop.wait(server.seconds)


def refusal_body(server, n, client, head):
    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10000000000\r\n\r\n")
    until = time.monotonic() + server.seconds
    while time.monotonic() < until and not server.stop.is_set():
        client.sendall(b"x" * (1 << 20))


def fragments(server, n, client, head):
    drain(client)
    parts = [frame(0x1, b'{"type": "message", "text": "', fin=False)]
    parts += [frame(0x0, b"x" * 64, fin=False)] * ((8 << 20) // 64 - 1) + [frame(0x0, b'"}')]   # under 8 MiB
    client.sendall(upgraded(head) + text({"type": "hello"}) + b"".join(parts))
    server.stop.wait(server.seconds * 10)


def ping_flood(server, n, client, head):
    drain(client)
    client.sendall(upgraded(head) + text({"type": "hello"}))
    until = time.monotonic() + server.seconds
    source = "flood" if n == 1 else "healthy"
    pings = frame(0x9) * 1000 if n == 1 else b""
    seq = 0
    while time.monotonic() < until and not server.stop.is_set():
        blob = b"".join(pings + text({"type": "message", "from": source, "seq": seq + i}) for i in range(10))
        client.sendall(blob)
        seq += 10
        server.written[source] += 10
        server.written["pings"] += 10 * (len(pings) // 2)


CASES = {"endless header": endless_header, "refusal body": refusal_body, "fragments": fragments,
         "ping flood": ping_flood}


def measure(module, case, port, seconds):
    """The client child: one session, then what happened as JSON."""
    import logging
    sys.path.insert(0, os.path.dirname(os.path.abspath(module)))
    import slack_rtm
    warned = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warned.append(record.getMessage())
    logging.getLogger("slack_rtm").addHandler(handler)
    got = {"flood": 0, "healthy": 0, "other": 0}
    started = time.monotonic()
    outcome = "ended"
    rtm = None
    try:
        rtm = slack_rtm.connect("xoxb-test", base_url=f"http://127.0.0.1:{port}/api/", method="rtm.connect",
                                auto_reconnect=case == "ping flood", hello_timeout=seconds, connect_deadline=0.01,
                                sleep=lambda s: None)
        if case == "ping flood":
            threading.Timer(seconds, rtm.close).start()
        for event in rtm:
            if event.get("type") == "message":
                got[event.get("from", "other")] += 1
                if case == "fragments":
                    outcome = f"delivered a message of {len(event.get('text', ''))} characters"
                    break
    except Exception as error:                  # what the old module raises is part of the figure
        outcome = f"{type(error).__name__}: {str(error)[:100]}"
    finally:
        if rtm is not None:
            rtm.close()
    if outcome == "ended" and warned:
        outcome = f"ended: {warned[0][:100]}"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started, "got": got,
                      "cpu": usage.ru_utime + usage.ru_stime, "peak_rss": usage.ru_maxrss * 1024}))


def run(module, case, seconds):
    server = Server(CASES[case], seconds)
    try:
        out = subprocess.run([sys.executable, __file__, "--measure", case, "--port", str(server.port),
                              "--module", module, "--seconds", str(seconds)], capture_output=True, text=True)
    finally:
        server.close()
    if out.returncode:
        raise SystemExit(out.stderr)
    return dict(json.loads(out.stdout), written=server.written, upgrades=server.upgrades)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default=os.path.join(os.path.dirname(HERE), "slack_rtm.py"))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--measure")
    parser.add_argument("--port")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if args.measure:
        return measure(args.module, args.measure, args.port, args.seconds)
    figures = {}
    for case in args.cases:
        r = figures[case] = dict(run(args.module, case, args.seconds), seconds_asked=args.seconds)
        line = (f"{case:15} {r['seconds']:6.2f} s  CPU {r['cpu']:6.2f} s  peak RSS {r['peak_rss'] / 2**20:5.0f} MiB  "
                f"{r['outcome']}")
        if case == "ping flood":
            line += (f"; events: {r['got']['flood']} of {r['written']['flood']} from the flood "
                     f"({r['written']['pings']} pings written), then {r['got']['healthy']} of "
                     f"{r['written']['healthy']} from a healthy connection")
        print(line)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)


if __name__ == "__main__":
    main()
