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

from .catalogue import describe_magic_recipients
from .facade import BirdSandbox


def _status_delays(text: str) -> dict | None:
    """``off``, ``PROCESSING,SENT,DELIVERED`` seconds, or a JSON object naming some of them."""
    if text.strip().lower() == "off":
        return None
    try:
        if text.lstrip().startswith("{"):
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
        processing, sent, delivered = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected off, PROCESSING,SENT,DELIVERED seconds or a JSON object"
        ) from None
    return {"processing": processing, "sent": sent, "delivered": delivered}


def _json_object(text: str) -> dict:
    """A JSON object (``--listing``, ``--upload``)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a JSON object")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: expected a non-negative number of seconds")
    return value


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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["receive"]:
        return receive(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bird_sandbox",
        description="Serve a local Bird-compatible Channels API (SMS/MMS/templates). "
        "'receive --help' stores an inbound SMS in a running one instead.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    parser.add_argument(
        "--max-posts-per-second", type=int, default=None, help="per-workspace POST limit"
    )
    parser.add_argument(
        "--status-delays",
        type=_status_delays,
        default=argparse.SUPPRESS,
        metavar="P,S,D|off",
        help="seconds after acceptance at which messages become processing, sent, delivered "
        "(default 0.2,0.5,1.0; a JSON object may name some; off: they stay accepted)",
    )
    parser.add_argument(
        "--listing",
        type=_json_object,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help='how messages are listed, e.g. \'{"order": "oldest_first", "page_token_field": '
        'null, "full_last_page_token": false, "batch_filter": false, "other_channel": '
        '"empty"}\' (default: newest first, nextPageToken, a token after a full last page, '
        "filtered, another channel's message not found)",
    )
    parser.add_argument(
        "--upload",
        type=_json_object,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help='how presigned uploads answer, e.g. \'{"presign_status": 201, "upload_status": '
        '201, "media_host": "other"}\' (default: 200, 204, same)',
    )
    parser.add_argument(
        "--reply-delay",
        type=_non_negative,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="seconds after a message goes out at which the answering recipients answer "
        "(default 1.0)",
    )
    parser.add_argument(
        "--magic-recipients",
        action="store_true",
        help="print the magic recipients and how their messages end, then exit",
    )
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

    options = {}
    if "status_delays" in vars(args):
        options["status_delays"] = args.status_delays
    if "listing" in vars(args):
        options["listing"] = args.listing
    if "upload" in vars(args):
        options["upload"] = args.upload
    if "reply_delay" in vars(args):
        options["reply_delay"] = args.reply_delay
    try:
        sandbox = BirdSandbox(
            host=args.host,
            port=args.port,
            latency=args.latency,
            max_posts_per_second=args.max_posts_per_second,
            **options,
        )
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
