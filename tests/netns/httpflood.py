#!/usr/bin/env python3
"""Hostile clients for the metrics listener (tests/netns/metrics.sh): N connections to
HOST:PORT, of every kind a careless or hostile client makes: junk lines, binary junk,
oversized headers, wrong methods and paths, HTTP/2 prefaces, valid requests whose answer is
never read, connections held open without a byte (half-open), slow senders (a byte every
300 ms), and bursts of parallel connects closed at once. Prints one line: how many of each,
and how each ended (the status code read, closed, reset, timeout).

Usage: httpflood.py HOST PORT [N]"""
import collections
import random
import socket
import sys
import threading
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
TOTAL = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
rng = random.Random(7)

KINDS = {
    "junk-line": lambda: b"hello there, this is not http\r\n\r\n",
    "binary": lambda: bytes(rng.randrange(256) for _ in range(200)),
    "oversized": lambda: b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n",
    "huge": lambda: b"A" * 65536,
    "post": lambda: b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "path": lambda: b"GET /../../etc/passwd HTTP/1.1\r\n\r\n",
    "h2": lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "no-version": lambda: b"GET /metrics\r\n\r\n",
    "bad-header": lambda: b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
    "unread": lambda: b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
}

count = collections.Counter()
ended = collections.Counter()
lock = threading.Lock()
left = [TOTAL]


def take(n=1):
    with lock:
        k = min(n, left[0])
        left[0] -= k
        return k


def note(kind, how):
    with lock:
        count[kind] += 1
        ended[how] += 1


def connect(timeout=2.0):
    s = socket.socket(socket.AF_INET6 if ":" in HOST else socket.AF_INET)
    s.settimeout(timeout)
    s.connect((HOST, PORT))
    return s


def one(kind):
    try:
        s = connect()
    except OSError:
        note(kind, "connect-failed")
        return
    how = "closed"
    try:
        if kind == "unread":
            # a small receive window and nobody reading: the answer cannot all go out
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            s.sendall(KINDS[kind]())
            time.sleep(0.05)
            how = "unread"
        else:
            try:
                s.sendall(KINDS[kind]())
            except OSError:
                pass
            s.settimeout(3.0)
            first = s.recv(64)
            if first.startswith(b"HTTP/1.1 "):
                how = first[9:12].decode()
    except socket.timeout:
        how = "timeout"
    except ConnectionResetError:
        how = "reset"
    except OSError:
        how = "error"
    finally:
        s.close()
    note(kind, how)


def worker():
    names = list(KINDS)
    while take():
        one(rng.choice(names))


def half_open():
    """Connections that never send a byte, held past the listener's deadline: three rounds,
    so that the other kinds find free slots most of the time."""
    for _ in range(3):
        n = take(40)
        if not n:
            return
        held = []
        for _ in range(n):
            try:
                held.append(connect())
            except OSError:
                note("half-open", "connect-failed")
        time.sleep(2.5)
        for s in held:
            try:
                s.settimeout(0.5)
                how = "closed" if s.recv(64) == b"" else "answered"
            except socket.timeout:
                how = "timeout"
            except OSError:
                how = "reset"
            s.close()
            note("half-open", how)


def slow():
    """A byte every 300 ms of a valid request: dropped at the deadline, unanswered (two
    per thread)."""
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n"
    for _ in range(take(2)):
        try:
            s = connect()
        except OSError:
            note("slow", "connect-failed")
            continue
        how = "closed"
        try:
            for b in req:
                s.send(bytes([b]))
                time.sleep(0.3)
            how = "sent-all"
        except OSError:
            how = "dropped"
        s.close()
        note("slow", how)


def burst():
    """Parallel connects closed at once, without a byte: ten bursts of 100."""
    for _ in range(10):
        n = take(100)
        if not n:
            return
        socks = []
        for _ in range(n):
            try:
                socks.append(connect())
            except OSError:
                note("burst", "connect-failed")
        for s in socks:
            s.close()
            note("burst", "closed")


t0 = time.time()
threads = [threading.Thread(target=worker) for _ in range(6)]
threads += [threading.Thread(target=half_open), threading.Thread(target=burst)]
threads += [threading.Thread(target=slow) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%d connections in %.1f s; kinds: %s; ended: %s" % (
    sum(count.values()), time.time() - t0,
    " ".join("%s=%d" % kv for kv in sorted(count.items())),
    " ".join("%s=%d" % kv for kv in sorted(ended.items()))))
