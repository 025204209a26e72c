"""The gateway: everything that faces a channel (Slack, the web widget, the human handoff
bridge). It verifies who the user is and is the only thing that talks to Rasa.

Layout:
    config.py   settings from the environment
    rasa.py     the bridge to Rasa's gateway channel (one ordered turn at a time per sender)
    state.py    durable gateway state (dedupe keys), SQLite on a laptop, PostgreSQL in production
    app.py      the ASGI app: health, and each channel's routes (slack/, widget/, handoff/)
"""
