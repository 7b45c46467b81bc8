"""``python -m bird_sandbox``: run the Bird sandbox until SIGINT/SIGTERM.

``python -m bird_sandbox receive --url URL --from NUMBER TEXT`` instead
stores an inbound SMS in a running sandbox (through its control API) and prints it. The word
``receive`` must come first; without it, every argument is the server's, as before."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shlex
import signal
import sys
import threading
import urllib.error
import urllib.request

from airflow_provider_sms.loopback import is_loopback

from . import settings
from .catalogue import describe_magic_recipients
from .facade import BirdSandbox


def _flag_type(setting: settings.Setting):
    """The setting's command-line parser, its ValueError as argparse's own error."""

    def parse(text: str):
        try:
            return setting.cli.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def receive(argv: list[str]) -> int:
    """The ``receive`` command: POST /_sandbox/inbound on a running sandbox."""
    parser = argparse.ArgumentParser(
        prog="python -m bird_sandbox receive",
        description="Store an inbound SMS in a running Bird sandbox and print it (JSON).",
    )
    parser.add_argument("--url", required=True, help="the sandbox's base URL")
    parser.add_argument("--from", dest="from_number", required=True, metavar="NUMBER", help="E.164")
    parser.add_argument("--channel", default=None, help="channel id (default: the MMS channel)")
    parser.add_argument("text", help="the message's text")
    args = parser.parse_args(argv)
    body = {"from": args.from_number, "text": args.text}
    if args.channel is not None:
        body["channel_id"] = args.channel
    request = urllib.request.Request(
        args.url.rstrip("/") + "/_sandbox/inbound",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            message = json.load(answer)
    except urllib.error.HTTPError as exc:
        try:
            error = json.load(exc).get("message", "")
        except ValueError:
            error = ""
        print(f"the sandbox answered {exc.code}: {error}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"cannot reach the sandbox at {args.url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(message, indent=2))
    return 0


def server_parser() -> argparse.ArgumentParser:
    """The server's command line: where to listen, and a flag for each setting."""
    parser = argparse.ArgumentParser(
        prog="python -m bird_sandbox",
        description="Serve a local Bird-compatible Channels API (SMS/MMS/templates). "
        "'receive --help' stores an inbound SMS in a running one instead.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    for setting in settings.SETTINGS:
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            type=_flag_type(setting),
            default=argparse.SUPPRESS,
            metavar=setting.cli.metavar,
            help=setting.cli.help,
        )
    parser.add_argument(
        "--magic-recipients",
        action="store_true",
        help="print the magic recipients and how their messages end, then exit",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["receive"]:
        return receive(argv[1:])
    parser = server_parser()
    args = parser.parse_args(argv)
    if args.magic_recipients:
        print(describe_magic_recipients())
        return 0
    # The sandbox has a published access key and an unauthenticated control API; unlike
    # BirdSandbox(allow_non_loopback=True), the command line has no way around this.
    if not is_loopback(args.host):
        parser.error(f"refusing to listen on non-loopback host {args.host!r}")
    # The sandbox's own log (a client that reset its connection, say): one line each, on stderr.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    given = {name: value for name, value in vars(args).items() if name in settings.BY_NAME}
    try:
        sandbox = BirdSandbox(host=args.host, port=args.port, **given)
    except ValueError as exc:
        parser.error(str(exc))
    sandbox.start()
    name, value = sandbox.connection_env()
    print(f"Bird sandbox listening on {sandbox.base_url}", flush=True)
    print(f"export {name}={shlex.quote(value)}", flush=True)
    try:
        # The sandbox keeps every request and message it served, and each full collection of
        # Python's cyclic GC walks them all: at 20,000 requests its pauses bunched the requests
        # waiting meanwhile into a burst that the per-second count refused with 429s no client
        # had earned. What has lived half a second is left out of the walks (reference
        # counting still frees it).
        while not stop.wait(0.5):
            gc.freeze()
    finally:
        sandbox.stop()
    print("Bird sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
