#!/usr/bin/python3
"""Desktop notifications against a real notification server on a private session bus
(dbus-daemon --session, notification_server.py): an offer raises one (who, what, size, how
to accept), a finished receive one with "Open folder" (whose action runs xdg-open on the
folder: a stand-in xdg-open records it), and an agent with notify = false or without a
session bus says so and sends none.

Usage: PEERSHARE_BIN=/path/to/peershare notify_test.py
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "control"))
import control_test as ct  # noqa: E402  (the control-socket client and agent starter)


def wait_lines(path, count, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            lines = [json.loads(line) for line in open(path) if line.strip()]
            if len(lines) >= count:
                return lines
        time.sleep(0.05)
    raise AssertionError(f"{path}: fewer than {count} lines after {timeout} s")


def send_and_accept(sender, receiver, source, address):
    thread, sent = ct.run_stream(sender, {"command": "send", "paths": [source], "to": address})
    code = ct.wait_for(lambda: next((e["code"] for e in sent if e["event"] == "code"), None), "the code")
    ct.wait_for(lambda: receiver.request({"command": "inbox"})["offers"], "the offer")
    ct.check(receiver.request({"command": "accept", "code": code})["ok"], "accepted with the code")
    thread.join(30)
    ct.check(sent[-1]["event"] == "done", "the send is done", sent[-1])


def test(root):
    source = os.path.join(root, "src", "holiday & <b>x")
    os.makedirs(source)
    with open(os.path.join(source, "a.txt"), "w") as f:
        f.write("hello\n")
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir)
    opened = os.path.join(root, "opened")
    with open(os.path.join(bin_dir, "xdg-open"), "w") as f:
        f.write(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{opened}'\n")
    os.chmod(os.path.join(bin_dir, "xdg-open"), 0o755)

    processes = []
    try:
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                               stdout=subprocess.PIPE, text=True)
        processes.append(bus)
        address = bus.stdout.readline().strip()
        ct.check(address.startswith("unix:"), "a private session bus", address)
        log = os.path.join(root, "notifications.jsonl")
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, PATH=bin_dir + ":" + os.environ.get("PATH", ""))
        server = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "notification_server.py"), log],
                                  stdout=subprocess.PIPE, text=True, env=env)
        processes.append(server)
        ct.check(server.stdout.readline().strip() == "ready", "the notification server owns the name")

        os.environ.update(env)
        quiet_home = os.path.join(root, "quiet.home")
        os.makedirs(os.path.join(quiet_home, "config"))
        with open(os.path.join(quiet_home, "config", "config.toml"), "w") as f:
            f.write("notify = false\n")
        quiet_process, quiet, quiet_status, _ = ct.start_agent(root, "quiet")
        processes.append(quiet_process)
        alice_process, alice, _, _ = ct.start_agent(root, "alice")
        processes.append(alice_process)

        # notify = false: a whole transfer, and no notification (the next agent's come first).
        send_and_accept(alice, quiet, source, f"127.0.0.1:{quiet_status['port']}")
        ct.check("Notifications: off (notify = false)" in open(os.path.join(root, "quiet.log")).read(),
                 "notify = false: the agent says notifications are off")

        bob_process, bob, bob_status, bob_inbox = ct.start_agent(root, "bob")
        processes.append(bob_process)
        ct.check("Notifications: on (desktop session bus)" in open(os.path.join(root, "bob.log")).read(),
                 "with a session bus: notifications on")
        send_and_accept(alice, bob, source, f"127.0.0.1:{bob_status['port']}")
        shown = wait_lines(log, 2)
        ct.check(len(shown) == 2, "two notifications, none from the agent with notify = false", shown)
        offer, received = shown
        ct.check(offer["summary"] == 'Offer from "alice"' and "1 file(s), 6 B" in offer["body"]
                 and "holiday &amp; &lt;b&gt;x" in offer["body"] and "peershare accept CODE" in offer["body"]
                 and offer["actions"] == [], "the offer: who, what (escaped as markup), size, how to accept", offer)
        ct.check(received["summary"] == 'Received from "alice"' and bob_inbox in received["body"]
                 and received["actions"] == ["open", "Open folder"], "the receive, with Open folder", received)
        ct.wait_for(lambda: os.path.exists(opened) and open(opened).read() == bob_inbox + "\n", "xdg-open of the inbox")
        ct.check(True, "Open folder opened the inbox")

        # No session bus at all: the agent says so.
        for key in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
            os.environ.pop(key, None)
        lone_process, _, _, _ = ct.start_agent(root, "lone")
        processes.append(lone_process)
        ct.check("Notifications: off (no desktop session bus)" in open(os.path.join(root, "lone.log")).read(),
                 "without a session bus: notifications off")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    sys.exit(ct.run_test(test, "notify_test", ["quiet", "alice", "bob", "lone"]))
