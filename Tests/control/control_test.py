#!/usr/bin/python3
"""A client of peershare's control socket written from docs/CONTROL.md alone (Python
standard library only), driven against two real agents on loopback with discovery off:
hello, status, peers, inbox, send (stream), accept, decline, events (stream), history,
and the error replies.

Usage: PEERSHARE_BIN=/path/to/peershare control_test.py
Prints one line per check and exits 1 on the first failure (0 when all pass).
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.environ.get("PEERSHARE_BIN", os.path.abspath(".build/debug/peershare"))
checks = 0


def check(condition, what, detail=""):
    global checks
    if not condition:
        raise AssertionError(f"{what}: {detail}")
    checks += 1
    print(f"ok {checks} - {what}")


class Control:
    """One agent's control socket (CONTROL.md: one request line, then one reply line or a
    stream of event lines until the agent closes)."""

    def __init__(self, home):
        self.path = os.path.join(home, "run", "control.sock")

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(self.path)
        # CONTROL.md: talk only to a server of our own uid (SO_PEERCRED: pid, uid, gid).
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        if uid != os.getuid():
            sock.close()
            raise AssertionError(f"{self.path} is served by uid {uid}, not {os.getuid()}")
        return sock

    def request(self, obj):
        with self.connect() as sock:
            sock.sendall((json.dumps(obj) + "\n").encode())
            line = sock.makefile("r", encoding="utf-8").readline()
        return json.loads(line)

    def raw(self, text):
        with self.connect() as sock:
            sock.sendall(text.encode())
            return json.loads(sock.makefile("r", encoding="utf-8").readline())

    def stream(self, obj, events, stop=None):
        """Appends every event line to `events` until the agent closes the stream (or
        `stop` is set and the next line arrives)."""
        with self.connect() as sock:
            sock.sendall((json.dumps(obj) + "\n").encode())
            for line in sock.makefile("r", encoding="utf-8"):
                events.append(json.loads(line))
                if stop is not None and stop.is_set():
                    return


def start_agent(root, name, extra=()):
    home = os.path.join(root, name + ".home")
    inbox = os.path.join(root, name + ".inbox")
    log = open(os.path.join(root, name + ".log"), "w")
    env = dict(os.environ, PEERSHARE_DISCOVERY="off")
    process = subprocess.Popen(
        [BIN, "run", "--home", home, "--name", name, "--port", "0", "--listen", "127.0.0.1",
         "--no-discovery", "--inbox", inbox, *extra],
        stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env)
    control = Control(home)
    deadline = time.monotonic() + 20
    while True:
        try:
            status = control.request({"command": "status"})
            if status.get("ok") and status["status"]["port"] > 0:
                return process, control, status["status"], inbox
        except (OSError, ValueError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"agent {name} did not start; see {log.name}")
        time.sleep(0.05)


def wait_for(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run_stream(control, request):
    events = []
    thread = threading.Thread(target=control.stream, args=(request, events), daemon=True)
    thread.start()
    return thread, events


def test(root):
    source = os.path.join(root, "src", "docs")
    os.makedirs(os.path.join(source, "sub"))
    with open(os.path.join(source, "a.txt"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(source, "sub", "b.bin"), "wb") as f:
        f.write(os.urandom(70000))
    agents = []
    try:
        alice_process, alice, alice_status, _ = start_agent(root, "alice")
        agents.append(alice_process)
        bob_process, bob, bob_status, bob_inbox = start_agent(root, "bob", ["--ask-paired"])
        agents.append(bob_process)
        bob_address = f"127.0.0.1:{bob_status['port']}"

        hello = bob.request({"command": "hello"})
        check(hello == {"api": 1, "ok": True}, "hello: api 1", hello)
        status = bob.request({"command": "status", "someFutureField": True})
        check(status["ok"] and status["api"] == 1 and status["status"]["name"] == "bob"
              and status["status"]["discovery"] == "off", "status (an unknown request field is ignored)", status)
        peers = bob.request({"command": "peers"})
        check(peers == {"discovery": "off", "ok": True, "peers": []}, "peers with discovery off", peers)
        check(bob.request({"command": "history"}) == {"history": [], "ok": True}, "history: empty at first")
        check(bob.request({"command": "inbox"}) == {"offers": [], "ok": True}, "inbox: empty at first")

        # First contact: send streams a code; bob's inbox lists the offer; accept with the code.
        watched_thread, watched = run_stream(bob, {"command": "events"})
        time.sleep(0.2)
        send_thread, sent = run_stream(alice, {"command": "send", "paths": [source], "to": bob_address})
        code = wait_for(lambda: next((e["code"] for e in sent if e["event"] == "code"), None), "the code event")
        offers = wait_for(lambda: bob.request({"command": "inbox"})["offers"], "the offer in bob's inbox")
        check(len(offers) == 1 and offers[0]["peer"] == "alice" and offers[0]["needsCode"]
              and offers[0]["files"] == 2 and offers[0]["bytes"] == 70006 and offers[0]["names"] == ["docs"],
              "inbox lists the offer", offers)
        accepted = bob.request({"command": "accept", "code": code[:3] + " " + code[3:]})
        check(accepted["ok"] and accepted["offer"]["id"] == offers[0]["id"], "accept with the code", accepted)
        send_thread.join(30)
        names = [e["event"] for e in sent]
        check(names[0] == "sending" and "code" in names and names[-1] == "done" and sent[-1]["files"] == 2,
              "send stream: sending … code … done", names)
        check(sent[-1]["transfer"] == sent[0]["transfer"] and all(e["direction"] == "send" for e in sent),
              "send events carry one transfer id and direction send", sent)
        wait_for(lambda: any(e["event"] == "received" for e in watched), "bob's received event")
        offer_id = offers[0]["id"]
        seen = [(e["event"], e.get("offer") or e.get("transfer")) for e in watched]
        check(("offer", offer_id) in seen and ("receiving", offer_id) in seen and ("received", offer_id) in seen,
              "events stream: offer, receiving, received under the offer's id", seen)
        received = next(e for e in watched if e["event"] == "received")
        check(received["inbox"] == bob_inbox and received["names"] == ["docs"]
              and os.path.getsize(os.path.join(bob_inbox, "docs", "sub", "b.bin")) == 70000,
              "received names the inbox, and the files are there", received)

        # Paired now, and bob asks (--ask-paired): decline through the socket.
        send_thread, sent = run_stream(alice, {"command": "send", "paths": [source], "to": bob_address})
        offers = wait_for(lambda: bob.request({"command": "inbox"})["offers"], "the paired offer")
        check(not offers[0]["needsCode"], "a paired offer needs no code", offers)
        declined = bob.request({"command": "decline", "offer": offers[0]["id"]})
        check(declined["ok"] and declined["offer"]["id"] == offers[0]["id"], "decline", declined)
        send_thread.join(30)
        check(sent[-1]["event"] == "error" and sent[-1]["kind"] == "declined", "the send ends with error kind declined", sent[-1])

        # A paired offer approved without a code.
        send_thread, sent = run_stream(alice, {"command": "send", "paths": [source], "to": bob_address})
        offers = wait_for(lambda: bob.request({"command": "inbox"})["offers"], "the third offer")
        check(bob.request({"command": "accept"})["ok"], "accept without a code approves a paired offer")
        send_thread.join(30)
        check(sent[-1]["event"] == "done", "the approved send is done", sent[-1])

        bob_history = wait_for(lambda: (lambda h: h if len(h) == 3 else None)(
            bob.request({"command": "history", "limit": 10})["history"]), "bob's three history entries")
        check([h["outcome"] for h in bob_history] == ["received", "declined", "received"]
              and all(h["direction"] == "receive" and h["peer"] == "alice" for h in bob_history),
              "history on the receiver, newest first", bob_history)
        alice_history = alice.request({"command": "history", "limit": 2})["history"]
        check([h["outcome"] for h in alice_history] == ["confirmed", "declined"]
              and alice_history[0]["peer"] == "bob" and alice_history[0]["bytes"] == 70006,
              "history on the sender, limited to 2", alice_history)

        # Errors.
        reply = bob.request({"command": "nope"})
        check(reply["ok"] is False and reply["kind"] == "usage" and "nope" in reply["error"], "unknown command", reply)
        reply = bob.raw("this is not json\n")
        check(reply == {"error": "Malformed control request.", "kind": "usage", "ok": False}, "malformed request", reply)
        reply = bob.request({"command": "history", "limit": 0})
        check(not reply["ok"] and reply["kind"] == "usage", "history limit out of range", reply)
        reply = bob.request({"command": "accept", "code": "12"})
        check(not reply["ok"] and reply["kind"] == "usage", "a code that is not 6 digits", reply)
        events = []
        alice.stream({"command": "send", "paths": [os.path.join(root, "missing")], "to": bob_address}, events)
        check(len(events) == 1 and events[0]["event"] == "error" and events[0]["kind"] == "usage",
              "a send of a missing path: one error event, then the stream closes", events)
        events = []
        alice.stream({"command": "send", "paths": [source]}, events)
        check(events and events[0]["event"] == "error" and events[0]["kind"] == "usage", "a send without 'to'", events)
    finally:
        for process in agents:
            process.terminate()
        for process in agents:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_test(test, prefix, names):
    """Runs `test(root)` in a fresh directory; on failure prints the agents' logs (`names`).
    Returns the exit status."""
    if not os.access(BIN, os.X_OK):
        print(f"{prefix}: {BIN} is not built", file=sys.stderr)
        return 1
    root = tempfile.mkdtemp(prefix=prefix + "-")
    try:
        test(root)
    except AssertionError as error:
        print(f"not ok - {error}", file=sys.stderr)
        for name in names:
            log = os.path.join(root, name + ".log")
            if os.path.exists(log):
                print(f"--- {name} ---\n" + open(log).read(), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{prefix}: {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(run_test(test, "control_test", ["alice", "bob"]))
