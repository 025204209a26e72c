"""The HTTP API on a real socket: status codes, bodies, and the database state they leave."""

import io
from datetime import timedelta

import httpx
import pytest
from pypdf import PdfReader

from bot.billing.adapters.orm import AuditEntry, Order
from tests.billing.helpers import count, quantity
from tests.conftest import SERVICE_TOKEN


@pytest.fixture
def api(billing_server, db):
    def client(user: str | None = "alex@acme.example", token: str = SERVICE_TOKEN) -> httpx.Client:
        headers = {"X-Channel": "test"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if user:
            headers["X-Acting-User"] = user
        return httpx.Client(base_url=billing_server.url, headers=headers, timeout=10)

    return client


def test_catalog_is_public_with_prices_in_minor_units(billing_server, db):
    r = httpx.get(f"{billing_server.url}/v1/catalog", params={"currency": "EUR"})
    assert r.status_code == 200
    products = {p["code"]: p for p in r.json()}
    assert set(products) >= {
        "essentials",
        "professional",
        "enterprise",
        "unlimited",
        "data_storage",
        "file_storage",
        "inbox",
        "dialer",
    }
    assert products["enterprise"]["price"] == {"amount": 15000, "currency": "EUR", "formatted": "€150.00"}
    assert products["essentials"]["max_quantity"] == 10
    r = httpx.get(f"{billing_server.url}/v1/catalog/estimate", params={"product": "enterprise", "quantity": 40})
    assert r.json()["monthly"]["formatted"] == "$6,600.00" and r.json()["annual"]["amount"] == 7_920_000
    assert httpx.get(f"{billing_server.url}/v1/catalog", params={"currency": "XYZ"}).status_code == 422
    assert (
        httpx.get(f"{billing_server.url}/v1/catalog/estimate", params={"product": "nope", "quantity": 1}).status_code
        == 404
    )


def test_a_service_token_is_required(api):
    assert api(token="wrong").get("/v1/me").status_code == 401
    r = api(token="").get("/v1/invoices")
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_service_token"


def test_me_shows_lines_only_to_billing_users(api):
    alex = api().get("/v1/me").json()
    assert (alex["org"], alex["edition"], alex["manage_billing"]) == ("Acme Corp", "Enterprise", True)
    assert {line["product"]: line["quantity"] for line in alex["contract"]["lines"]}["enterprise"] == 40
    sam = api("sam@acme.example").get("/v1/me").json()
    assert sam["contract"] is None and sam["admins"][0]["email"] == "alex@acme.example"
    r = api("nobody@nowhere.example").get("/v1/me")
    assert r.status_code == 403 and r.json()["error"]["code"] == "unknown_user"


def test_quote_then_order_with_idempotency_key(api, db):
    c = api()
    r = c.post("/v1/quotes/add-licenses", json={"quantity": 5, "product": "enterprise"})
    assert r.status_code == 201
    q = r.json()
    assert q["quantity"] == 5 and q["unit_price"]["formatted"] == "$165.00" and q["status"] == "open"
    assert q["new_monthly_total"]["amount"] == 747500 + 5 * 16500
    headers = {"Idempotency-Key": q["idempotency_key"]}
    first = c.post("/v1/orders", json={"quote": q["number"]}, headers=headers)
    again = c.post("/v1/orders", json={"quote": q["number"]}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert first.json()["invoice"]["total"] == q["prorated_amount"]
    assert first.json()["resulting_quantity"] == 45
    assert quantity(db, "Acme Corp", "enterprise") == 45 and count(db, Order) == 1
    assert c.get(f"/v1/quotes/{q['number']}").json()["status"] == "ordered"
    assert c.get(f"/v1/orders/{first.json()['number']}").json()["quote"]["number"] == q["number"]


def test_an_order_needs_an_idempotency_key(api, db):
    c = api()
    q = c.post("/v1/quotes/add-licenses", json={"quantity": 1, "product": "enterprise"}).json()
    r = c.post("/v1/orders", json={"quote": q["number"]})
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["error"]["details"]["fields"]
    assert count(db, Order) == 0


@pytest.mark.parametrize("body", [{"quantity": 0}, {"quantity": "5"}, {"quantity": 1.5}, {"quantity": 10001}, {}])
def test_bad_input_is_422_with_field_errors_and_writes_nothing(api, db, body):
    before = count(db, AuditEntry)
    r = api().post("/v1/quotes/add-licenses", json={"product": "enterprise", **body})
    assert r.status_code == 422
    assert "quantity" in r.json()["error"]["details"]["fields"]
    assert count(db, AuditEntry) == before


def test_ambiguous_product_is_a_question_not_an_error_page(api):
    r = api().post("/v1/quotes/add-licenses", json={"quantity": 5})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "ambiguous_product" and "dialer" in err["details"]["fields"]["product"]


def test_forbidden_names_who_can_grant_manage_billing(api, db):
    r = api("sam@acme.example").post("/v1/invoices/INV-1041/payments", headers={"Idempotency-Key": "k"})
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "needs_manage_billing"
    assert err["details"]["admins"] == [{"name": "Alex Rivera", "email": "alex@acme.example"}]
    assert api().get("/v1/invoices/INV-1041").json()["status"] == "open"


def test_invoices_list_filters_and_unknown_is_404(api):
    c = api()
    listed = c.get("/v1/invoices").json()
    assert [i["number"] for i in listed] == ["INV-1042", "INV-1041", "INV-1040", "INV-1039"]
    overdue = c.get("/v1/invoices", params={"status": "overdue"}).json()
    assert [i["number"] for i in overdue] == ["INV-1041"] and overdue[0]["overdue"] is True
    assert c.get("/v1/invoices", params={"status": "bogus"}).status_code == 422
    assert c.get("/v1/invoices/INV-9999").status_code == 404
    assert api("olivia@bluebird.example").get("/v1/invoices/INV-1042").status_code == 404


def test_download_link_serves_the_pdf_until_it_expires(api, billing_server):
    link = api().post("/v1/invoices/INV-1042/download-link").json()
    r = httpx.get(link["url"])  # no token: the link is the permission
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "INV-1042" in text and "Acme Corp" in text
    bad = link["url"][:-3] + "xyz"
    assert httpx.get(bad).status_code == 403


def test_pay_an_invoice_once(api, db):
    c = api()
    first = c.post("/v1/invoices/INV-1041/payments", headers={"Idempotency-Key": "pay-a"})
    second = c.post("/v1/invoices/INV-1041/payments", headers={"Idempotency-Key": "pay-b"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["number"] == second.json()["number"] and first.json()["card"] == "visa 4242"
    balance = c.get("/v1/balance").json()
    assert [i["number"] for i in balance["open_invoices"]] == ["INV-1042"]
    assert balance["overdue_total"]["amount"] == 0


def test_upgrade_from_essentials_returns_a_handoff(api, db):
    r = api("olivia@bluebird.example").post("/v1/upgrades", json={"edition": "enterprise"})
    assert r.status_code == 201
    body = r.json()
    assert body["outcome"] == "handoff" and body["quote"] is None
    assert body["handoff"]["queue"] == "sales" and body["handoff"]["edition"] == "Essentials"
    assert quantity(db, "Bluebird Bakery", "essentials") == 6


def test_billing_profile_update_validates_every_field_first(api):
    c = api()
    r = c.patch("/v1/billing-profile", json={"contact_email": "not-an-email", "city": "Oakland"})
    assert r.status_code == 422 and "contact_email" in r.json()["error"]["details"]["fields"]
    assert c.get("/v1/billing-profile").json()["city"] == "San Francisco"
    r = c.patch(
        "/v1/billing-profile",
        json={"contact_email": "AP@Acme.Example", "city": "Oakland", "contact_phone": "(415) 555-0199"},
    )
    assert r.status_code == 200
    assert (r.json()["contact_email"], r.json()["city"], r.json()["contact_phone"]) == (
        "ap@acme.example",
        "Oakland",
        "+14155550199",
    )


def test_cases_handoffs_and_callbacks(api, db, clock):
    c = api("sam@acme.example")  # any member may open a support case
    case = c.post("/v1/cases", json={"subject": "Can't log in", "description": "SSO loop since Monday"})
    assert case.status_code == 201 and case.json()["number"].startswith("CS-")
    assert c.get(f"/v1/cases/{case.json()['number']}").json()["status"] == "new"
    assert api("olivia@bluebird.example").get(f"/v1/cases/{case.json()['number']}").status_code == 404
    lead = {"name": "Jo Visitor", "email": "jo@prospect.example", "company": "Prospect", "phone": "+44 20 7946 0958"}
    h = api(user=None).post(
        "/v1/handoffs",
        json={
            "queue": "sales",
            "reason": "Pricing for 40 users",
            "lead": lead,
            "page_url": "https://vendor.example/pricing",
            "conversation_id": "visitor-abc",
        },
    )
    assert h.status_code == 201 and h.json()["lead_phone"] == "+442079460958" and h.json()["org_id"] is None
    number = h.json()["number"]
    # A visitor's handoff is visible only with its conversation id: not to guessers, not to customers.
    assert api(user=None).get(f"/v1/handoffs/{number}").status_code == 404
    assert api(user=None).get(f"/v1/handoffs/{number}", params={"conversation_id": "visitor-x"}).status_code == 404
    assert api().get(f"/v1/handoffs/{number}").status_code == 404
    assert api(user=None).get(f"/v1/handoffs/{number}", params={"conversation_id": "visitor-abc"}).status_code == 200
    acme = api("sam@acme.example").post("/v1/handoffs", json={"queue": "support", "reason": "Help"}).json()
    assert api().get(f"/v1/handoffs/{acme['number']}").status_code == 200  # same org
    assert api("olivia@bluebird.example").get(f"/v1/handoffs/{acme['number']}").status_code == 404
    bad = api(user=None).post("/v1/handoffs", json={"queue": "sales", "reason": "x", "lead": {**lead, "email": "nope"}})
    assert bad.status_code == 422
    tomorrow = clock.today() + timedelta(days=1)
    cb = api(user=None).post(
        "/v1/callbacks",
        json={
            "queue": "sales",
            "name": "Jo Visitor",
            "phone": "415-555-0100",
            "timezone": "America/Los_Angeles",
            "window_start": f"{tomorrow}T09:00:00-08:00",
            "window_end": f"{tomorrow}T11:00:00-08:00",
            "handoff": number,
            "conversation_id": "visitor-abc",
        },
    )
    assert cb.status_code == 201 and cb.json()["phone"] == "+14155550100"
    past = api(user=None).post(
        "/v1/callbacks",
        json={
            "name": "Jo",
            "phone": "+14155550100",
            "timezone": "Mars/Olympus",
            "window_start": "2020-01-01T09:00:00Z",
            "window_end": "2020-01-01T08:00:00Z",
        },
    )
    assert past.status_code == 422 and set(past.json()["error"]["details"]["fields"]) == {"timezone", "window"}


def test_openapi_describes_the_v1_api(billing_server, db):
    spec = httpx.get(f"{billing_server.url}/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/v1/catalog",
        "/v1/quotes/add-licenses",
        "/v1/orders",
        "/v1/invoices/{number}/payments",
        "/v1/balance",
        "/v1/handoffs",
        "/v1/callbacks",
        "/v1/payment-method/link",
    } <= paths


def test_users_update_their_own_contact_details(api, db):
    c = api("sam@acme.example")  # no Manage Billing needed for one's own details
    r = c.patch("/v1/me", json={"phone": "415 555 0142"})
    assert r.status_code == 200 and r.json()["phone"] == "+14155550142" and r.json()["name"] == "Sam Lee"
    bad = c.patch("/v1/me", json={"name": "  ", "phone": "12"})
    assert bad.status_code == 422 and set(bad.json()["error"]["details"]["fields"]) == {"name", "phone"}
    assert c.get("/v1/me").json()["name"] == "Sam Lee"


def test_a_double_click_on_yes_over_http_places_one_order(api, db):
    from concurrent.futures import ThreadPoolExecutor

    q = api().post("/v1/quotes/add-licenses", json={"quantity": 3, "product": "enterprise"}).json()

    def click(_):
        with api() as c:
            return c.post("/v1/orders", json={"quote": q["number"]}, headers={"Idempotency-Key": q["idempotency_key"]})

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(click, range(6)))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert len({r.json()["number"] for r in answers}) == 1
    assert quantity(db, "Acme Corp", "enterprise") == 43 and count(db, Order) == 1


def test_a_note_added_to_a_case_follows_its_description(api, db):
    c = api("sam@acme.example")
    number = c.post(
        "/v1/cases", json={"subject": "Charged twice", "description": "Our last invoice charged us twice"}
    ).json()["number"]
    added = c.post(f"/v1/cases/{number}/notes", json={"text": "INV-1046 was charged twice"})
    assert added.status_code == 200, added.text
    assert (
        added.json()["description"]
        == "Our last invoice charged us twice\n\nAdded by Sam Lee: INV-1046 was charged twice"
    )
    assert api("olivia@bluebird.example").post(f"/v1/cases/{number}/notes", json={"text": "hi"}).status_code == 404
    assert c.post(f"/v1/cases/{number}/notes", json={"text": "  "}).status_code == 422
