"""`make shell` shows the bot's replies as a terminal should: links whole and with their address,
no Markdown markup (a newcomer's finding: a wrapped download link copied as a broken URL, 403)."""

from __future__ import annotations

from bot.launch.shell import show, terminal_text

LINK = "http://127.0.0.1:8001/v1/invoice-files/eyJhbGciOiJIUzI1NiJ9.eyJpbnZvaWNlIjoiSU5WLTEwNDIiLCJleHAiOjE3NjV9.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZw"


def test_a_long_link_is_printed_whole_on_one_line(capsys):
    show(
        [
            {
                "text": f"Here is INV-1042, issued Dec 2, 2026: $452.05, open. Download the PDF (valid 15 minutes): "
                f"[INV-1042.pdf]({LINK})"
            }
        ],
        styled=False,
    )
    printed = capsys.readouterr().out
    assert any(LINK in line for line in printed.splitlines()), printed  # whole, on one line
    assert (
        "[" not in printed
        and "](" not in printed
        and all(len(line) <= 100 or LINK in line for line in printed.splitlines())
    )


def test_markup_becomes_plain_text_or_terminal_bold():
    text = (
        "*INV-1041*, $789.04, **overdue**. Call [1-800-667-6389](tel:18006676389) "
        "or mail [ap@acme.example](mailto:ap@acme.example)."
    )
    plain = terminal_text(text, styled=False)
    assert plain == "INV-1041, $789.04, overdue. Call 1-800-667-6389 or mail ap@acme.example."
    styled = terminal_text(text, styled=True)
    assert "\033[1mINV-1041\033[0m" in styled and "\033[1moverdue\033[0m" in styled
    assert terminal_text("2 * 3 * 4 and a*b", styled=False) == "2 * 3 * 4 and a*b"  # not emphasis
