"""On the trained model: questions the FAQ answers better than a form reach the FAQ answer."""

from __future__ import annotations

import asyncio

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "what time does customer support open on mondays?",
        "is your support team around on saturdays",
        "till what time can I reach support today",
    ],
)
def test_when_support_is_open_is_the_hours_answer_not_a_case(trained_agent, text: str) -> None:
    """The hours answer states the support queue's hours (bot/actions/faq.py); the support form
    would only give the phone number and ask for a problem to open a case about."""
    parsed = asyncio.run(trained_agent.parse_message(text))
    assert parsed["intent"]["name"] == "faq", parsed["intent"]
    assert parsed["response_selector"]["faq"]["response"]["intent_response_key"] == "faq/hours"
