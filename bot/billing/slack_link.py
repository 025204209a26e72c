"""Link a Slack workspace to an org by hand (one workspace, no OAuth install):

    python -m bot.billing.slack_link link "Acme Corp" T0123ABCD
    python -m bot.billing.slack_link unlink "Acme Corp" T0123ABCD
    python -m bot.billing.slack_link list

A Slack user acts for their org only from a workspace linked to it. With the OAuth install
(SLACK_CLIENT_ID), the installing system administrator's workspace is linked automatically. The
team id is in the workspace's URL in a browser (app.slack.com/client/T0123ABCD/...) or in
``auth.test``'s answer. Uses DATABASE_URL, like the billing server.
"""

from __future__ import annotations

import argparse
import sys

from .adapters.db import Database
from .clock import clock_from_settings
from .config import get_settings
from .domain.errors import BillingError
from .migrate import upgrade
from .services import workspaces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.billing.slack_link", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("link", "unlink"):
        command = sub.add_parser(name)
        command.add_argument("org", help="the org's name, as in billing")
        command.add_argument("team", help="the Slack team id, e.g. T0123ABCD")
    sub.add_parser("list")
    args = parser.parse_args(argv)

    settings = get_settings()
    url = settings.database_url
    upgrade(url)
    db = Database.connect(url, clock=clock_from_settings(settings))
    try:
        with db.session(write=args.command != "list") as s:
            if args.command == "link":
                linked = workspaces.link_org(s, args.org, args.team)
                done = "linked to" if linked.created else "was already linked to"
                print(f"{linked.team_id} {done} {linked.org.name}")
            elif args.command == "unlink":
                gone = workspaces.unlink_org(s, args.org, args.team)
                print(f"{args.team} {'unlinked from' if gone else 'was not linked to'} {args.org}")
            else:
                for org, team, by in workspaces.all_links(s):
                    print(f"{team}\t{org}\t(linked by {by})")
    except BillingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
