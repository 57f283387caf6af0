"""Hold N idle keep-alive connections to a server (for the conn-10k workload).

    python3 bench/hold/hold.py HOST PORT N

Opens N connections, sends one GET /v1/config on each and reads its answer, so every connection
is an established HTTP/1.1 keep-alive connection the server has served; then prints
"held <n> <failed>" and keeps them open, idle, until stdin closes or SIGTERM arrives. Meanwhile
the bench measures loads over 64 other connections: the target is latency with 10,000 clients
connected, not 10,000 clients all busy (closed-loop, that would be connections / throughput).
"""

import selectors
import signal
import socket
import sys
import time

REQUEST = b"GET /v1/config HTTP/1.1\r\nHost: bench\r\n\r\n"


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sel = selectors.DefaultSelector()
    socks, pending, failed = [], {}, 0
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex((host, port))
        except OSError:
            failed += 1
            s.close()
            continue
        socks.append(s)
        pending[s.fileno()] = [s, b"", False]
        sel.register(s, selectors.EVENT_WRITE)
        # Pace the handshakes a little so the listen backlog never overflows.
        if i % 500 == 499:
            drain(sel, pending, 0.05)
    deadline = time.time() + 60
    while pending and time.time() < deadline:
        drain(sel, pending, 0.5)
    failed += len(pending)
    print(f"held {len(socks) - len(pending)} {failed}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sys.stdin.read()
    finally:
        for s in socks:
            s.close()


def drain(sel, pending, timeout):
    for key, ev in sel.select(timeout):
        s = key.fileobj
        st = pending.get(s.fileno())
        if st is None:
            continue
        try:
            if ev & selectors.EVENT_WRITE and not st[2]:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    raise OSError("connect failed")
                s.send(REQUEST)
                st[2] = True
                sel.modify(s, selectors.EVENT_READ)
            elif ev & selectors.EVENT_READ:
                data = s.recv(65536)
                if not data:
                    raise OSError("closed")
                st[1] += data
                head, sep, body = st[1].partition(b"\r\n\r\n")
                if sep:
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    if len(body) >= length:
                        sel.unregister(s)
                        del pending[s.fileno()]
        except OSError:
            sel.unregister(s)
            del pending[s.fileno()]


if __name__ == "__main__":
    main()
