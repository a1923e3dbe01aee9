#!/usr/bin/env python3
"""A hostile client against a release build (issue #28, BENCHMARKS.md
"Abuse run"): starts `storegate serve` on a scratch SQLite file with the demo
data, sends what an attacker would, and prints what each attack got back and
the server's peak RSS (VmHWM). Standard library only.

    python3 bench/abuse.py [target/release/storegate]

Every loop here is bounded in count and time and talks to 127.0.0.1 only.
"""

import base64
import concurrent.futures as futures
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter

BINARY = sys.argv[1] if len(sys.argv) > 1 else "target/release/storegate"
DEEP = '{ product(id:"1") { factory { products { factory { products { factory { products { id } } } } } } } }'
WIDE = "{ " + " ".join(f"a{n}: factories(first: 100) {{ nodes {{ products {{ id name }} }} }}" for n in range(10)) + " }"
LOGINS = "mutation { " + " ".join(f'l{n}: login(email: "x{n}@example.com", password: "wrong-password") {{ accessToken }}' for n in range(12)) + " }"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError as err:
        return type(err).__name__, b""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def reset_peak(pid):
    """Starts a new high-water mark (Linux: writing 5 to clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def outcome(status, body):
    """The status, and for GraphQL answers whether the document ran."""
    if body[:1] == b"{" and b'"errors"' in body:
        text = body.decode(errors="replace")
        if "over the budget" in text:
            return f"{status} refused: cost"
        if "RATE_LIMITED" in text:
            return f"{status} refused: rate limited"
        return f"{status} errors"
    return status


PID = None


def hammer(label, count, workers, call):
    reset_peak(PID)
    started = time.monotonic()
    with futures.ThreadPoolExecutor(workers) as pool:
        answers = Counter(outcome(*answer) for answer in pool.map(lambda _: call(), range(count)))
    elapsed = time.monotonic() - started
    print(f"{label:<48} {count:>5} sent: {dict(sorted(answers.items(), key=str))} in {elapsed:.1f} s; peak {peak_kib(PID) / 1024:.1f} MiB")
    return answers


def websocket(port, payload_bytes=None, init=True):
    """Opens a graphql-transport-ws socket; optionally sends a message of
    payload_bytes; returns the close code the server sent (or what happened)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /graphql/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            return sock, "closed before upgrade"
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        return sock, head.split(b"\r\n")[0].decode()

    def frame(text):
        data = text.encode()
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
        return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    if init:
        sock.sendall(frame('{"type":"connection_init"}'))
    if payload_bytes:
        try:
            sock.sendall(frame(json.dumps({"type": "ping", "payload": {"x": "y" * payload_bytes}})))
        except OSError:
            pass
    return sock, "open"


def close_code(sock, wait):
    sock.settimeout(wait)
    buffered = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return "eof"
            buffered += chunk
            while len(buffered) >= 2:
                opcode, length = buffered[0] & 0x0F, buffered[1] & 0x7F
                offset = 2
                if length == 126:
                    length, offset = struct.unpack("!H", buffered[2:4])[0], 4
                elif length == 127:
                    length, offset = struct.unpack("!Q", buffered[2:10])[0], 10
                if len(buffered) < offset + length:
                    break
                body = buffered[offset : offset + length]
                buffered = buffered[offset + length :]
                if opcode == 0x8:
                    return struct.unpack("!H", body[:2])[0] if len(body) >= 2 else "close"
    except socket.timeout:
        return "still open"
    except OSError as err:
        return type(err).__name__


def main():
    work = tempfile.mkdtemp()
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite://{work}/abuse.db?mode=rwc",
        JWT_SECRET="abuse-run-only-secret-0123456789abcdefghij",
        HOST="127.0.0.1",
        PORT=str(port),
        RUST_LOG="error",
        STOREGATE_ENV="production",
        REQUEST_HEAD_TIMEOUT="3s",
    )
    for name in ("REDIS_URL", "TRUSTED_CLIENT_IP_HEADER"):
        env.pop(name, None)
    subprocess.run([BINARY, "seed-demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if request(base, "GET", "/readyz")[0] == 200:
                break
            time.sleep(0.1)
        global PID
        PID = server.pid
        print(f"server pid {server.pid}, after start: {peak_kib(server.pid) / 1024:.1f} MiB peak")
        gql = lambda query: lambda: request(base, "POST", "/graphql", {"query": query})
        hammer("deep factory/products document (depth 8)", 200, 16, gql(DEEP))
        hammer("ten aliases of a 100 x 100 nested list", 200, 16, gql(WIDE))
        hammer("twelve aliased logins in one document", 20, 4, gql(LOGINS))
        hammer("page of 100 products with factories (accepted)", 200, 16,
               gql("{ products(first: 100) { nodes { id name factory { name country } } } }"))
        wrong = {"email": "victim@example.com", "password": "wrong-password"}
        hammer("60 concurrent wrong logins for one email", 60, 60, lambda: request(base, "POST", "/api/auth/login", wrong))
        big = b'{"name":"' + b"x" * (2 * 1024 * 1024) + b'"}'
        hammer("2 MiB JSON bodies", 50, 8, lambda: request(base, "POST", "/api/stores", raw=big))
        hammer("trailing garbage after JSON", 50, 8,
               lambda: request(base, "POST", "/graphql", raw=b'{"query":"{ __typename }"} xyz'))
        hammer("/metrics without the token (production)", 20, 4, lambda: request(base, "GET", "/metrics"))

        # Half-sent request heads: the server must close them.
        reset_peak(PID)
        halves = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /api/stores HTTP/1.1\r\nHost: x\r\n")
            halves.append(s)
        started = time.monotonic()
        closed = 0
        for s in halves:
            s.settimeout(max(0.1, 10 - (time.monotonic() - started)))
            try:
                data = s.recv(4096)
                closed += 1 if (not data or b"408" in data.split(b"\r\n")[0]) else 0
            except OSError:
                pass
            s.close()
        print(f"{'half-sent request heads (timeout 3 s)':<48} {len(halves):>5} sent: {closed} closed within {time.monotonic() - started:.1f} s; peak {peak_kib(PID) / 1024:.1f} MiB")

        # Websockets: a 2 MiB message, sockets that never init, then more
        # sockets than the instance allows.
        reset_peak(PID)
        sock, state = websocket(port, payload_bytes=2 * 1024 * 1024)
        print(f"{'websocket with a 2 MiB message':<48} close code {close_code(sock, 10) if state == 'open' else state}")
        sock.close()
        sock, state = websocket(port, init=False)
        started = time.monotonic()
        code = close_code(sock, 15)
        print(f"{'websocket without connection_init':<48} close code {code} after {time.monotonic() - started:.1f} s")
        sock.close()
        reset_peak(PID)
        sockets, codes = [], Counter()
        for _ in range(1100):
            try:
                sock, state = websocket(port)
                sockets.append(sock)
                codes[state] += 1
            except OSError as err:
                codes[type(err).__name__] += 1
        print(f"{'1,100 websockets at once (cap 1,024)':<48} {dict(codes)}; peak {peak_kib(PID) / 1024:.1f} MiB")
        for s in sockets:
            s.close()
        status, _ = request(base, "GET", "/readyz")
        print(f"readyz after the run: {status}")
        print(f"RSS at the end: {rss_kib(server.pid) / 1024:.1f} MiB (each line's peak is its own high-water mark)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
