#!/usr/bin/env python3
"""Idle mutual-TLS HTTP/2 connections and the server's RSS per connection (issue 14's memory figure).

Opens COUNT connections to HOST:PORT with a client certificate (asyncio + ssl, ALPN h2), completes the TLS handshake,
sends the HTTP/2 client preface + an empty SETTINGS frame, waits for the server's SETTINGS and the ACK of ours, ACKs
the server's, and then leaves every connection idle. The server's VmRSS (/proc/PID/status) is read before the first
connection and again SETTLE seconds after the last one; (after - before) / established is the figure.

The client is PROCESSES processes (2: Python's TLS handshakes cost more than the server's), each from its own loopback
source address (127.0.0.2, 127.0.0.3, ...), each with at most CONCURRENCY handshakes at a time (the gateway admits 32
handshaking sockets per client address).
Prints a human line and one `BENCH tool=idle ...` line for scripts/bench/issue14.py. Stops by itself: every step has
a timeout, and all connections are closed at the end.
"""
import argparse
import asyncio
import multiprocessing
import resource
import ssl
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, PING, FLAG_ACK = 4, 6, 1


def frame(kind, flags, payload=b"", stream=0):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


keepers = []


async def keep(reader, writer):
    """Idle, but polite: answers the server's keepalive PINGs (it closes connections that do not) until EOF."""
    try:
        while True:
            header = await reader.readexactly(9)
            length = int.from_bytes(header[0:3], "big")
            payload = await reader.readexactly(length) if length else b""
            if header[3] == PING and not header[4] & FLAG_ACK:
                writer.write(frame(PING, FLAG_ACK, payload))
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass


async def open_one(args, source, context, connections, failures, gate):
    async with gate:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, ssl=context, server_hostname="localhost",
                                        local_addr=(source, 0)), args.timeout)
        except Exception as error:  # noqa: BLE001 - counted, reported once
            failures.append(f"connect: {error!r}")
            return
        try:
            if writer.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
                raise RuntimeError("ALPN did not select h2")
            writer.write(PREFACE + frame(SETTINGS, 0))
            server_settings = settings_acked = False
            while not (server_settings and settings_acked):
                header = await asyncio.wait_for(reader.readexactly(9), args.timeout)
                length = int.from_bytes(header[0:3], "big")
                kind, flags = header[3], header[4]
                if length:
                    await asyncio.wait_for(reader.readexactly(length), args.timeout)
                if kind == SETTINGS and flags & FLAG_ACK:
                    settings_acked = True
                elif kind == SETTINGS:
                    server_settings = True
                    writer.write(frame(SETTINGS, FLAG_ACK))
            await writer.drain()
            connections.append((reader, writer))
            keepers.append(asyncio.ensure_future(keep(reader, writer)))
        except Exception as error:  # noqa: BLE001
            failures.append(f"h2 preface: {error!r}")
            writer.close()


def parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's PID (its VmRSS is measured)")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="handshakes in flight per process")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before the second RSS reading")
    parser.add_argument("--timeout", type=float, default=30.0)
    return parser.parse_args()


async def worker_main(args, index, count, pipe):
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    context.check_hostname = False  # the chain is verified; the name is the gateway's business
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["h2"])
    source = f"127.0.0.{2 + index}"
    connections, failures = [], []
    gate = asyncio.Semaphore(args.concurrency)
    await asyncio.gather(*(open_one(args, source, context, connections, failures, gate) for _ in range(count)))
    loop = asyncio.get_running_loop()
    pipe.send(("established", len(connections), failures[:1], len(failures)))
    await loop.run_in_executor(None, pipe.recv)  # "report"
    pipe.send(("alive", sum(1 for task in keepers if not task.done())))
    await loop.run_in_executor(None, pipe.recv)  # "close"
    for _, writer in connections:
        writer.close()
    for task in keepers:
        task.cancel()
    await asyncio.sleep(0.2)


def worker(args, index, count, pipe):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, count + 256):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    asyncio.run(worker_main(args, index, count, pipe))


def main():
    args = parse()
    shares = [args.count // args.processes + (1 if i < args.count % args.processes else 0)
              for i in range(args.processes)]
    before = vm_rss_kib(args.pid)
    started = time.monotonic()
    pipes, workers = [], []
    for index, share in enumerate(shares):
        parent, child = multiprocessing.Pipe()
        process = multiprocessing.Process(target=worker, args=(args, index, share, child), daemon=True)
        process.start()
        pipes.append(parent)
        workers.append(process)
    established, failed, first_failure = 0, 0, None
    for pipe in pipes:
        if not pipe.poll(args.timeout * (args.count / max(1, args.concurrency)) + 60):
            sys.exit("idle_conns: a client process did not finish connecting")
        _, count, first, failures = pipe.recv()
        established += count
        failed += failures
        first_failure = first_failure or (first[0] if first else None)
    opened = time.monotonic() - started
    time.sleep(args.settle)
    after = vm_rss_kib(args.pid)
    alive = 0
    for pipe in pipes:
        pipe.send("report")
        alive += pipe.recv()[1]
    per = (after - before) / established if established else float("nan")
    print(
        f"idle mTLS+h2 connections: {established}/{args.count} established in {opened:.1f} s, {alive} still open after "
        f"{args.settle:.0f} s; server VmRSS {before} KiB -> {after} KiB = {per:.1f} KiB per connection", flush=True)
    if failed:
        print(f"  {failed} failed, first: {first_failure}")
    print(
        f"BENCH tool=idle conns={args.count} established={established} alive={alive} rss_before_kib={before} "
        f"rss_after_kib={after} kib_per_conn={per:.2f}", flush=True)
    for pipe in pipes:
        pipe.send("close")
    for process in workers:
        process.join(30)


if __name__ == "__main__":
    main()
