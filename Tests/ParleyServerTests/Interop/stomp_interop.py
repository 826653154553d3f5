#!/usr/bin/env python3
"""Drives a running Parley chat server with stomp.py (a client nobody here wrote).

Usage: stomp_interop.py TRANSPORT HOST PORT ALICE_TOKEN BOB_TOKEN
TRANSPORT is "tcp" or "ws" (WebSocket at /ws/chat). Prints one line per passed check and exits 0, or prints
the failed check and exits 1. Scenarios: connect with a real JWT (Authorization header and passcode), a
bad token refused, 1:1 message to every session of the receiver, room broadcast, receipts, ack modes
(client-individual, client, NACK redelivery).
"""
import json
import sys
import threading
import time

import stomp

TIMEOUT = 5.0


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.lock = threading.Condition()
        self.messages = []
        self.receipts = []
        self.errors = []
        self.disconnected = False

    def on_message(self, frame):
        with self.lock:
            self.messages.append(frame)
            self.lock.notify_all()

    def on_receipt(self, frame):
        with self.lock:
            self.receipts.append(frame.headers.get("receipt-id"))
            self.lock.notify_all()

    def on_error(self, frame):
        with self.lock:
            self.errors.append(frame)
            self.lock.notify_all()

    def on_disconnected(self):
        with self.lock:
            self.disconnected = True
            self.lock.notify_all()

    def wait(self, what, predicate):
        deadline = time.time() + TIMEOUT
        with self.lock:
            while not predicate(self):
                remaining = deadline - time.time()
                if remaining <= 0:
                    fail(f"timed out waiting for {what}")
                self.lock.wait(remaining)

    def wait_messages(self, count):
        self.wait(f"{count} message(s)", lambda r: len(r.messages) >= count)
        return self.messages[:count]

    def wait_receipt(self, receipt):
        self.wait(f"receipt {receipt}", lambda r: receipt in r.receipts)


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}", flush=True)


def connection(transport, host, port):
    if transport == "ws":
        return stomp.WSConnection([(host, port)], ws_path="/ws/chat", vhost="/", heartbeats=(0, 0))
    return stomp.Connection12([(host, port)], vhost="/", heartbeats=(0, 0))


def connect(transport, host, port, token, use_passcode=False):
    conn = connection(transport, host, port)
    recorder = Recorder()
    conn.set_listener("recorder", recorder)
    if use_passcode:
        conn.connect(username="ignored", passcode=token, wait=True)
    else:
        conn.connect(headers={"Authorization": f"Bearer {token}"}, wait=True)
    return conn, recorder


def event(frame):
    return json.loads(frame.body)


def main():
    transport, host, port, alice_token, bob_token = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

    # A forged token is refused with an ERROR.
    bad = connection(transport, host, port)
    bad_recorder = Recorder()
    bad.set_listener("recorder", bad_recorder)
    try:
        bad.connect(headers={"Authorization": "Bearer not-a-token"}, wait=True)
    except Exception:
        pass
    bad_recorder.wait("ERROR for a bad token", lambda r: len(r.errors) > 0)
    check("message" in bad_recorder.errors[0].headers, "bad token gets ERROR with a message header")
    try:
        bad.disconnect()
    except Exception:
        pass

    alice, alice_rec = connect(transport, host, port, alice_token)
    bob1, bob1_rec = connect(transport, host, port, bob_token)
    bob2, bob2_rec = connect(transport, host, port, bob_token, use_passcode=True)
    check(True, "connected alice (Authorization) and bob twice (Authorization, passcode)")

    bob1.subscribe("/user/queue/messages", id="dm", ack="client-individual", headers={"receipt": "s1"})
    bob2.subscribe("/user/queue/messages", id="dm", ack="client", headers={"receipt": "s2"})
    bob1_rec.wait_receipt("s1")
    bob2_rec.wait_receipt("s2")
    check(True, "SUBSCRIBE receipts")

    body = json.dumps({"roomId": "py", "receiverId": "bob", "content": "hello from stomp.py", "messageType": "TALK"})
    alice.send("/app/chat.sendMessage", body, content_type="application/json", headers={"receipt": "m1"})
    alice_rec.wait_receipt("m1")
    check(True, "SEND to /app/chat.sendMessage gets a RECEIPT")
    for name, rec in (("bob1", bob1_rec), ("bob2", bob2_rec)):
        frame = rec.wait_messages(1)[0]
        ev = event(frame)
        check(frame.headers["destination"] == "/user/queue/messages", f"{name}: destination /user/queue/messages")
        check(ev["senderId"] == "alice" and ev["receiverId"] == "bob", f"{name}: senderId is the principal")
        check(ev["content"] == "hello from stomp.py", f"{name}: content arrives intact")
        check("ack" in frame.headers, f"{name}: MESSAGE has an ack header")

    # client-individual: ACK the message on bob1; client: NACK on bob2 redelivers to bob1.
    bob1.ack(bob1_rec.messages[0].headers["ack"], receipt="a1")
    bob1_rec.wait_receipt("a1")
    check(True, "ACK in client-individual mode")
    bob2.nack(bob2_rec.messages[0].headers["ack"], receipt="n1")
    bob2_rec.wait_receipt("n1")
    redelivered = bob1_rec.wait_messages(2)[1]
    check(redelivered.headers.get("redelivered") == "true", "NACKed message is redelivered to the other session")
    bob1.ack(redelivered.headers["ack"], receipt="a2")
    bob1_rec.wait_receipt("a2")

    # Cumulative ACK in client mode: two messages, ACK the second.
    for index in range(2):
        body = json.dumps({"roomId": "py", "receiverId": "bob", "content": f"c{index}"})
        alice.send("/app/chat.sendMessage", body, content_type="application/json")
    frames = bob2_rec.wait_messages(3)[1:]
    check([event(f)["content"] for f in frames] == ["c0", "c1"], "messages arrive in order")
    bob2.ack(frames[1].headers["ack"], receipt="a3")
    bob2_rec.wait_receipt("a3")
    check(True, "cumulative ACK in client mode")

    # Room broadcast.
    alice.subscribe("/topic/rooms.py", id="room", headers={"receipt": "r1"})
    bob1.subscribe("/topic/rooms.py", id="room", headers={"receipt": "r2"})
    alice_rec.wait_receipt("r1")
    bob1_rec.wait_receipt("r2")
    before = len(bob1_rec.messages)
    bob1.send("/app/chat.sendMessage", json.dumps({"roomId": "py", "content": "room hello"}), content_type="application/json")
    alice_rec.wait("room message", lambda r: any(m.headers["destination"] == "/topic/rooms.py" for m in r.messages))
    bob1_rec.wait_messages(before + 1)
    room = [m for m in alice_rec.messages if m.headers["destination"] == "/topic/rooms.py"][0]
    check(event(room)["senderId"] == "bob" and event(room)["receiverId"] is None, "room broadcast reaches subscribers")

    # DISCONNECT with a receipt (stomp.py waits for it).
    for conn in (alice, bob1, bob2):
        conn.disconnect(receipt="bye")
    check(True, "DISCONNECT with receipt")
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
