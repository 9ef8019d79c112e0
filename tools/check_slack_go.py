"""Check by hand that slack-go's RTM client works against FakeSlack.

Not part of the test suite: it needs a Go toolchain and slack-go, which
Debian packages (``apt-get install golang-go golang-github-slack-go-slack-dev``;
they go under /usr/share/gocode, built here in GOPATH mode, with no module
download).  It builds a small Go program that connects with slack-go's RTM
(rtm.connect, then the WebSocket with a query string of its own), waits for
a scripted message event, answers it with a message and waits for the ack;
and checks, from FakeSlack's side, what came.  Everything on 127.0.0.1,
every wait bounded.

    python tools/check_slack_go.py        # exit status 0: it works
"""

import os
import pathlib
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import slack_rtm  # noqa: E402

GOPATH = "/usr/share/gocode"

PROGRAM = """\
package main

import (
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/slack-go/slack"
)

func main() {
	api := slack.New("xoxb-test", slack.OptionAPIURL(os.Args[1]))
	rtm := api.NewRTM(slack.RTMOptionConnParams(url.Values{"client": {"slack-go"}}))
	go rtm.ManageConnection()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case event := <-rtm.IncomingEvents:
			switch data := event.Data.(type) {
			case *slack.HelloEvent:
				fmt.Println("hello")
			case *slack.MessageEvent:
				fmt.Println("message", data.Channel, data.User, data.Text)
				rtm.SendMessage(rtm.NewOutgoingMessage("pong", data.Channel))
			case *slack.AckMessage:
				fmt.Println("ack", data.ReplyTo, data.Text, data.Timestamp != "")
				rtm.Disconnect()
				return
			case *slack.InvalidAuthEvent, *slack.ConnectionErrorEvent:
				fmt.Println("error", event.Type, data)
				os.Exit(1)
			}
		case <-deadline:
			fmt.Println("timeout")
			os.Exit(1)
		}
	}
}
"""


def build(folder: pathlib.Path) -> pathlib.Path:
    """The Go program, built in GOPATH mode against Debian's slack-go."""
    source = folder / "src" / "slackgocheck"
    source.mkdir(parents=True)
    (source / "main.go").write_text(PROGRAM)
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{folder}:{GOPATH}", GOCACHE=str(folder / "cache"))
    binary = folder / "slackgocheck"
    subprocess.run(["go", "build", "-o", str(binary), "slackgocheck"], cwd=source, env=env, check=True,
                   timeout=300)
    return binary


def lines_of(proc: "subprocess.Popen[str]") -> "queue.Queue[str]":
    lines: "queue.Queue[str]" = queue.Queue()

    def read() -> None:
        for line in proc.stdout:          # type: ignore[union-attr]  # stdout=PIPE
            lines.put(line.rstrip("\n"))
    threading.Thread(target=read, daemon=True).start()
    return lines


def check(binary: pathlib.Path) -> None:
    with slack_rtm.FakeSlack() as slack:
        proc = subprocess.Popen([str(binary), slack.base_url], stdout=subprocess.PIPE, text=True)
        try:
            said = lines_of(proc)
            slack.wait_connections(1, timeout=20)
            assert said.get(timeout=10) == "hello"
            slack.send({"type": "message", "channel": "C0GENERAL", "user": "U0ALICE", "text": "ping",
                        "ts": "1.000001"})
            assert said.get(timeout=10) == "message C0GENERAL U0ALICE ping"
            (sent,) = slack.wait_received(1, type="message")
            assert sent["text"] == "pong" and sent["channel"] == "C0GENERAL", sent
            ack = said.get(timeout=10)
            assert ack == f"ack {sent['id']} pong true", ack
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        assert [r.method for r in slack.requests] == ["rtm.connect"], slack.requests
        assert slack.upgrades[0].target.endswith("?client=slack-go"), slack.upgrades[0].target
    print(f"slack-go: connected, got the event, sent {sent} and got its ack")


def main() -> int:
    if shutil.which("go") is None or not os.path.isdir(f"{GOPATH}/src/github.com/slack-go/slack"):
        print("needs go and slack-go: apt-get install golang-go golang-github-slack-go-slack-dev")
        return 2
    with tempfile.TemporaryDirectory() as folder:
        check(build(pathlib.Path(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
