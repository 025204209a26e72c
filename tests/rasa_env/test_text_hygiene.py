"""The text normaliser (bot/nlu/text_hygiene.py) in the Rasa environment, where Rasa's gateway
channel runs it as a second guard: it must decide every character as the gateway (the app
environment, a newer Python with newer Unicode tables) does, or a message the gateway let through
could be changed again, or an emoji split, on the way in."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.nlu.text_hygiene import clean

from .conftest import APP_PYTHON, ROOT

# Every code point alone, between two letters and between two emoji: a digest of what is kept.
DIGEST = """
import hashlib
from bot.nlu.text_hygiene import clean
h = hashlib.sha256()
for cp in range(0x110000):
    ch = chr(cp)
    for text in (ch, "a" + ch + "b", "\\U0001F44D" + ch + "\\U0001F44D", "\\u0628" + ch + "\\u0628"):
        h.update(clean(text).encode("utf-8", "surrogatepass") + b"\\0")
print(h.hexdigest())
"""


def test_the_gateway_and_rasa_clean_every_character_alike():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    here, there = (
        subprocess.run(
            [python, "-c", DIGEST], capture_output=True, text=True, check=True, cwd=ROOT, env=env, timeout=300
        ).stdout
        for python in (sys.executable, str(APP_PYTHON))
    )
    assert here.strip() and here == there


def test_invisible_text_is_no_text_and_emoji_survive_here_too():
    for junk in ("\u200b", "\u2060\ufeff", "\u00ad", "\u202e\u2066\u2069", "\ufe0f", "\u3164", "\ud800", "\x00 \t"):
        assert clean(junk) == "", repr(junk)
    # newer emoji than this Python's Unicode tables know (unassigned here), ZWJ and all
    for emoji in ("🫱🏻‍🫲🏿", "🐦‍🔥", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "#️⃣"):
        assert clean(emoji) == emoji
