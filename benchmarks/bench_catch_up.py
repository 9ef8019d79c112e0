"""Catch-up after a reconnect: its time, its Web API calls, and live events meanwhile.

    python benchmarks/bench_catch_up.py                    # the full run (issue 17, "Performance")
    python benchmarks/bench_catch_up.py --smoke            # about 20 s
    options: --channels 500 --active 50 --per-channel 3 --live 100000 --rounds 5
             --quiet 0.02 --only reconnect,live

The server is this process (a FakeSlack); each measured client runs in a child
process of its own (this file with --client), so that it does not share the
server's GIL and its peak RSS (VmHWM) is its own.  Each run: the client
connects (method="rtm.connect", team="all"), loads the team, reads one live
message in each of --channels member channels (so each catch-up starts at
that ts), then --per-channel messages are posted with live=False in --active
of them (chosen with a fixed seed) and the connection is dropped.  No time
passes between the drop and the reconnect: the wall-clock length of an
outage changes neither the calls nor the messages (oldest is the newest ts
delivered in each conversation, whatever the gap), so a 60 s outage is not
waited for.  Figures start at the reconnect's ``hello`` as the iterator
yields it.

reconnect  (one run each)
    xoxc counts   a session token (``d`` cookie): client.counts first, then
                  conversations.history for the conversations it shows active
    xoxb default  a bot token: every member channel, in the default budget
                  (CATCH_UP_CALLS = 100): the channels left are reported Missed
    xoxb 600      the same with catch_up_calls=600: every channel checked
  Each on the real clock and on a fake one (the test suite's FakeClock: sleep
  and a quiet socket move its time, no real time passes), whose time is what
  Slack's Tier 3 pacing (a burst of 50 calls, then 50 a minute) costs.  The
  xoxb runs are on the fake clock only (the real ones would wait minutes).
  "calls": every Web API call after the hello, as the session's http pool
  (connect(http=...), a urllib3.PoolManager that notes each request) saw
  them; "team" counts the team state's reload (users.list,
  conversations.list), which a reconnect without fast_reconnect makes.
  "max/60s": the most history calls in any 60 s of the clock.  The loop
  ends at a sentinel message the server posts, live, into the conversation
  of the last history call it expects, once that call has come (held until
  that conversation is caught up), and at the last Missed report.

live  (--rounds rounds, the three interleaved)
    off    --live live events in one send_burst, into a channel, right after
           the reconnect's hello; catch_up=False
    other  the same burst while 50 conversations (catch_up=[their ids]; a
           bot token, one history call each, all within the tier's burst)
           are caught up; the burst goes to a conversation not caught up
    held   the same, the burst round robin into the 50 conversations being
           caught up (each held until its conversation is caught up)
  Rate: live events / (the last one yielded - the hello).  "while" (other):
  the live events yielded from the hello to the last caught-up message,
  over that time: the rate while the catch-up runs.

A run on 2 cores shared with other work, Python 3.11.7, websocket-client 1.9.2:

  reconnect (500 channels, 50 active, 3 missed each; max/60s: history calls in any 60 s of the clock)
    xoxc counts  real clock  1.21 s  (1 counts + 50 history: the 51st waits for the tier, 1.2 s)
    xoxc counts  fake clock  0.15 s real, 1.2 s clock; 150 caught up, 0 Missed
    xoxb default fake clock  1.1 s real, 54 s clock to the last CaughtUp (39 caught: 13 active among the 100
                             checked), 400 Missed at 60 s clock; 100 history calls, max/60s 100
    xoxb 600     fake clock  10.0 s real, 524 s clock; 500 history calls, 150 caught, max/60s 100
    every run: 2 team calls (the reload), VmHWM 45 MiB before and after; 1.3-1.7 ms per history call
  live (100,000 events, 3 rounds, medians)
    off 31,155/s; other 23,627/s (0.76x, 30 live events dropped per run); held 18,947/s (0.61x);
    the catch-up of 50 took 4.5 s under the burst (0.5 s without): each call waits for a drained buffer

With FakeSlack's HTTP server as shipped (--fake-nagle) each Web API call takes ~44 ms, not ~1.6 ms.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import slack_rtm  # noqa: E402

BOT_TOKEN = "xoxb-bench"
SESSION_TOKEN, COOKIE = "xoxc-1-bench", "xoxd-bench%2Fcookie"
SMOKE = ["--channels", "100", "--active", "10", "--live", "10000", "--rounds", "2"]
SEED = 17
TIMEOUT = 120.0


def channel_id(n):
    return "CB%06d" % n


def team(count):
    """A FakeSlack team whose user (U0BOT) is in ``count`` public channels and nothing else."""
    topic = {"value": "", "creator": "", "last_set": 0}
    channels = [{"id": channel_id(n), "name": "channel-%d" % n, "is_channel": True, "is_general": n == 0,
                 "is_member": True, "is_archived": False, "members": ["U0BOT", "U0ALICE"], "topic": topic,
                 "purpose": topic} for n in range(count)]
    return {"channels": channels, "groups": [], "mpims": [], "ims": []}


def live_event(n, channel):
    return json.dumps({"type": "message", "channel": channel, "user": "U0ALICE", "text": "live %08d with some "
                       "ordinary text in it" % n, "ts": "1900000000.%06d" % (n % 1000000), "team": "T0FAKE",
                       "client_msg_id": "0c2a3b4e-5f60-4f8e-9a1b-2c3d4e5f6a7b"}).encode()


# -- the client (a child process) -------------------------------------------------

class FakeClock:
    """test_slack_rtm.FakeClock: ``sleep`` moves the time on at once; a wait
    with nothing to read for ``quiet`` real seconds jumps to its end."""

    def __init__(self, quiet):
        self.now, self.quiet = 0.0, quiet

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now

    def wait(self, poll, until):
        if until is not None and self.now >= until:
            return False
        if poll.poll(self.quiet * 1000) or until is None:
            return True
        self.now = max(self.now, until)
        return False


def recording_pool(clock):
    """A urllib3.PoolManager that notes each request: (Web API method, real time, clock time)."""
    import urllib3

    class Pool(urllib3.PoolManager):
        def request(self, method, url, *args, **kwargs):
            self.calls.append((url.rsplit("/", 1)[-1], time.perf_counter(), clock()))
            return super().request(method, url, *args, **kwargs)

    pool = Pool()
    pool.calls = []
    return pool


def vmhwm():
    """This process's peak RSS in MiB (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def say(*words):
    print(*words, flush=True)


PROGRESS = {}


def on_term(signum, frame):
    """Killed after the run's timeout: say how far it came."""
    rtm = PROGRESS.pop("rtm", None)
    print("client timed out: %s, stats %s" % (PROGRESS, rtm and rtm.stats), file=sys.stderr, flush=True)
    os._exit(3)


def client_main(spec):
    import signal
    signal.signal(signal.SIGTERM, on_term)
    clock = FakeClock(spec["quiet"]) if spec["fake"] else time.monotonic
    pool = recording_pool(clock)
    token = SESSION_TOKEN if spec["token"] == "xoxc" else BOT_TOKEN
    options = dict(base_url=spec["url"], method="rtm.connect", http=pool, catch_up=spec["catch_up"],
                   ping_interval=3600.0 if spec["fake"] else 60.0)
    if spec["token"] == "xoxc":
        options["cookie"] = COOKIE
    if spec.get("calls"):
        options["catch_up_calls"] = spec["calls"]
    if spec["fake"]:
        options.update(clock=clock, sleep=clock.sleep)
    with slack_rtm.connect(token, **options) as rtm:
        it = iter(rtm)
        assert next(it)["type"] == "hello"
        rtm.wait_team(60)
        say("ready")
        before = 0
        while before < spec["before"]:
            before += next(it).get("text") == "before"
        hwm = vmhwm()
        say("seen")
        event = next(it)
        assert event["type"] == "hello", event
        result = read_after_hello(rtm, it, spec, clock, pool)
        result.update(hwm_before=hwm, hwm=vmhwm(), stats=rtm.stats)
    say(json.dumps(result))


def read_after_hello(rtm, it, spec, clock, pool):
    """Iterate from the reconnect's hello to the end of the catch-up (and of the live burst)."""
    t0, f0, first_call = time.perf_counter(), clock(), len(pool.calls)
    caught = missed = live = 0
    last_caught = last_missed = (t0, f0)
    live_times = []
    sentinel = not spec["sentinel"]
    PROGRESS["rtm"] = rtm
    dropped = rtm.stats["dropped"]
    for event in it:
        now = time.perf_counter()
        if type(event) is slack_rtm.CaughtUp:
            caught, last_caught = caught + 1, (now, clock())
        elif type(event) is slack_rtm.Missed:
            missed, last_missed = missed + 1, (now, clock())
        elif event.get("text", "").startswith("live "):
            live += 1
            live_times.append(now)
        elif event.get("text") in ("sentinel", "burst end"):
            sentinel = True
        PROGRESS.update(caught=caught, missed=missed, live=live, sentinel=sentinel)
        # rtm.stats only once the end is in sight (it takes the session's lock):
        # a buffer past max_buffer drops the oldest frames, which never come.
        if sentinel and live + caught >= spec["live"] + spec["expect_caught"] - 20000 and done(
                rtm.stats, spec, live + caught, missed, dropped):
            break
    calls = pool.calls[first_call:]
    history = [c for c in calls if c[0] == "conversations.history"]
    window = max((f for _, _, f in history), default=f0) - f0
    busiest = max((sum(1 for _, _, g in history if f <= g < f + 60.0) for _, _, f in history), default=0)
    while_caught = sum(1 for t in live_times if t <= last_caught[0])
    gaps = [b[1] - a[1] for a, b in zip(history, history[1:]) if b[2] - a[2] < 0.5]     # not across a paced wait
    return {"caught": caught, "missed": missed, "live": live, "dropped": rtm.stats["dropped"] - dropped,
            "to_caught": last_caught[0] - t0, "to_caught_clock": last_caught[1] - f0,
            "to_missed": last_missed[0] - t0, "to_missed_clock": last_missed[1] - f0,
            "to_live": (live_times[-1] - t0) if live_times else 0.0, "live_while": while_caught,
            "history": len(history), "counts": sum(1 for c in calls if c[0] == "client.counts"),
            "team": sum(1 for c in calls if c[0] in ("users.list", "conversations.list")),
            "other": sorted({c[0] for c in calls} - {"conversations.history", "client.counts", "users.list",
                                                       "conversations.list"}),
            "history_span_clock": window, "busiest_minute": busiest,
            "call_ms": statistics.median(gaps) * 1000 if gaps else float("nan"),
            "first_call_ms": (history[0][1] - t0) * 1000 if history else float("nan"),
            "trace": [(m, round((t - t0) * 1000, 1)) for m, t, _ in calls[:16]] if spec.get("trace") else None}


def done(stats, spec, had, missed, dropped):
    """Whether every live and caught-up message has come or been dropped, and every Missed report."""
    return had + stats["dropped"] - dropped >= spec["live"] + spec["expect_caught"] \
        and missed == stats.get("missed", 0)


# -- the server (this process) ------------------------------------------------------

class Child:
    """The client process of one run, read line by line (killed after ``timeout``)."""

    def __init__(self, spec, timeout):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client", json.dumps(spec)],
                                     stdout=subprocess.PIPE, text=True)
        self.timer = threading.Timer(timeout, self.proc.terminate)
        self.timer.daemon = True
        self.timer.start()

    def expect(self, word):
        line = self.proc.stdout.readline().strip()
        if line != word:
            raise RuntimeError("the client said %r, not %r (killed after its timeout?)" % (line, word))

    def result(self):
        line = self.proc.stdout.readline().strip()
        self.proc.wait(30)
        self.timer.cancel()
        if not line.startswith("{"):
            raise RuntimeError("the client ended without a result (status %s)" % self.proc.returncode)
        return json.loads(line)


def without_nagle():
    """FakeSlack's HTTP handler writes an answer's headers and its body in two
    sends on a socket with Nagle on: the body waits for the client's delayed
    ACK of the headers, about 40 ms on Linux loopback, every Web API call.
    Slack's servers do not: unless --fake-nagle, this process's http.server
    handlers set TCP_NODELAY (socketserver.StreamRequestHandler's own switch)."""
    import http.server
    http.server.BaseHTTPRequestHandler.disable_nagle_algorithm = True


def run(spec, channels, active, per_channel):
    """One run of ``spec``: the client's result, plus the server's view."""
    tokens = [SESSION_TOKEN] if spec["token"] == "xoxc" else [BOT_TOKEN]
    with slack_rtm.FakeSlack(tokens=tokens, cookies={SESSION_TOKEN: COOKIE}, team=team(channels)) as slack:
        spec = dict(spec, url=slack.base_url, before=channels)
        child = Child(spec, TIMEOUT)
        child.expect("ready")
        for n in range(channels):
            slack.post(channel_id(n), "before")
        child.expect("seen")
        for n in active:
            for k in range(per_channel):
                slack.post(channel_id(n), "missed %d" % k, live=False)
        watcher = threading.Thread(target=post_sentinel, args=(slack, spec["expect_history"]), daemon=True)
        if spec["sentinel"]:
            watcher.start()
        targets = spec.get("live_into") or [channel_id(0)]     # made before the drop: ready at the hello
        frames = [live_event(n, targets[n % len(targets)]) for n in range(spec["live"])]
        frames.append(json.dumps(dict(type="message", channel=channel_id(channels - 1), text="burst end",
                                      ts="1910000000.000001")).encode())
        slack.drop()
        if spec["live"]:
            slack.wait_connections(2)
            for n in range(0, len(frames), 2000):     # framed 2,000 at a time: the first come at once
                slack.send_burst(frames[n:n + 2000])
        result = child.result()
        watcher.join(TIMEOUT) if spec["sentinel"] else None
        return result


def post_sentinel(slack, history_calls):
    """Once the catch-up's last expected history call has come: a live message into its conversation."""
    try:
        calls = slack.wait_calls("conversations.history", history_calls, timeout=TIMEOUT)
        channel = calls[history_calls - 1].args["channel"]
    except AssertionError as error:
        print("  sentinel: %s" % error, file=sys.stderr)
        channel = channel_id(0)
    slack.post(channel, "sentinel")


def reconnect(args):
    active = sorted(random.Random(SEED).sample(range(args.channels), args.active))
    expect = args.active * args.per_channel
    runs = [("xoxc counts", "real", dict(token="xoxc", fake=False, expect_history=args.active)),
            ("xoxc counts", "fake", dict(token="xoxc", fake=True, expect_history=args.active)),
            ("xoxb default", "fake", dict(token="xoxb", fake=True, expect_history=slack_rtm.CATCH_UP_CALLS)),
            ("xoxb %d" % (args.channels + 100), "fake", dict(token="xoxb", fake=True, calls=args.channels + 100,
                                                            expect_history=args.channels))]
    print("\nReconnect: %d member channels, %d with %d missed messages each (%d), %s"
          % (args.channels, args.active, args.per_channel, expect, "first 100 checked (newest first) hold %d "
             "active" % sum(1 for n in active if n >= args.channels - 100)))
    print("%-14s %5s %8s %8s %9s %9s %6s %5s %5s %6s %4s %7s %7s %8s" % (
        "run", "clock", "real s", "clock s", "missed s", "(clock)", "caught", "Missd", "hist", "counts", "team",
        "max/60s", "ms/call", "MiB"))
    rows = []
    for name, clock, extra in runs:
        spec = dict(extra, catch_up=True, sentinel=True, live=0, expect_caught=0, quiet=args.quiet)
        result = run(spec, args.channels, active, args.per_channel)
        rows.append((name, clock, result))
        print("%-14s %5s %8.3f %8.1f %9.3f %9.1f %6d %5d %5d %6d %4d %7d %7.1f %8s" % (
            name, clock, result["to_caught"], result["to_caught_clock"], result["to_missed"],
            result["to_missed_clock"], result["caught"], result["missed"], result["history"], result["counts"],
            result["team"], result["busiest_minute"], result["call_ms"],
            "%.0f->%.0f" % (result["hwm_before"], result["hwm"])), flush=True)
        if result["other"]:
            print("  other calls: %s" % ", ".join(result["other"]))
    print("real s / clock s: hello to the last CaughtUp yielded; missed s: to the last Missed report;"
          " MiB: VmHWM at the drop -> at the end;\nms/call: median real time between history calls not"
          " paced by the tier (the call, then one read of what came)")
    return rows


def live(args):
    channels = 51
    active = list(range(50))
    ids = [channel_id(n) for n in active]
    kinds = {"off": dict(catch_up=False, live_into=[channel_id(50)], expect_caught=0),
             "other": dict(catch_up=ids, live_into=[channel_id(50)], expect_caught=50 * args.per_channel),
             "held": dict(catch_up=ids, live_into=ids, expect_caught=50 * args.per_channel)}
    rates = {kind: [] for kind in kinds}
    dropped = {kind: [] for kind in kinds}
    during = []
    for _ in range(args.rounds):
        for kind, extra in kinds.items():
            spec = dict(extra, token="xoxb", fake=False, sentinel=False, live=args.live, quiet=args.quiet,
                        expect_history=0)
            result = run(spec, channels, active, args.per_channel)
            rates[kind].append((result["live"] + result["dropped"]) / result["to_live"])
            dropped[kind].append(result["dropped"])
            if kind == "other" and result["to_caught"] > 0:
                during.append((result["live_while"] / result["to_caught"], result["to_caught"],
                               result["live_while"]))
            print("  %s: %s" % (kind, {k: v for k, v in result.items() if k != "stats"}), file=sys.stderr,
                  flush=True)
    print("\nLive events (%s in one burst after the reconnect's hello), %d rounds: events/s, median [min-max]"
          % (format(args.live, ","), args.rounds))
    base = statistics.median(rates["off"])
    for kind, values in rates.items():
        print("%-6s %9s [%s-%s]  %.2fx of off; dropped (max_buffer) %s%s" % (
            kind, format(round(statistics.median(values)), ","), format(round(min(values)), ","),
            format(round(max(values)), ","), statistics.median(values) / base, dropped[kind],
            " (target >= 0.9x)" if kind == "other" else ""))
    if during:
        rate = statistics.median(r for r, _, _ in during)
        print("while the catch-up ran (other: hello to the last CaughtUp, median %.3f s, %s live events): "
              "%s/s [%s-%s], %.2fx of off" % (
                  statistics.median(t for _, t, _ in during), format(round(statistics.median(n for _, _, n in during)),
                                                                     ","),
                  format(round(rate), ","), format(round(min(r for r, _, _ in during)), ","),
                  format(round(max(r for r, _, _ in during)), ","), rate / base))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--per-channel", type=int, default=3)
    parser.add_argument("--live", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet", type=float, default=0.02, help="the fake clock's quiet wait, real seconds")
    parser.add_argument("--only", default="reconnect,live")
    parser.add_argument("--fake-nagle", action="store_true", help="leave FakeSlack's HTTP server as shipped")
    parser.add_argument("--smoke", action="store_true", help="a short run: %s" % " ".join(SMOKE))
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        return client_main(json.loads(args.client))
    if args.smoke:
        args = parser.parse_args(SMOKE + sys.argv[1:])
    import platform
    import websocket
    print("Python %s, websocket-client %s, %d CPUs; CATCH_UP_BURST %d, CATCH_UP_RATE %.3f/s, CATCH_UP_CALLS %d"
          % (platform.python_version(), websocket.__version__, os.cpu_count(), slack_rtm.CATCH_UP_BURST,
             slack_rtm.CATCH_UP_RATE, slack_rtm.CATCH_UP_CALLS))
    if not args.fake_nagle:
        without_nagle()
    print("FakeSlack's HTTP answers: %s" % ("as shipped (Nagle on: ~40 ms a call)" if args.fake_nagle
                                            else "TCP_NODELAY set (see without_nagle)"))
    only = set(args.only.split(","))
    if "reconnect" in only:
        reconnect(args)
    if "live" in only:
        live(args)


if __name__ == "__main__":
    main()
