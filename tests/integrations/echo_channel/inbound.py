"""The echo channel's inbound view: check the key, journal, parse, hand to intake."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations import journal, spool
from integrations.models import ChannelAccount
from tickets.services.intake import IncomingMessage

KIND = "echo"


def echo_parser(slug: str) -> Callable[[bytes], IncomingMessage]:
    def parse(body: bytes) -> IncomingMessage:
        try:
            data = json.loads(body.decode("utf-8"))
            user, text = str(data["user"]), str(data["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise journal.ParseRejected(f"不是回声消息：{exc}")
        return IncomingMessage(
            channel=KIND,
            account=slug,
            sender_kind="echo_user",
            sender_id=user,
            phone=str(data.get("phone", "")),
            text=text,
        )

    return parse


def _message_id(body: bytes) -> str:
    try:
        return str(json.loads(body.decode("utf-8"))["id"])
    except (ValueError, KeyError, TypeError):
        return ""


@csrf_exempt
@require_POST
def messages_receive(request: HttpRequest, slug: str) -> JsonResponse:
    """``POST /integrations/echo/<slug>/messages`` with the account's key in ``X-Echo-Key``."""
    account = ChannelAccount.objects.filter(kind=KIND, slug=slug, active=True).first()
    if account is None:
        return JsonResponse({"error": "没有这个回声账号"}, status=404)
    given = request.META.get("HTTP_X_ECHO_KEY", "")
    if not hmac.compare_digest(given.encode(), account.secret("echo_key").encode()):
        return JsonResponse({"error": "密钥不对"}, status=403)
    message_id = _message_id(request.body)
    if not message_id:
        return JsonResponse({"error": "消息没有 id"}, status=400)
    try:
        outcome = journal.inbound_receive(
            channel=KIND,
            dedupe_key=f"{slug}:{message_id}",
            raw_body=request.body,
            parse=echo_parser(slug),
            account=slug,
            content_type=request.content_type or "",
        )
    except journal.NotProcessed:
        return JsonResponse({"action": "accepted"})
    except spool.OUTAGE:
        if spool.spooled(request) is not None:
            raise spool.StillDown()
        spool.spool_write(request, channel=KIND, slug=slug, verified=True)
        return JsonResponse({"action": "spooled"})
    return JsonResponse(outcome.response)


def echo_reprocess(inbound: Any) -> None:
    journal.journal_process(inbound=inbound, parse=echo_parser(inbound.account))
