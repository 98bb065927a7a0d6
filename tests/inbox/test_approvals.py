"""The approval queue (待审批): extension requests and replies awaiting sign-off, per role and
department; deciding an extension from the queue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import walk
from tickets import services
from tickets.models import ExtensionRequest, Ticket
from tickets.models_public import PublicRecord
from tickets.selectors_case import approvals_count, pending_extensions, pending_sign_offs
from tickets.services.extensions import ticket_extension_request


@pytest.fixture
def waiting(
    make_ticket: Any, cast: dict[str, Any], departments: Any, settings: Any
) -> dict[str, Any]:
    """In each bureau: one case with an extension request, one replied case whose public
    record waits for sign-off."""
    settings.PUBLIC_AUTO_PUBLISH = False

    def in_progress(bureau: str, title: str) -> Ticket:
        ticket = walk(make_ticket(title=title), cast, departments, "acknowledged")
        services.ticket_assign(
            actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments[bureau].pk
        )
        return services.ticket_accept(actor=cast[f"handler_{bureau}"], ticket_id=ticket.pk)

    made: dict[str, Any] = {}
    for bureau in ("a", "b"):
        handler = cast[f"handler_{bureau}"]
        extended = in_progress(bureau, f"延期{bureau}")
        made[f"extension_{bureau}"] = ticket_extension_request(
            actor=handler, ticket_id=extended.pk, days=3, reason=f"需协调{bureau}"
        )
        replied = in_progress(bureau, f"答复{bureau}")
        services.ticket_reply(actor=handler, ticket_id=replied.pk, content="已处理完毕。")
        made[f"record_{bureau}"] = PublicRecord.objects.get(ticket=replied)
    return made


def listed(body: str) -> tuple[set[int], set[int]]:
    extensions = {int(pk) for pk in re.findall(r'<tr id="extension-(\d+)"', body)}
    records = {int(pk) for pk in re.findall(r'<tr id="sign-off-(\d+)"', body)}
    return extensions, records


def test_it_shows_each_role_what_waits_for_its_decision_in_its_departments(
    client_for: Any, cast: dict[str, Any], waiting: dict[str, Any]
) -> None:
    ext_a, ext_b = waiting["extension_a"].pk, waiting["extension_b"].pk
    rec_a, rec_b = waiting["record_a"].pk, waiting["record_b"].pk
    expected = {
        "supervisor_a": ({ext_a}, {rec_a}),
        "supervisor_b": ({ext_b}, {rec_b}),
        "admin": ({ext_a, ext_b}, {rec_a, rec_b}),
        "dispatcher": (set(), {rec_a, rec_b}),  # reviews records, decides no extension
    }
    for who, (extensions, records) in expected.items():
        response = client_for(who).get("/inbox/approvals/")
        assert response.status_code == 200, who
        body = response.content.decode()
        assert listed(body) == (extensions, records), who
        assert {e.pk for e in pending_extensions(user=cast[who])} == extensions
        assert {r.pk for r in pending_sign_offs(user=cast[who])} == records
        count = len(extensions) + len(records)
        assert approvals_count(user=cast[who]) == count
        queue = client_for(who).get("/inbox/").content.decode()
        assert f'<span class="count" id="approvals-count">{count}</span>' in queue, who
    body = client_for("supervisor_a").get("/inbox/approvals/").content.decode()
    assert "需协调a" in body and "+3 个工作日" in body and "需协调b" not in body
    assert f'href="/public/review/{rec_a}/">审核签发</a>' in body
    assert (
        'id="pending-extensions"'
        not in client_for("dispatcher").get("/inbox/approvals/").content.decode()
    )
    for who in ("handler_a", "handler_b", "leadership"):
        assert client_for(who).get("/inbox/approvals/").status_code == 404, who
        assert 'id="approvals-link"' not in client_for(who).get("/inbox/").content.decode()
        assert approvals_count(user=cast[who]) is None


def test_it_approves_and_rejects_an_extension_from_the_queue(
    client_for: Any, cast: dict[str, Any], waiting: dict[str, Any]
) -> None:
    request = waiting["extension_a"]
    ticket = Ticket.objects.get(pk=request.ticket_id)
    client = client_for("supervisor_a")
    url = f"/inbox/approvals/extensions/{request.pk}/"

    # Rejecting needs a reason: refused in Chinese, nothing changes.
    response = client.post(url, {"decision": "reject", "note": "  "}, follow=True)
    assert "请填写驳回理由。" in response.content.decode()
    assert ExtensionRequest.objects.get(pk=request.pk).status == "pending"

    response = client.post(url, {"decision": "approve", "note": "同意"}, follow=True)
    body = response.content.decode()
    assert f"工单 {ticket.case_no} 的延期申请（3 个工作日）已批准。" in body
    assert f'id="extension-{request.pk}"' not in body
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        "approved",
        cast["supervisor_a"],
        "同意",
    )
    assert Ticket.objects.get(pk=ticket.pk).resolve_due_at > ticket.resolve_due_at
    assert ticket.events.filter(kind="extension_approved").count() == 1

    # A second click (or a colleague's) decides nothing twice.
    body = client.post(url, {"decision": "reject", "note": "不同意"}, follow=True).content.decode()
    assert "该延期申请已处理，或不在您的审批范围内。" in body
    assert ExtensionRequest.objects.get(pk=request.pk).status == "approved"

    other = waiting["extension_b"]
    body = client.post(
        f"/inbox/approvals/extensions/{other.pk}/", {"decision": "reject", "note": "不同意"}
    )
    assert ExtensionRequest.objects.get(pk=other.pk).status == "pending"
    assert body.status_code == 302
    response = client_for("supervisor_b").post(
        f"/inbox/approvals/extensions/{other.pk}/", {"decision": "reject", "note": "资料不全"}
    )
    assert response.status_code == 302
    assert ExtensionRequest.objects.get(pk=other.pk).status == "rejected"


def test_it_refuses_a_decision_from_who_may_not_decide_or_with_no_decision(
    client_for: Any, waiting: dict[str, Any]
) -> None:
    request = waiting["extension_a"]
    url = f"/inbox/approvals/extensions/{request.pk}/"
    for who in ("handler_a", "dispatcher", "leadership"):
        client_for(who).post(url, {"decision": "approve"})
    client_for("supervisor_a").post(url, {"decision": "maybe"})
    assert client_for("supervisor_a").get(url).status_code == 405
    assert ExtensionRequest.objects.get(pk=request.pk).status == "pending"


def test_it_reads_the_queue_in_the_same_number_of_queries_however_long(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any, settings: Any
) -> None:
    settings.PUBLIC_AUTO_PUBLISH = False
    client = client_for("supervisor_a")

    def add() -> None:
        extended = walk(make_ticket(), cast, departments, "in_progress")
        ticket_extension_request(
            actor=cast["handler_a"], ticket_id=extended.pk, days=2, reason="需协调"
        )
        replied = walk(make_ticket(), cast, departments, "replied")
        assert PublicRecord.objects.filter(ticket=replied, status="pending_review").exists()

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/approvals/").status_code == 200
        return len(captured)

    add()
    few = count()
    for _ in range(3):
        add()
    assert count() == few
