"""``airflow bird webhooks ...``: Bird's webhook subscriptions for a connection, set up from
Airflow (Airflow 3.2 and later read a provider's commands; before, the same commands run as
``python -m airflow_provider_sms.webhooks.cli ...``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from airflow_provider_sms import DEFAULT_CONN_NAME
from airflow_provider_sms.bird.webhooks import EVENTS

_EVENTS = ",".join(EVENTS)
# (flags, argparse keywords) of each command's arguments, declared once for both parsers.
_ARGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "conn_id": (("--conn-id",), {"default": DEFAULT_CONN_NAME, "help": "the Bird connection"}),
    "channel_id": (
        ("--channel-id",),
        {"default": None, "help": "the channel; default the connection's channel_id"},
    ),
    "url": (
        ("--url",),
        {
            "default": None,
            "help": "the URL Bird calls; default extra.webhook_url, else [api] base_url + "
            "/bird/webhooks/<conn_id>",
        },
    ),
    "events": (
        ("--events",),
        {"default": _EVENTS, "help": f"comma-separated events (default {_EVENTS})"},
    ),
    "subscription_id": (("subscription_id",), {"help": "the subscription's id"}),
}
_COMMANDS = {
    "set-up": (
        "Subscribe the channel's events to this connection's receiver; what is already "
        "subscribed is left as it is",
        ("conn_id", "channel_id", "url", "events"),
    ),
    "list": ("List the workspace's webhook subscriptions", ("conn_id",)),
    "delete": ("Delete one webhook subscription", ("conn_id", "subscription_id")),
}


def set_up(args: argparse.Namespace) -> None:
    from airflow_provider_sms.hooks.bird import BirdHook

    events = [e.strip() for e in args.events.split(",") if e.strip()]
    with BirdHook(args.conn_id) as hook:
        url = args.url or hook.webhook_url()
        channel = hook.channel_id(args.channel_id)
        for entry in hook.set_up_webhooks(events, channel_id=channel, url=url):
            did = "created" if entry["created"] else "already there"
            print(f"{entry['event']} on channel {channel} -> {url}: {did} ({entry['id']})")


def list_subscriptions(args: argparse.Namespace) -> None:
    from airflow_provider_sms.hooks.bird import BirdHook

    with BirdHook(args.conn_id) as hook:
        found = hook.webhook_subscriptions()
    for item in found:
        filters = ", ".join(
            f"{f.get('key')}={f.get('value')}" for f in item.get("eventFilters") or ()
        )
        print(f"{item.get('id')}  {item.get('event')}  {item.get('url')}  [{filters}]")
    print(f"{len(found)} subscription(s)")


def delete(args: argparse.Namespace) -> None:
    from airflow_provider_sms.hooks.bird import BirdHook

    with BirdHook(args.conn_id) as hook:
        hook.delete_webhook_subscription(args.subscription_id)
    print(f"deleted {args.subscription_id}")


_ACTIONS = {"set-up": set_up, "list": list_subscriptions, "delete": delete}


def get_bird_cli_commands() -> list:
    """The provider's commands, for Airflow's CLI (the provider info's ``cli``)."""
    from airflow_provider_sms.compat import ActionCommand, Arg, GroupCommand, lazy_load_command

    def arg(name: str) -> Any:
        flags, keywords = _ARGS[name]
        return Arg(flags, **keywords)

    webhooks = [
        ActionCommand(
            name=name,
            help=text,
            func=lazy_load_command(f"{__name__}.{_ACTIONS[name].__name__}"),
            args=tuple(arg(a) for a in names),
        )
        for name, (text, names) in _COMMANDS.items()
    ]
    group = GroupCommand(name="webhooks", help="Bird's webhook subscriptions", subcommands=webhooks)
    return [GroupCommand(name="bird", help="Bird (SMS) commands", subcommands=[group])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_sms.webhooks.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (text, names) in _COMMANDS.items():
        command = commands.add_parser(name, help=text)
        for a in names:
            flags, keywords = _ARGS[a]
            command.add_argument(*flags, **keywords)
        command.set_defaults(func=_ACTIONS[name])
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
