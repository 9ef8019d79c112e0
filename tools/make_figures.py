"""Measure slack_rtm's published figures and write them into README.rst.

    python tools/make_figures.py [--quick] [--readme PATH] [--rst PATH]

Run by hand (the full run takes several minutes; --quick, a small scale, under
a minute).  It prints the figures, then writes them as reStructuredText
between the README's markers ``.. BEGIN FIGURES (tools/make_figures.py)``
and ``.. END FIGURES`` (the README beside this folder unless --readme says;
nothing else in it changes), and with --rst also to a file of their own.

  reliability   Harnesses in this file, on FakeSlack: events numbered in
                order, the connection ended between batches (RTM: goodbye,
                a clean close, team_migration_started, a TCP reset in turn;
                Socket Mode: disconnect "warning", "refresh_requested", a
                TCP reset), then the events the loop got counted as lost
                (never yielded), duplicated (yielded again) and reordered
                (yielded after a later one).  The backoff's waits are
                skipped (an injected sleep): the figure is what is lost,
                not the time.
  faults        test_slack_rtm.py's fault matrix, run by pytest: each fault
                of the Web API or the connection during a reconnect, and
                what recovering took (rtm.connect calls, waits, seconds).
  hostile       benchmarks/bench_hostile_http.py and bench_hostile_ws.py:
                time, CPU and peak memory against servers that misbehave.
  speed         benchmarks/bench_session.py (RTM: events a second and CPU per
                event, next to websocket-client bare and slack_sdk's rtm_v2)
                and bench_socket_mode.py (Socket Mode, next to websocket-
                client bare and slack_sdk's SocketModeClient).
  catch-up      benchmarks/bench_catch_up.py, when it exists (its output as
                it prints it).
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, "benchmarks")
BEGIN = ".. BEGIN FIGURES (tools/make_figures.py)"
END = ".. END FIGURES"

#: What each part runs at each scale.
SCALES = {
    "quick": {"rtm": (2000, 200), "socket_mode": (400, 8),
              "hostile_http": ["--bomb-gib", "1", "--endless-gib", "1"], "hostile_ws": ["--seconds", "1"],
              "session": ["--events", "3000", "--rounds", "1", "--paced-seconds", "0.5", "--quick"],
              "socket_mode_bench": ["--burst", "1000", "--seconds", "1", "--refreshes", "2", "--refresh-every",
                                    "0.5", "--close-after", "0.5", "--only", "slack_rtm,bare,sdk-builtin"],
              "catch_up": ["--smoke"]},
    "tiny": {"rtm": (1000, 20), "socket_mode": (100, 4),
             "hostile_http": ["--bomb-gib", "1", "--endless-gib", "1"], "hostile_ws": ["--seconds", "0.5"],
             "session": ["--events", "1000", "--rounds", "1", "--paced-seconds", "0.2", "--quick"],
             "socket_mode_bench": ["--burst", "300", "--seconds", "0.5", "--refreshes", "1", "--refresh-every",
                                   "0.3", "--close-after", "0.3", "--only", "slack_rtm,bare,sdk-builtin"],
             "catch_up": ["--channels", "20", "--active", "4", "--live", "2000", "--rounds", "1"]},
    "full": {"rtm": (100000, 1000), "socket_mode": (5000, 50),
             "hostile_http": [], "hostile_ws": ["--seconds", "8"],
             "session": ["--events", "100000", "--rounds", "3", "--paced-seconds", "5"],
             "socket_mode_bench": ["--burst", "20000", "--seconds", "10", "--refreshes", "20"],
             "catch_up": []},
}


def machine():
    """Where and when the figures come from."""
    import websocket
    try:
        import slack_sdk.version
        sdk = slack_sdk.version.__version__
    except ImportError:
        sdk = "not installed"
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "os": platform.platform(terse=True),
            "websocket_client": websocket.__version__, "slack_sdk": sdk,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": git_commit()}


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


# -- reliability: events across reconnects ------------------------------------

class Tally:
    """Events numbered 0..total-1 as a loop yields them: lost, duplicated, reordered."""

    def __init__(self, total):
        self.total, self.counts, self.highest, self.reordered = total, bytearray(total), -1, 0

    def see(self, n):
        if self.counts[n] < 255:
            self.counts[n] += 1
        if n < self.highest:
            self.reordered += 1
        self.highest = max(self.highest, n)

    def result(self):
        return {"events": self.total, "yielded": sum(self.counts),
                "lost": self.counts.count(0), "duplicated": sum(c - 1 for c in self.counts if c > 1),
                "reordered": self.reordered}


def watchdog(seconds, session):
    """Close ``session`` after ``seconds``: a harness that lost its way ends, with what it counted."""
    timer = threading.Timer(seconds, session.close)
    timer.daemon = True
    timer.start()
    return timer


def rtm_reliability(total, every):
    """RTM: ``total`` events in batches of ``every``, the connection ended after each."""
    import slack_rtm
    tally = Tally(total)
    sent, acked, refused = set(), set(), set()
    started = time.perf_counter()
    with slack_rtm.FakeSlack() as slack:
        endings = [slack.goodbye, slack.close_connections, slack.migrate, slack.drop]
        rtm = slack_rtm.connect("xoxb-test", base_url=slack.base_url, sleep=lambda seconds: None,
                                send_rate=1000, send_burst=1000)   # as the soak test: no queue
        timer = watchdog(120 + total / 500, rtm)
        with rtm:
            it = iter(rtm)
            next(it)
            for batch, first in enumerate(range(0, total, every)):
                slack.send_burst([{"type": "message", "seq": n, "text": "figures"}
                                  for n in range(first, min(first + every, total))]
                                 + [{"type": "batch_end", "batch": batch}])
                for event in it:
                    if "seq" in event:
                        tally.see(event["seq"])
                        if event["seq"] % 100 == 0:
                            sent.add(rtm.send_message("C0GENERAL", "m%d" % event["seq"]))
                    elif "reply_to" in event:
                        (acked if event["ok"] else refused).add(event["reply_to"])
                    if event.get("type") in ("batch_end", "hello"):
                        break
                endings[batch % len(endings)]()
                for event in it:
                    if "reply_to" in event:
                        (acked if event["ok"] else refused).add(event["reply_to"])
                    if event.get("type") == "hello":
                        break
            rtm.close()
            reported = {e["id"] for e in rtm.unacknowledged}
            connections = rtm.stats["connections"]
        timer.cancel()
    return dict(tally.result(), reconnects=connections - 1, seconds=time.perf_counter() - started,
                messages=len(sent), acked=len(acked), refused=len(refused), reported=len(reported & sent),
                unaccounted=len(sent - acked - refused - reported))


def socket_mode_reliability(total, refreshes):
    """Socket Mode: ``total`` events_api envelopes, the connection refreshed or
    reset ``refreshes`` times along the way; FakeSlack sends an envelope not
    acked within 0.5 s again, as Slack does."""
    import slack_rtm
    tally, per_batch = Tally(total), max(1, total // (refreshes + 1))
    started = time.perf_counter()
    # Slack sends an envelope again 3 times, minutes apart; here every 0.5 s,
    # 10 times, so that a machine too busy to reconnect within 2 s does
    # not count as a loss.
    with slack_rtm.FakeSlack(ack_timeout=0.5, max_retries=10) as slack:
        session = slack_rtm.connect("xapp-test", base_url=slack.base_url, allow_http=True,
                                    sleep=lambda seconds: None)
        timer = watchdog(120 + total / 100, session)
        reader = threading.Thread(target=read_envelopes, args=(session, tally), daemon=True)
        reader.start()
        endings = [lambda: slack.refresh("warning", close_after=0.2),
                   lambda: slack.refresh("refresh_requested", close_after=0.2), slack.drop]
        for n in range(total):
            slack.send_event({"type": "message", "text": "figures", "seq": n})
            if n % per_batch == per_batch - 1 and n // per_batch < refreshes:
                endings[(n // per_batch) % len(endings)]()
        deadline = time.monotonic() + 0.5 * (slack.max_retries + 1) + 5
        while tally.counts.count(0) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5 * 4)                                # what could still come again soon, comes now
        stats = dict(session.stats)
        session.close()
        reader.join(10)
        timer.cancel()
        opens = len(slack.calls("apps.connections.open"))
    return dict(tally.result(), reconnects=opens - 1, seconds=time.perf_counter() - started,
                dropped_duplicates=stats.get("duplicates", 0))


def read_envelopes(session, tally):
    for envelope in session:
        event = envelope.get("payload", {}).get("event", {})
        if "seq" in event:
            tally.see(event["seq"])


# -- the fault matrix, by pytest ----------------------------------------------

FAULT = re.compile(r"fault: (.+?): recovered, (\d+) rtm.connect calls, waits \[(.*?)\], ([\d.]+) s")


def fault_matrix():
    """Run the fault matrix of test_slack_rtm.py; each fault's recovery as it prints it."""
    tests = "faults_during_a_reconnect_are_recovered or connection_faults_are_recovered"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-k", tests,
                          "test_slack_rtm.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    rows = [{"fault": name, "calls": int(calls), "waits": [float(w) for w in waits.split(",") if w.strip()],
             "seconds": float(seconds)} for name, calls, waits, seconds in FAULT.findall(out.stdout)]
    summary = ", ".join(re.findall(r"\d+ (?:passed|failed|error)", out.stdout)) or "no result"
    return {"rows": rows, "summary": summary, "passed": out.returncode == 0}


# -- benchmarks ------------------------------------------------------------------

def bench(script, args, timeout=1800):
    """Run benchmarks/``script`` with ``args`` and --json: its figures, or None and why."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "figures.json")
        out = subprocess.run([sys.executable, os.path.join(BENCH, script), *args, "--json", path],
                             cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if out.returncode or not os.path.exists(path):
            return {"error": (out.stderr.strip().splitlines() or ["exit status %d" % out.returncode])[-1]}
        with open(path) as figures:
            return json.load(figures)


def catch_up(args):
    """benchmarks/bench_catch_up.py's output as it prints it, or why there is none."""
    script = os.path.join(BENCH, "bench_catch_up.py")
    if not os.path.exists(script):
        return {"skipped": "benchmarks/bench_catch_up.py is not there yet"}
    usage = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60).stdout
    args = [a for i, a in enumerate(args)               # the options it has (and their values)
            if a in usage or (i and args[i - 1] in usage and not a.startswith("--"))]
    out = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        return {"skipped": "bench_catch_up.py failed: %s" % (out.stderr.strip().splitlines() or ["?"])[-1]}
    return {"output": out.stdout.rstrip(), "args": args}


# -- reStructuredText ----------------------------------------------------------

def table(headers, rows):
    """A simple reStructuredText table."""
    cells = [[str(c) for c in row] for row in [headers] + rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    rule = "  ".join("=" * w for w in widths)
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join([rule, lines[0], rule] + lines[1:] + [rule])


def mib(size):
    return "%.0f MiB" % (size / 2 ** 20)


def render_reliability(figures):
    rtm, sm = figures["rtm"], figures["socket_mode"]
    rows = [["RTM", f"{rtm['events']:,}", rtm["reconnects"], rtm["lost"], rtm["duplicated"], rtm["reordered"],
             "%.1f s" % rtm["seconds"]],
            ["Socket Mode", f"{sm['events']:,}", sm["reconnects"], sm["lost"], sm["duplicated"], sm["reordered"],
             "%.1f s" % sm["seconds"]]]
    text = ["**Events across reconnects** (FakeSlack on loopback; RTM: the connection ended by goodbye, a clean "
            "close, team_migration_started and a TCP reset in turn; Socket Mode: disconnect ``warning``, "
            "``refresh_requested`` and a TCP reset in turn, an envelope not acked within 0.5 s sent again, "
            "as Slack does):", "",
            table(["transport", "events", "reconnects", "lost", "duplicated", "reordered", "took"], rows), "",
            f"RTM: of {rtm['messages']:,} messages sent during it, {rtm['acked']:,} were acknowledged, "
            f"{rtm['refused']:,} refused, {rtm['reported']:,} reported in ``unacknowledged``, "
            f"{rtm['unaccounted']:,} unaccounted for (an RTM ack comes on the connection: a message whose ack "
            f"had not come when the connection ended is reported, never silently dropped).  Socket Mode: "
            f"{sm['dropped_duplicates']:,} envelopes "
            "sent again were recognised and not yielded twice."]
    faults = figures["faults"]
    if "skipped" in faults:
        text += ["", "**The fault matrix**: not measured in this run."]
    elif faults["rows"]:
        rows = [[r["fault"], r["calls"], ", ".join("%.2f" % w for w in r["waits"]) or "none", "%.2f s" % r["seconds"]]
                for r in faults["rows"]]
        text += ["", f"**The fault matrix** (test_slack_rtm.py, {faults['summary']}): each fault during a "
                 "reconnect, recovered (hello again, then an event) after:", "",
                 table(["fault", "rtm.connect calls", "waits (s, fake clock)", "real time"], rows)]
    return text


def render_hostile(figures):
    http, ws = figures["hostile_http"], figures["hostile_ws"]
    rows = []
    names = {"bomb": "gzip bomb (%d GiB inflated)", "endless": "endless body (%d GiB sent)",
             "slowloris": "slowloris (a byte every 50 ms, timeout=2)"}
    for case, r in ({} if "error" in http else http).items():
        label = names[case] % r["gib"] if "%d" in names[case] else names[case]
        rows.append(["Web API: " + label, "%.2f s" % r["seconds"], "", mib(r["peak_rss"]), outcome(r["outcome"])])
    for case, r in ({} if "error" in ws else ws).items():
        said = outcome(r["outcome"])
        if case == "ping flood":
            said += " (then %s of %s events from a healthy connection in %g s)" % (
                format(r["got"]["healthy"], ","), format(r["written"]["healthy"], ","), r["seconds_asked"])
        rows.append(["WebSocket: " + case, "%.2f s" % r["seconds"], "%.2f s" % r["cpu"], mib(r["peak_rss"]), said])
    text = ["**Bounds under hostile servers** (benchmarks/bench_hostile_http.py and bench_hostile_ws.py; each "
            "client in a process of its own, its peak RSS its own; a Web API answer is read up to "
            "max_response_size, 256 MiB by default, a WebSocket message up to max_message_size, 8 MiB):", "",
            table(["server", "time", "CPU", "peak RSS", "what the client did"], rows)]
    for name, r in (("bench_hostile_http.py", http), ("bench_hostile_ws.py", ws)):
        if "error" in r:
            text += ["", f"{name} failed: {r['error']}"]
    return text


def outcome(text):
    """An outcome in one short cell: the error's kind and its last clause."""
    kind, _, said = text.partition(": ")
    return "%s: %s" % (kind, said.split(": ")[-1].split(" (")[0]) if said else kind


def render_speed(figures):
    session, sm = figures["session"], figures["socket_mode_bench"]
    text = []
    if "error" in session:
        text += [f"bench_session.py failed: {session['error']}"]
    else:
        rows = [[name, format(round(r["rate"]), ","), "%.1f" % r["cpu_us"]] for name, r in session["loops"].items()]
        text += [f"**RTM: events a second** (benchmarks/bench_session.py: a burst of {session['events']:,} "
                 f"message events of {session['size']} bytes from FakeSlack in another process, best of "
                 f"{session['rounds']}; CPU is the client process's, every thread):", "",
                 table(["client", "events/s", "CPU us/event"], rows), "",
                 "At a steady 2,000 events a second, slack_rtm took %.1f us of CPU an event."
                 % session["paced"]["cpu_us"]]
    if "error" in sm:
        text += ["", f"bench_socket_mode.py failed: {sm['error']}"]
        return text
    burst = sm.get("burst", {})
    rows = [[name, format(r["server"]["acked"], ","), format(round(r["server"]["rate"]), ","),
             "%.1f" % (r["client"]["cpu"] / r["server"]["acked"] * 1e6) if r["server"]["acked"] else "-",
             "%.0f MiB" % r["client"]["rss"], r["server"]["error"] or r["client"]["error"] or ""]
            for name, r in burst.items()]
    settings = sm["settings"]
    text += ["", f"**Socket Mode: envelopes a second** (benchmarks/bench_socket_mode.py: a burst of "
             f"{settings['burst']:,} envelopes of {settings['size']} bytes, each acked, each client in a process "
             "of its own; sdk-builtin is slack_sdk's SocketModeClient with its recursion limit raised, "
             "sdk-default the same at Python's default):", "",
             table(["client", "acked", "envelopes/s", "CPU us/envelope", "peak RSS", "failure"], rows)]
    latency = sm.get("latency", {})
    if latency:
        rows = [[name, "%.2f" % r["server"]["p50"], "%.2f" % r["server"]["p99"]] for name, r in latency.items()]
        text += ["", f"Ack latency at {settings['rate']:g} envelopes a second for {settings['seconds']:g} s "
                 f"(a loop body of {settings['body_ms']:g} ms), from the server's send to the ack's arrival:", "",
                 table(["client", "p50 ms", "p99 ms"], rows)]
    refresh = sm.get("refresh", {})
    if refresh:
        rows = [[name, format(r["server"]["sent"], ","), r["server"]["lost"], r["server"]["duplicated"],
                 "%.3f s" % r["server"]["gap"]] for name, r in refresh.items()]
        text += ["", f"{settings['refreshes']} refreshes (disconnect ``warning``, the connection closed "
                 f"{settings['close_after']:g} s later), envelopes at {settings['refresh_rate']:g} a second:", "",
                 table(["client", "sent", "lost", "duplicated", "without a connection"], rows)]
    return text


def render_catch_up(figures):
    result = figures["catch_up"]
    if "skipped" in result:
        return [f"**Catch-up**: not measured ({result['skipped']})."]
    return ["**Catch-up** (benchmarks/bench_catch_up.py %s):" % " ".join(result["args"]), "", "::", "",
            "\n".join("    " + line if line else "" for line in result["output"].splitlines())]


def render(figures):
    m = figures["machine"]
    scale = "a quick run, at a small scale (``--quick``)" if figures["quick"] else "the full run"
    head = [f"Measured {m['date']}, from commit {m['commit']}, {scale}, on {m['cpus']} CPUs, Python {m['python']}, "
            f"{m['os']}; websocket-client {m['websocket_client']}, slack_sdk {m['slack_sdk']}.  The machine was "
            "shared with other work, so the timings are noisy (a few tens of percent from run to run); the "
            "counts are not.  Made by ``python tools/make_figures.py`` (add ``--quick`` for a run of under a "
            "minute)."]
    parts = [head, measured(figures, ("rtm", "socket_mode"), "Events across reconnects",
                            render_reliability),
             measured(figures, ("hostile_http", "hostile_ws"), "Bounds under hostile servers", render_hostile),
             measured(figures, ("session", "socket_mode_bench"), "Speed", render_speed), render_catch_up(figures)]
    return "\n\n".join("\n".join(wrap(line) for line in part) for part in parts) + "\n"


def measured(figures, names, title, render_part):
    """``render_part(figures)``, or a line saying the part was left out of this run."""
    if any("skipped" in figures[name] for name in names if isinstance(figures[name], dict)):
        return [f"**{title}**: not measured in this run."]
    return render_part(figures)


def wrap(line):
    """A paragraph's line wrapped at 110 characters; a table's or literal block's as it is."""
    if "\n" in line or line.startswith(("=", " ")) or len(line) <= 110:
        return line
    return textwrap.fill(line, 110, break_long_words=False, break_on_hyphens=False)


def rewrite(text, section):
    """``text`` with ``section`` between the markers; ValueError when they are not both there, in order."""
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"the markers {BEGIN!r} and {END!r} are not there, in this order")
    start = begin + len(BEGIN)
    return text[:start] + "\n\n" + section + "\n" + text[end:]


# -- the run -----------------------------------------------------------------

def gather(quick, scale_name=None, parts=None):
    scale = SCALES[scale_name or ("quick" if quick else "full")]
    steps = [("rtm", lambda: rtm_reliability(*scale["rtm"])),
             ("socket_mode", lambda: socket_mode_reliability(*scale["socket_mode"])),
             ("faults", fault_matrix),
             ("hostile_http", lambda: bench("bench_hostile_http.py", scale["hostile_http"])),
             ("hostile_ws", lambda: bench("bench_hostile_ws.py", scale["hostile_ws"])),
             ("session", lambda: bench("bench_session.py", scale["session"])),
             ("socket_mode_bench", lambda: bench("bench_socket_mode.py", scale["socket_mode_bench"])),
             ("catch_up", lambda: catch_up(scale["catch_up"]))]
    figures = {"machine": machine(), "quick": quick}
    for name, step in steps:
        if parts is not None and name not in parts:
            figures[name] = {"skipped": "not in this run (--parts)"}
            continue
        started = time.monotonic()
        figures[name] = step()
        print(f"  {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="everything at a small scale, in under a minute")
    parser.add_argument("--tiny", action="store_true", help="everything at the smallest scale (what the tests run)")
    parser.add_argument("--parts", help="only these parts, by name (comma-separated): rtm, socket_mode, faults, "
                                        "hostile_http, hostile_ws, session, socket_mode_bench, catch_up")
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.rst"),
                        help="the README whose section to write (default: %(default)s)")
    parser.add_argument("--rst", metavar="PATH", help="also write the section alone to PATH")
    parser.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    figures = gather(args.quick, "tiny" if args.tiny else None,
                     None if args.parts is None else set(args.parts.split(",")))
    section = render(figures)
    print(section)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)
    if args.rst:
        with open(args.rst, "w") as out:
            out.write(section)
    with open(args.readme, encoding="utf-8") as readme:
        text = readme.read()
    try:
        text = rewrite(text, section)
    except ValueError as error:
        sys.exit(f"{args.readme}: {error}")
    with open(args.readme, "w", encoding="utf-8") as readme:
        readme.write(text)
    print(f"written between the markers of {args.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
