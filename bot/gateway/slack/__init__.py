"""The assistant in Slack (slack-bolt ``AsyncApp``): DMs and @mentions, buttons, the App Home
tab and the ``/account`` command. ``mount(app, gw)`` adds the routes when SLACK_* settings are
given; with none, Slack is simply off. The local mock of Slack's Web API that the tests and the
bench talk to is tests/slack_mock/, the Slack load figures tests/bench/slack_load.py.

    wiring.py    the bolt app, modes (one workspace / OAuth, HTTP / Socket Mode), routes, signatures
    shape.py     signed requests not shaped like Slack's are refused (400) before bolt parses them
    install.py   OAuth installation and state stores on the gateway database
    events.py    messages and @mentions -> turns (what is ignored, and why)
    clicks.py    button clicks (message buttons, App Home buttons, rating buttons)
    rating.py    ratings in Slack: the offer after a task, taps, the comment after "not helpful"
    command.py   /account
    home.py      the App Home tab
    turns.py     one turn after the ack: dedupe, identity, Rasa, replies (ordered per user)
    identity.py  users.info email (cached) and whether billing knows it
    privacy.py   which replies hold account data (those go to a DM)
    blocks.py    Block Kit: Rasa messages as blocks, Slack text as plain text
    outbox.py    posts queued per channel (429 Retry-After honoured, for up to 5 minutes a message)
    manifest.yml the Slack app manifest
"""

from __future__ import annotations

from .wiring import SlackChannel, SlackConfigError, mount

__all__ = ["SlackChannel", "SlackConfigError", "mount"]
