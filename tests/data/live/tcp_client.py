"""TCP client for the live tests.

tcp_client.py once ADDR PORT        connect, echo one message, print "ok" (or "fail: …")
tcp_client.py hold ADDR PORT        connect, echo "first", print "ok first"; then for each
                                    line on stdin echo it and print "ok LINE"
"""
import socket
import sys

mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    conn = socket.create_connection((addr, port), timeout=2)
    conn.settimeout(3)

    def roundtrip(msg):
        conn.sendall(msg.encode())
        got = b""
        while len(got) < len(msg):
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            got += chunk
        if got != msg.encode():
            raise ValueError("echo mismatch")
        print("ok", msg, flush=True)

    roundtrip("first")
    if mode == "hold":
        for line in sys.stdin:
            roundtrip(line.strip())
except Exception as e:  # noqa: BLE001 - the test reads the reason
    print("fail:", e, flush=True)
