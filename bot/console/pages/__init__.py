"""The console's pages, one module each: the overview, conversations and transcripts, the review
inbox, CSV downloads, a customer's data (admins) and staff roles (admins)."""

from __future__ import annotations

from fastapi import FastAPI

from . import conversations, export, overview, privacy, review, staff


def mount_pages(app: FastAPI) -> None:
    for module in (overview, conversations, review, export, privacy, staff):
        app.include_router(module.router)
