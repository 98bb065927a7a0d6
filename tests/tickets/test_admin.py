"""The Django admin: every registered model opens for an administrator, tickets stay read only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from integrations.models import ChannelAccount, HotlineCodeMap, InboundMessage, OutboxMessage
from tests.conftest import walk
from tickets.models import Role, StaffNotification, StaffProfile, Ticket
from tickets.models_public import Open311ApiKey
from tickets.services.extensions import ticket_extension_request
from tickets.services.feedback import ticket_feedback

pytestmark = pytest.mark.django_db

OUR_APPS = {"tickets", "sla", "integrations", "auth"}


@pytest.fixture
def admin_client_(cast: dict[str, Any]) -> Client:
    client = Client()
    client.force_login(cast["admin"])
    return client


@pytest.fixture
def ticket(cast: dict[str, Any], departments: dict[str, Any], make_ticket: Any) -> Ticket:
    """A replied ticket: it has a timeline, a reply and everything the admin shows."""
    return walk(make_ticket(), cast, departments, "replied")


@pytest.fixture
def every_model_has_a_row(
    cast: dict[str, Any], ticket: Ticket, categories: Any, departments: Any, make_ticket: Any
) -> None:
    InboundMessage.objects.create(
        channel="wechat",
        dedupe_key="msg-1",
        raw_body="<xml><Content>路灯坏了</Content></xml>".encode() + b"\xff",
        headers={"Content-Type": "text/xml"},
        parsed={"text": "路灯坏了"},
        received_at=ticket.received_at,
        ticket=ticket,
    )
    Group.objects.create(name="督办组")
    Token.objects.create(user=cast["admin"])
    Open311ApiKey.issue(name="街道App")
    ticket.attachments.create(name="照片.jpg", content_type="image/jpeg")
    working = walk(make_ticket(), cast, departments, "in_progress")
    ticket_extension_request(actor=cast["handler_a"], ticket_id=working.pk, days=2, reason="协调中")
    StaffNotification.objects.create(
        recipient=cast["handler_a"],
        ticket=working,
        kind="sla_warning",
        text="办结时限今日到期",
        created_at=working.received_at,
    )
    ticket_feedback(ticket_id=ticket.pk, satisfaction="satisfied", resolved=True)
    call_command(
        "channel_account",
        "hotline",
        "--slug",
        "qs",
        "--secret",
        "s3cret",
        "--callback-base",
        "http://127.0.0.1:9/cb",
    )
    account = ChannelAccount.objects.get(slug="qs")
    HotlineCodeMap.objects.create(
        account=account, kind="unit", code="U1", department=departments["a"]
    )
    OutboxMessage.objects.create(
        kind="hotline_callback",
        channel="hotline",
        account=account,
        ticket=ticket,
        payload={"event": "accepted"},
        idempotency_key="k1",
        created_at=ticket.received_at,
    )


def _url(model: Any, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.usefixtures("every_model_has_a_row")
def test_it_opens_every_registered_model_for_an_administrator(admin_client_: Client) -> None:
    registry = admin.site._registry
    assert len(registry) >= 10
    for model, model_admin in registry.items():
        response = admin_client_.get(_url(model, "changelist"))
        assert response.status_code == 200, (model, "changelist", response.status_code)
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            response = admin_client_.get(_url(model, "add"))
            assert response.status_code == 200, (model, "add", response.status_code)
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            # Every model of ours has a row here; third-party logs (axes) may be empty.
            assert model._meta.app_label not in OUR_APPS, f"no row of {model.__name__} to open"
            continue
        response = admin_client_.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, (model, "change", response.status_code)


def test_it_registers_the_configuration_models_in_chinese(admin_client_: Client) -> None:
    response = admin_client_.get(reverse("admin:index"))
    page = response.content.decode()
    assert "民声 · 诉求办理系统" in page
    for name in ("部门", "分类", "工单", "市民", "工作日历例外", "时限策略", "收件日志"):
        assert name in page


def test_it_has_no_add_or_delete_for_tickets(admin_client_: Client, ticket: Ticket) -> None:
    assert admin_client_.get(_url(Ticket, "add")).status_code == 403
    assert admin_client_.get(_url(Ticket, "delete", ticket.pk)).status_code == 403
    changelist = admin_client_.get(_url(Ticket, "changelist")).content.decode()
    assert ticket.case_no in changelist
    assert "delete_selected" not in changelist


def test_it_shows_a_ticket_without_an_editable_state(admin_client_: Client, ticket: Ticket) -> None:
    response = admin_client_.get(_url(Ticket, "change", ticket.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="state"' not in page
    assert "<select" not in page.split('id="content-main"')[1].split("</form>")[0]
    assert 'name="_save"' not in page
    # The timeline, read only, in Chinese.
    for label in ("办理过程", "收到诉求", "受理", "派单", "签收", "答复", "已答复"):
        assert label in page
    assert 'name="events-0-DELETE"' not in page
    assert 'name="events-MAX_NUM_FORMS" value="0"' in page  # no row can be added


def test_it_refuses_a_posted_change_to_a_ticket(admin_client_: Client, ticket: Ticket) -> None:
    response = admin_client_.post(
        _url(Ticket, "change", ticket.pk), {"state": "closed", "title": "改了"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.state == "replied" and ticket.title != "改了"


def test_it_shows_the_raw_inbound_body_as_text(admin_client_: Client, ticket: Ticket) -> None:
    inbound = InboundMessage.objects.create(
        channel="weibo",
        dedupe_key="wb-9",
        raw_body='{"text": "噪音扰民"}'.encode() + b"\xfe",
        received_at=ticket.received_at,
    )
    page = admin_client_.get(_url(InboundMessage, "change", inbound.pk)).content.decode()
    assert "噪音扰民" in page and "\ufffd" in page
    assert admin_client_.get(_url(InboundMessage, "add")).status_code == 403


def test_it_creates_a_user_with_role_and_department(
    admin_client_: Client, departments: dict[str, Any]
) -> None:
    response = admin_client_.post(
        _url(get_user_model(), "add"),
        {
            "username": "newhandler",
            "password1": "Xq7-very-long-passphrase",
            "password2": "Xq7-very-long-passphrase",
            "usable_password": "true",
            "staff_profile-TOTAL_FORMS": "1",
            "staff_profile-INITIAL_FORMS": "0",
            "staff_profile-MIN_NUM_FORMS": "0",
            "staff_profile-MAX_NUM_FORMS": "1",
            "staff_profile-0-role": Role.HANDLER,
            "staff_profile-0-department": str(departments["a"].pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = StaffProfile.objects.get(user__username="newhandler")
    assert profile.role == Role.HANDLER and profile.department == departments["a"]


def test_it_sends_a_non_staff_user_to_the_login_page(cast: dict[str, Any]) -> None:
    client = Client()
    client.force_login(cast["handler_a"])
    for url in (reverse("admin:index"), _url(Ticket, "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    anonymous = Client().get(reverse("admin:index"))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))


def test_it_saves_a_channel_account_and_never_shows_its_secrets(admin_client_: Client) -> None:
    response = admin_client_.post(
        reverse("admin:integrations_channelaccount_add"),
        {
            "kind": "hotline",
            "slug": "qs-12345",
            "name": "青山12345",
            "active": "on",
            "callback_base": "http://127.0.0.1:9/cb",
            "secret": "very-secret-value",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account = ChannelAccount.objects.get(slug="qs-12345")
    assert account.secret("secret") == "very-secret-value" and account.name == "青山12345"
    page = admin_client_.get(reverse("admin:integrations_channelaccount_change", args=[account.pk]))
    listing = admin_client_.get(reverse("admin:integrations_channelaccount_changelist"))
    assert "very-secret-value" not in page.content.decode()
    assert "very-secret-value" not in listing.content.decode()
    bad = admin_client_.post(
        reverse("admin:integrations_channelaccount_add"),
        {"kind": "wechat", "slug": "wx", "mode": "safe", "token": "t", "active": "on"},
    )
    assert bad.status_code == 200 and "EncodingAESKey" in bad.content.decode()
    assert not ChannelAccount.objects.filter(slug="wx").exists()
