#!/usr/bin/python3
"""A small org.freedesktop.Notifications server for tests (python3-dbus, python3-gi): it
takes the session bus name, writes every Notify call as one JSON line to LOG, and, for a
notification that offers an "open" action, invokes it at once (ActionInvoked), as a person
clicking "Open folder" would.

Usage: notification_server.py LOG   (on the bus of $DBUS_SESSION_BUS_ADDRESS; prints "ready")
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus, log):
        super().__init__(bus, PATH)
        self.log = log
        self.next_id = 0

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        self.next_id += 1
        record = {"id": self.next_id, "app": str(app), "summary": str(summary), "body": str(body),
                  "actions": [str(a) for a in actions]}
        with open(self.log, "a") as f:
            f.write(json.dumps(record) + "\n")
        if "open" in record["actions"]:
            GLib.timeout_add(100, self.ActionInvoked, dbus.UInt32(self.next_id), "open")
        return dbus.UInt32(self.next_id)

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["body", "actions"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("test", "peershare", "1", "1.2")

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, id):
        pass

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, id, action):
        return False


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    name = dbus.service.BusName(NAME, bus)
    server = Server(bus, sys.argv[1])
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
