"""HTTP load: the local HTTP server under many clients at once.

A small app (``apps/http_load_app.py``) runs under ``flowfn.testing`` with its HTTP API on a
free loopback port. A separate process (so that the clients do not share the server's
interpreter lock), one asyncio loop, sends 2,000 requests from 50 concurrent clients, half GET
and half POST with a small JSON body, twice: on keep-alive connections opened all at once, and
with a new connection per request (where a short listen backlog drops connections). Every
answer is checked; wrong answers, connection errors and failed invocations are counted, and p50
and p99 latency printed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from _common import HERE, PYTHON, Row, percentile

APP = str(HERE / "apps" / "http_load_app.py")
REQUESTS, CLIENTS = 2000, 50


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int,
                    close: bool) -> bool:
    """One request on an open connection; True when the answer is the expected one."""
    extra = "connection: close\r\n" if close else ""
    if n % 2:
        writer.write(f"GET /items/{n}?q=x HTTP/1.1\r\nhost: local\r\n{extra}\r\n".encode())
        expected: object = {"id": str(n), "q": "x"}
    else:
        body = json.dumps({"n": n}).encode()
        writer.write(f"POST /items HTTP/1.1\r\nhost: local\r\ncontent-type: application/json\r\n"
                     f"content-length: {len(body)}\r\n{extra}\r\n".encode() + body)
        expected = {"created": {"n": n}}
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    payload = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0].startswith("HTTP/1.1 200 ") and json.loads(payload) == expected


async def _load(port: int, requests: int, clients: int, close: bool) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    share = requests // clients

    async def client(index: int) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for i in range(share):
            n = index * share + i
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                ok = await asyncio.wait_for(_exchange(*conn, n, close), 30)
                problem = None if ok else f"request {n}: wrong answer"
            except Exception as exc:  # counted, and the connection reopened
                problem = f"request {n}: {exc!r}"
            latencies.append(time.perf_counter() - t0)
            if problem:
                errors.append(problem)
            if conn is not None and (close or problem):
                conn[1].close()
                conn = None
        if conn is not None:
            conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - began}


def load(port: int, requests: int, clients: int, close: bool) -> dict[str, object]:
    """Send ``requests`` from ``clients`` concurrent connections; latencies in seconds, and errors.

    One asyncio loop drives every client, so a client's time is not spent waiting for its turn
    at an interpreter lock shared with 49 others.
    """
    return asyncio.run(_load(port, requests, clients, close))


def run(requests: int = REQUESTS, clients: int = CLIENTS) -> list[Row]:
    from flowfn.testing import run_app

    rows: list[Row] = []
    with run_app(APP, http=True) as harness:
        assert harness.http_url is not None
        port = int(harness.http_url.rsplit(":", 1)[1])
        for close, label in ((False, "keep-alive connections"), (True, "a new connection per request")):
            done = subprocess.run([PYTHON, __file__, "--client", str(port), str(requests), str(clients),
                                   "1" if close else "0"], capture_output=True, text=True, check=True)
            got = json.loads(done.stdout)
            latencies, errors = got["latencies"], got["errors"]
            failed = harness.failures()
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            rows.append(Row(
                "http load", f"{requests} requests, {clients} concurrent, {label}",
                f"p50 {p50 * 1000:.1f} ms", f"p99 {p99 * 1000:.1f} ms",
                f"{len(errors)} errors, {len(failed)} failed, {requests / got['seconds']:.0f} req/s",
                target="p99 < 50 ms, 0 errors", met=p99 < 0.050 and not errors and not failed,
                notes=errors[:5]))
            harness.clear()
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        port, requests, clients, close = (int(a) for a in sys.argv[2:6])
        print(json.dumps(load(port, requests, clients, bool(close))))
    else:
        for row in run():
            print(" | ".join(cell for cell in row.cells() if cell))
            for note in row.notes:
                print("   " + note)
