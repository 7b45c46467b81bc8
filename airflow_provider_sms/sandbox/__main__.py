"""``python -m airflow_provider_sms.sandbox``: run the Bird sandbox until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading

from .._net import is_loopback
from .server import BirdSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_sms.sandbox",
        description="Serve a local Bird-compatible Channels API (SMS/MMS/templates).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    parser.add_argument(
        "--max-posts-per-second", type=int, default=None, help="per-workspace POST limit"
    )
    args = parser.parse_args(argv)
    # The sandbox has a published access key and an unauthenticated control API; unlike
    # BirdSandbox(allow_non_loopback=True), the command line has no way around this.
    if not is_loopback(args.host):
        parser.error(f"refusing to listen on non-loopback host {args.host!r}")
    # The sandbox's own log (a client that reset its connection, say): one line each, on stderr.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    sandbox = BirdSandbox(
        host=args.host,
        port=args.port,
        latency=args.latency,
        max_posts_per_second=args.max_posts_per_second,
    )
    sandbox.start()
    name, value = sandbox.connection_env()
    print(f"Bird sandbox listening on {sandbox.base_url}", flush=True)
    print(f"export {name}={shlex.quote(value)}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    print("Bird sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
