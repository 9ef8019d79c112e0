"""Peak memory and time of a Web API call against hostile servers.

    python benchmarks/bench_hostile_http.py [--module path/to/slack_rtm.py] [--bomb-gib 2] [--endless-gib 1]
                                        [--json PATH]

Each case runs in a fresh child process (its peak RSS, ru_maxrss, is its
own), against a raw server on 127.0.0.1 in a second child process (so the
server's buffers do not count):

  gzip bomb     a Content-Encoding: gzip answer of about 2 MB on the wire
                that inflates to --bomb-gib GiB of zeros
  endless body  a chunked answer that never ends (the server stops after
                --endless-gib GiB, so that a client without a bound ends too)
  slowloris     the status line and headers, a byte every 50 ms, for 30 s;
                the call has timeout=2

--module picks the slack_rtm to measure (say, an older one from git show),
so the figures can be compared before and after.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def bomb(gib):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    body = b"".join(packer.compress(block) for _ in range(gib << 10)) + packer.flush()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def serve(case, gib, port_out):
    """The server child: answer one request as ``case`` says, then exit."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    answer = bomb(gib) if case == "bomb" else None
    os.write(port_out, b"%d\n" % server.getsockname()[1])
    client, _ = server.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.recv(65536)
    try:
        if case == "bomb":
            client.sendall(answer)
        elif case == "endless":
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"
            for _ in range(gib << 10):
                client.sendall(chunk)
        else:
            data = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 1000
            for i in range(600):
                client.sendall(data[i:i + 1])
                time.sleep(0.05)
    except OSError:
        pass
    client.close()


def measure(module, case, port):
    """The client child: one call, then its result, seconds and peak RSS as JSON."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(module)))
    import slack_rtm
    started = time.monotonic()
    try:
        slack_rtm.api_call("rtm.start", "xoxb-test", base_url=f"http://127.0.0.1:{port}/api/", retry=False,
                           timeout=2 if case == "slowloris" else 60)
        outcome = "returned"
    except Exception as error:                  # what the old module raises is part of the figure
        outcome = f"{type(error).__name__}: {str(error)[:90]}"
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_rss": peak}))


def run(module, case, gib):
    read, write = os.pipe()
    server = subprocess.Popen([sys.executable, __file__, "--serve", case, "--gib", str(gib), "--fd", str(write)],
                              pass_fds=(write,))
    os.close(write)
    with os.fdopen(read) as lines:
        port = lines.readline().strip()
    out = subprocess.run([sys.executable, __file__, "--measure", case, "--port", port, "--module", module],
                         capture_output=True, text=True, check=True)
    server.wait(120)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", default=os.path.join(os.path.dirname(HERE), "slack_rtm.py"))
    parser.add_argument("--bomb-gib", type=int, default=2)
    parser.add_argument("--endless-gib", type=int, default=1)
    parser.add_argument("--serve")
    parser.add_argument("--measure")
    parser.add_argument("--gib", type=int)
    parser.add_argument("--fd", type=int)
    parser.add_argument("--port")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.gib, args.fd)
    if args.measure:
        return measure(args.module, args.measure, args.port)
    figures = {}
    for case, gib in (("bomb", args.bomb_gib), ("endless", args.endless_gib), ("slowloris", 0)):
        result = figures[case] = dict(run(args.module, case, gib), gib=gib)
        print(f"{case:10} peak RSS {result['peak_rss'] / 2**20:7.0f} MiB  {result['seconds']:6.2f} s  "
              f"{result['outcome']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1)


if __name__ == "__main__":
    main()
