"""The staff console: what the people who run the assistant see (health, containment, ratings,
revenue through the assistant), the conversations, and the review inbox that teaches the bot.

A process of its own (``python -m bot.console``), for the vendor's staff only: it is never behind
the public balancer's frontend. It reads conversations from Rasa's tracker store and the gateway's
tables into its own index (``data/``), and billing through billing's API with a console-only token.
"""
