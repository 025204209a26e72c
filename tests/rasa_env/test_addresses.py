"""bot/nlu/addresses.py: a whole address in one message, and what is not one."""

from __future__ import annotations

import pytest

from bot.nlu.addresses import Address, address_in


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "we moved, new billing address is 200 Congress Ave, Suite 300, Austin, TX 78701, US",
            Address("200 Congress Ave, Suite 300", "Austin, TX", "78701", "US"),
        ),
        (
            "change our billing address to 500 Market Street, San Francisco, CA 94105",
            Address("500 Market Street", "San Francisco, CA", "94105", None),
        ),
        (
            "new address: 12 Harcourt St, Floor 2, Dublin, D02 X285, Ireland",
            Address("12 Harcourt St, Floor 2", "Dublin", "D02 X285", "Ireland"),
        ),
        ("1 Poultry, London, EC2R 8EJ, UK", Address("1 Poultry", "London", "EC2R 8EJ", "UK")),
        (
            "address is 88 Queen St W, Toronto, ON M5H 2N2, Canada",
            Address("88 Queen St W", "Toronto, ON", "M5H 2N2", "Canada"),
        ),
        ("Hauptstrasse 5, 10115 Berlin", None),  # street number last: left to the questions
    ],
)
def test_a_whole_address_is_split_into_the_forms_parts(text, expected):
    assert address_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "change the billing address",
        "we moved",
        "500 Market Street",  # the street alone: the form asks the rest
        "Austin, TX",
        "pay INV-1042, 5 licenses, 3 dialer",
        "my number is 415 555 0199, call me tomorrow",
    ],
)
def test_anything_less_is_no_address(text):
    assert address_in(text) is None
