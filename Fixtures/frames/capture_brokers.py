#!/usr/bin/env python3
"""Re-captures captured.py from live brokers: `python3 capture_brokers.py RABBITMQ_STOMP_PORT ACTIVEMQ_STOMP_PORT`.

Start the brokers as described in the project notes (RabbitMQ with rabbitmq_stomp, guest/guest on loopback;
ActiveMQ with a stomp+nio connector), run this, then `python3 generate.py`. Session ids, queue names and message
ids change on every capture; generate.py reads those from the bytes and spells out everything else.
"""
import os
import socket
import sys
import time
import uuid


def recv_frames(sock, count, timeout=3.0):
    """Everything the server sends until `count` NULs arrived (or the timeout)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.time() + timeout
    while data.count(b"\0") < count and time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    time.sleep(0.05)  # the trailing EOL after the NUL may come in a separate segment
    sock.setblocking(False)
    try:
        data += sock.recv(65536)
    except (BlockingIOError, socket.error):
        pass
    return data


def capture(port):
    out = {}
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,0\n\n\0")
    out["connected"] = recv_frames(s, 1)
    queue = "/queue/codec-capture-" + uuid.uuid4().hex[:8]
    s.setblocking(True)
    s.sendall(f"SUBSCRIBE\nid:sub-0\ndestination:{queue}\nack:auto\n\n\0".encode())
    body = '{"roomId":"42","content":"hi: a\\\\b"}'
    s.sendall(f"SEND\ndestination:{queue}\ncontent-type:application/json\nx-odd:a\\cb\\\\c\\nd\n"
              f"content-length:{len(body)}\nreceipt:r-1\n\n{body}\0".encode())
    out["receipt_and_message"] = recv_frames(s, 2)
    s.setblocking(True)
    s.sendall(b"SEND\ndestination:" + queue.encode() + b"\ncontent-length:5\n\na\0b\0c\0")
    out["message_nul_body"] = recv_frames(s, 1)
    s.setblocking(True)
    s.sendall(b"FOO\n\n\0")
    out["error_bad_command"] = recv_frames(s, 1)
    s.close()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"CONNECT\naccept-version:1.0,1.1\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,500\n\n\0")
    out["connected_v11_heartbeat"] = recv_frames(s, 1)
    s.close()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:wrong\n\n\0")
    out["error_bad_login"] = recv_frames(s, 1)
    s.close()
    return out


def main():
    rabbit, active = int(sys.argv[1]), int(sys.argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "captured.py")) as f:
        header = f.read().split("CAPTURED = {")[0]
    lines = [header + "CAPTURED = {"]
    for broker, port in [("rabbitmq", rabbit), ("activemq", active)]:
        for step, data in capture(port).items():
            lines.append(f'    ("{broker}", "{step}"): {data!r},')
    lines.append("}")
    with open(os.path.join(here, "captured.py"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
