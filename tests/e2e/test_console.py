"""The staff console in a real browser (Debian's Chromium, driven by Playwright) against the session's
real stack: conversations held through Rasa, the action server and billing, indexed by the console's
own process (python -m bot.console, as make run starts it), sign-in through the mock OpenID provider
(tests/oidc_mock), every page, a reviewer labelling a review group into the reviewed-data file, a
viewer refused. Screenshots go to artifacts/console/ (gitignored)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.launch.runner import ROOT
from tests.e2e.test_widget import CHROMIUM_ARGS, assert_not_blank, browser  # noqa: F401 (a fixture)
from tests.e2e.widget_client import WidgetClient, signed_in
from tests.oidc_mock import OidcMock, Users

SHOTS = ROOT / "artifacts" / "console"
CLIENT_ID, CLIENT_SECRET, TEAM = "e2e.console", "e2e-console-client-secret-0123456789", "TVENDOR1"
PEOPLE = Users(team=TEAM).people
RATED = "could you put 2 more licenses on our plan please"
ODD = ("blorfle the quuxinator sideways", "zxqv wmbl prrt", "purple elephants sing opera at midnight", "hmm")

playwright_api = pytest.importorskip("playwright.sync_api")
assert CHROMIUM_ARGS  # the same flags as the widget's tests: headless, no sandbox, no GPU, no background traffic


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcMock]:
    with OidcMock(CLIENT_ID, CLIENT_SECRET, PEOPLE["admin"]) as mock:
        yield mock


@pytest.fixture(scope="module")
def console(stack, oidc, tmp_path_factory) -> Iterator[dict[str, object]]:
    """The console process beside the stack: its index in the stack's data folder, the stack's tracker
    and gateway databases, billing with the console's token, the mock provider for sign-in."""
    folder: Path = tmp_path_factory.mktemp("console")
    # the reviewed-data file beside a copy of the training data, as in nlu_data/ (a label must not repeat it)
    shutil.copytree(ROOT / "nlu_data", folder / "nlu_data", ignore=shutil.ignore_patterns("reviewed.yml"))
    env = {
        **stack.env(),
        "CONSOLE_OIDC_ISSUER": oidc.issuer,
        "CONSOLE_OIDC_CLIENT_ID": CLIENT_ID,
        "CONSOLE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CONSOLE_SLACK_TEAM": TEAM,
        "CONSOLE_ADMINS": PEOPLE["admin"].user_id,
        "CONSOLE_DATABASE_URL": f"sqlite:///{folder / 'console.sqlite3'}",
        "CONSOLE_REVIEWED_FILE": str(folder / "nlu_data" / "reviewed.yml"),
        "CONSOLE_TESTS_DIR": str(folder / "conversations"),
        "CONSOLE_INDEX_INTERVAL_S": "0.5",
    }
    service = stack.console_service(env)
    service.start()
    try:
        service.wait_ready(60)
        yield {
            "url": stack.console_url,
            "reviewed": folder / "nlu_data" / "reviewed.yml",
            "database": env["CONSOLE_DATABASE_URL"],
            "service": service,
        }
    finally:
        service.stop()


def sign_in(browser, console, oidc, role: str):
    """A browser context signed in as ``role``'s test person, through the page's own button."""
    oidc.reset(PEOPLE[role], redirect_uris=False)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{console['url']}/console/")
    assert "/console/signin" in page.url  # no session: the sign-in page
    page.click("#signin-slack")
    page.wait_for_url(f"{console['url']}/console/**")
    page.wait_for_selector("form.who")
    return context, page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert_not_blank(path)


def wait_for_one(page, url: str, texts: tuple[str, ...], timeout: float = 60) -> str:
    """The first of ``texts`` the page shows, reloading it until one appears."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        content = page.content()
        for text in texts:
            if text in content:
                return text
        if time.monotonic() > deadline:
            raise AssertionError(f"none of {texts} appeared at {url}")
        time.sleep(0.5)


def indexed(console, sender: str) -> list[tuple]:
    from sqlalchemy import create_engine, select

    from bot.console.data.tables import messages

    engine = create_engine(str(console["database"]))
    try:
        with engine.connect() as conn:
            columns = (messages.c.text, messages.c.intent, messages.c.confidence, messages.c.review)
            return [tuple(r) for r in conn.execute(select(*columns).where(messages.c.sender == sender))]
    finally:
        engine.dispose()


def wait_indexed(page, url: str, text: str) -> None:
    wait_for_one(page, url, (text,))


async def rate_not_helpful(gateway_url: str) -> None:
    """Priya, signed in on the widget, places an order and rates it not helpful: the messages of that
    task go to the review inbox (reason "Rated not helpful")."""
    async with WidgetClient(gateway_url, signed_in("priya@acme.example")) as client:
        await client.say(RATED)
        await client.press("Yes")
        [offer] = [f["rating"] for f in client.frames if f.get("rating")]
        await client.ws.send(json.dumps({"type": "rate", "offer": offer, "value": "not_helpful"}))
        assert "What went wrong?" in json.dumps(await client.next_frame(20))


def test_staff_sign_in_read_every_page_and_a_reviewer_labels(browser, console, oidc, chat, stack):
    alex = chat("alex")
    alex.text("send me last invoice")
    lost = chat(None)
    for odd in ODD:  # nothing the assistant knows: it may fall back or come out unsure (the review inbox)
        lost.text(odd)
    with ThreadPoolExecutor(1) as pool:  # and one that surely lands there (Playwright holds this thread's loop)
        pool.submit(asyncio.run, rate_not_helpful(stack.gateway_url)).result()

    admin_context, admin = sign_in(browser, console, oidc, "admin")
    base = f"{console['url']}/console"
    wait_indexed(admin, f"{base}/conversations", alex.sender)
    assert admin.locator("h1").inner_text() == "Conversations"
    shot(admin, "conversations")

    admin.goto(f"{base}/")
    assert admin.locator("svg.chart").count() == 6 and "How each figure is counted" in admin.content()
    shot(admin, "overview")

    admin.goto(f"{base}/conversations")
    admin.click(f"a[href='/console/conversations/{alex.sender}']")
    assert "send me last invoice" in admin.inner_text("ol.transcript")
    shot(admin, "transcript")

    for path, name in (("/export", "export"), ("/privacy", "privacy"), ("/staff", "staff")):
        admin.goto(base + path)
        assert admin.locator("h1").count() == 1
        shot(admin, name)

    # A reviewer: signs in (a viewer at first), the admin grants the role on the Staff page.
    reviewer_context, reviewer = sign_in(browser, console, oidc, "reviewer")
    admin.goto(f"{base}/staff")
    row = admin.locator("#people tr", has_text=PEOPLE["reviewer"].user_id)
    row.locator("select").select_option("reviewer")
    row.locator("button").click()
    admin.wait_for_selector("text=Role changed.")

    try:
        odd = wait_for_one(reviewer, f"{base}/review", (*ODD, RATED))
    except AssertionError as missing:  # say what the model made of them
        raise AssertionError(f"{missing}; indexed: {indexed(console, lost.sender)}") from None
    shot(reviewer, "review")
    group = reviewer.locator("form.label-form", has_text=odd)
    group.locator("select[name=intent]").select_option("add_licenses" if odd == RATED else "out_of_scope")
    group.locator("button[type=submit]").click()
    reviewer.wait_for_selector("#labelled")
    written = console["reviewed"].read_text()
    assert odd in written and ("add_licenses" if odd == RATED else "out_of_scope") in written
    shot(reviewer, "review-labelled")

    # A viewer sees the inbox, has no form, and a label posted anyway is refused with nothing written.
    viewer_context, viewer = sign_in(browser, console, oidc, "viewer")
    viewer.goto(f"{base}/review")
    assert viewer.locator("#viewer-note").is_visible() and viewer.locator("form.label-form").count() == 0
    csrf = viewer.locator("form.who input[name=csrf]").input_value()
    refused = viewer.request.post(
        f"{base}/review/label", form={"csrf": csrf, "intent": "greet", "message": "1"}, max_redirects=0
    )
    assert refused.status == 403
    assert console["reviewed"].read_text() == written
    shot(viewer, "review-as-viewer")
    for context in (admin_context, reviewer_context, viewer_context):
        context.close()


def test_a_customer_token_reaches_no_console_url(console, stack):
    import httpx

    from tests.console.web.test_access import DOWNLOADS, PAGES, POSTS, customer_credentials

    for way, headers in customer_credentials().items():
        with httpx.Client(base_url=console["url"], trust_env=False, headers=headers) as client:
            assert all(client.get(p).status_code == 303 for p in PAGES), way
            assert all(client.post(p).status_code == 401 for p in POSTS), way
            assert all(client.get(p).status_code == 401 for p in DOWNLOADS), way
    # and the public side never serves the console at all
    assert httpx.get(f"{stack.gateway_url}/console/", trust_env=False).status_code == 404
