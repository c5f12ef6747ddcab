#!/usr/bin/env python3
"""Slow clients against `sportello serve`: opens N connections that each send half a request
header and stop, then measures how long `GET /health` takes on a fresh connection, and the
server's resident memory and open file descriptors, while they hang on and after the header
timeout. Standard library only.

    scripts/slow_clients.py target/debug/sportello 1000 10000 -- --header-timeout 10s

Prints one line per N: slow connections opened, still open after 1 s, /health latency,
server RSS and file descriptors, and what is left open once the header timeout has passed.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def health(addr, timeout=30.0):
    started = time.monotonic()
    with socket.create_connection(addr, timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: sportello\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"not healthy: {data[:80]!r}")
    return time.monotonic() - started


def closed(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b"" or True
    except BlockingIOError:
        return False
    except OSError:
        return True


def main():
    binary, rest = sys.argv[1], sys.argv[2:]
    counts, extra = (rest[: rest.index("--")], rest[rest.index("--") + 1 :]) if "--" in rest else (rest, [])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for n in map(int, counts):
        data = tempfile.mkdtemp(prefix="sportello-slow-")
        env = {"PATH": os.environ.get("PATH", ""), "SPORTELLO_RULES": os.path.join(root, "rules")}
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data", data, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        addr = None
        for line in server.stdout:
            if "running on http://" in line:
                host, port = line.split("http://")[1].split()[0].rsplit(":", 1)
                addr = (host, int(port))
                break
        try:
            health(addr)
            base_rss, base_fds = rss_kib(server.pid), fds(server.pid)
            slow = []
            for _ in range(n):
                s = socket.create_connection(addr)
                s.sendall(b"GET /health HTTP/1.1\r\nHost: sportello\r\nX-Slow: ")
                slow.append(s)
            time.sleep(1)
            latency = health(addr)
            still = sum(not closed(s) for s in slow)
            rss, open_fds = rss_kib(server.pid), fds(server.pid)
            header_timeout = 10
            for i, a in enumerate(extra):
                if a == "--header-timeout":
                    header_timeout = int(extra[i + 1].rstrip("s"))
            time.sleep(header_timeout + 1)
            left = sum(not closed(s) for s in slow)
            print(
                f"{n} slow connections: {still} still open after 1 s; /health in {latency * 1000:.1f} ms; "
                f"server RSS {rss // 1024} MiB (idle {base_rss // 1024} MiB), {open_fds} fds (idle {base_fds}); "
                f"{left} open after the {header_timeout} s header timeout, /health then in {health(addr) * 1000:.1f} ms"
            )
            for s in slow:
                s.close()
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
