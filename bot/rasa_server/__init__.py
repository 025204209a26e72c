"""Rasa and its extensions: `python -m bot.rasa_server` starts Rasa with the patches in patches/
applied; channel.py is the input channel the gateway talks to; tracker_store.py the tracker stores
the endpoints files name."""
