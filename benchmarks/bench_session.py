"""Events per second through `for event in rtm`, next to raw websocket-client loops.

    python benchmarks/bench_session.py [--events 200000] [--paced-seconds 5] [--json PATH]

A FakeSlack runs in a separate process (so that it does not share this
process's GIL) and sends N message events of about 200 bytes in one burst on
each new connection it is told about.  Timed side by side, on loopback:

  raw default    websocket-client recv() + json.loads, default settings
                 (its pure-Python UTF-8 validation on)
  raw skip-utf8  the same with skip_utf8_validation=True
  slack_rtm      for event in slack_rtm.connect(..., team=None)
  team state     the same with the team state kept (team="all"): each
                 event is applied to it before it is yielded
  sdk rtm_v2     slack_sdk's RTM client (slack_sdk.rtm_v2.RTMClient): a
                 listener on "message" counts the events (left out when
                 slack_sdk is not installed)

Each loop's CPU time (this process's, every thread) per event is shown too.

Targets: slack_rtm at least 1.2x raw skip-utf8, and the team state within
10% of it.  A paced run, 2,000 events a second, measures this
process's CPU time per event in the session: target at most 35
microseconds.  It runs first, since slack_sdk's client leaves threads
behind that would count in this process's CPU time.  Under ``strace -c -f`` the system calls per event show.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import slack_rtm  # noqa: E402

TOKEN = "xoxb-bench"


def event(i):
    # About 200 bytes, like a real message event.
    return {"type": "message", "channel": "C024BE91L", "user": "U2147483697", "text": f"message number {i:08d} "
            "with some ordinary text in it", "ts": f"1355517523.{i:06d}", "team": "T024BE7LD",
            "client_msg_id": "0c2a3b4e-5f60-4f8e-9a1b-2c3d4e5f6a7b"}


def serve(count):
    """The server process: a FakeSlack driven by lines on stdin."""
    frames = [json.dumps(event(i)).encode() for i in range(count)]
    with slack_rtm.FakeSlack(tokens=(TOKEN,)) as slack:
        print(slack.base_url, flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            slack.wait_connections(int(arg))
            if command == "burst":
                slack.send_burst(frames)
            elif command == "paced":
                # 2,000 a second: 20 frames every 10 ms.
                started = time.perf_counter()
                for n in range(0, len(frames), 20):
                    delay = started + n / 2000 - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    slack.send_burst(frames[n:n + 20])
            slack.close_connections()


class Server:
    def __init__(self, count):
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(count)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        self.connections = 0

    def tell(self, command):
        self.connections += 1
        self.proc.stdin.write(f"{command} {self.connections}\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def raw_loop(server, count, skip):
    """(wall seconds, CPU seconds of this process) to take ``count`` events."""
    import websocket
    url = slack_rtm.rtm_connect(TOKEN, base_url=server.base_url).url
    ws = websocket.create_connection(url, skip_utf8_validation=skip)
    assert json.loads(ws.recv())["type"] == "hello"
    server.tell("burst")
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        json.loads(ws.recv())
    elapsed = time.perf_counter() - wall, time.process_time() - cpu
    ws.close()
    return elapsed


def sdk_loop(server, count):
    """The same for slack_sdk's RTM client: its listener (run on its own
    thread pool) counts the messages; the clock stops at the last."""
    import threading
    from slack_sdk.rtm_v2 import RTMClient
    hello, done, seen, lock = threading.Event(), threading.Event(), [0], threading.Lock()

    def on_message(client, event):
        with lock:                        # its listeners run on a pool of threads
            seen[0] += 1
            if seen[0] == count:
                done.set()
    client = RTMClient(token=TOKEN, base_url=server.base_url, auto_reconnect_enabled=False, timeout=30)
    client.on("hello")(lambda client, event: hello.set())
    client.on("message")(on_message)
    client.connect()
    try:
        if not hello.wait(30):
            raise RuntimeError("slack_sdk's RTM client: no hello in 30 s")
        server.tell("burst")
        wall, cpu = time.perf_counter(), time.process_time()
        if not done.wait(max(60, count / 1000)):
            raise RuntimeError(f"slack_sdk's RTM client: {seen[0]} of {count} events")
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        client.close()


def has_sdk():
    try:
        import slack_sdk.rtm_v2  # noqa: F401
    except ImportError:
        return False
    return True


def session_loop(server, count, command="burst", team=None):
    """(wall seconds, CPU seconds of this process) to take ``count`` events."""
    with slack_rtm.connect(TOKEN, base_url=server.base_url, method="rtm.connect", ping_interval=60,
                           team=team) as rtm:
        it = iter(rtm)
        assert next(it)["type"] == "hello"
        server.tell(command)
        wall, cpu = time.perf_counter(), time.process_time()
        for n, event in enumerate(it, 1):
            if n == count:
                break
        return time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200000)
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="leave out the slow default-settings loop")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    figures = {}
    # First, in a process no other client has run in: slack_sdk's client
    # leaves threads that would count in this process's CPU time.
    paced = int(2000 * args.paced_seconds)
    server = Server(paced)
    try:
        wall, cpu = session_loop(server, paced, "paced")
        print(f"paced 2,000/s: {paced} events in {wall:.2f} s, CPU {cpu / paced * 1e6:.1f} us per event "
              "(target <= 35)")
        figures["paced"] = {"events": paced, "seconds": wall, "cpu_us": cpu / paced * 1e6}
    finally:
        server.close()
    count = args.events
    server = Server(count)
    size = len(json.dumps(event(0)))
    print(f"{count} events of {size} bytes, Python {sys.version.split()[0]}")
    best = {"raw default": [], "raw skip-utf8": [], "slack_rtm": [], "team state": [], "sdk rtm_v2": []}
    figures.update(events=count, size=size, rounds=args.rounds, loops={})
    try:
        for _ in range(args.rounds):
            if not args.quick:
                best["raw default"].append(raw_loop(server, count, skip=False))
            best["raw skip-utf8"].append(raw_loop(server, count, skip=True))
            best["slack_rtm"].append(session_loop(server, count))
            best["team state"].append(session_loop(server, count, team="all"))
            if has_sdk():
                best["sdk rtm_v2"].append(sdk_loop(server, count))
        rates = {name: count / min(times)[0] for name, times in best.items() if times}
        for name, rate in rates.items():
            wall, cpu = min(best[name])
            figures["loops"][name] = {"rate": rate, "seconds": wall, "cpu_us": cpu / count * 1e6}
            print(f"{name:14} {rate:10,.0f} events/s  ({wall:.2f} s best of {args.rounds}, "
                  f"CPU {cpu / count * 1e6:.1f} us per event)")
        if "raw default" in rates:
            print(f"slack_rtm / raw default   {rates['slack_rtm'] / rates['raw default']:.2f}x")
        print(f"slack_rtm / raw skip-utf8 {rates['slack_rtm'] / rates['raw skip-utf8']:.2f}x (target >= 1.2x)")
        print(f"team state / slack_rtm    {rates['team state'] / rates['slack_rtm']:.2f}x (target >= 0.9x)")
    finally:
        server.close()
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)


if __name__ == "__main__":
    main()
