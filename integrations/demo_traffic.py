"""Sample channel traffic for the demo: an administrator's page builds signed WeChat, Weibo
and 12345 messages for the demo accounts, and the browser posts them to the real endpoints,
so a visitor watches tickets arrive in the inbox exactly as they would from outside.

The 12345 demo account's callback address points at a sink on this server that checks the
signature and keeps the last callbacks, so the visitor sees them too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from integrations.accounts import channel_account_save
from integrations.models import ChannelAccount

DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "demo-wechat": {
        "kind": "wechat",
        "values": {
            "mode": "plain",
            "token": "demo-wechat-token",
            "app_id": "wx0000000000demo01",
            "app_secret": "demo-wechat-secret",
            "encoding_aes_key": "ZGVtb2RlbW9kZW1vZGVtb2RlbW9kZW1vZGVtb2RlbW8",
            "original_id": "gh_demo000000001",
        },
    },
    "demo-weibo": {
        "kind": "weibo",
        "values": {
            "uid": "7000000000",
            "app_key": "1000000001",
            "app_secret": "demo-weibo-secret",
            "access_token": "2.00demo",
        },
    },
    "demo-12345": {
        "kind": "hotline",
        "values": {"secret": "demo-hotline-secret", "callback_base": ""},
    },
}
SINK_KEY = "demo-traffic:callbacks"
TEXTS = [
    "和平街88号小区门口的路灯坏了一个星期了，晚上出行很不方便，请尽快修理。",
    "建设路与解放大道交叉口红绿灯时间太短，老人过马路来不及，建议延长。",
    "幸福小区旁边的工地晚上十一点后还在施工，噪音很大，影响休息。",
    "长江路菜市场门口垃圾堆放好几天没人清运，气味很大，请环卫部门处理。",
    "公交12路早高峰间隔太长，经常等半小时，建议加密班次。",
]


def demo_accounts_ensure(*, site_url: str) -> list[ChannelAccount]:
    """Create (or refresh) the three demo channel accounts."""
    accounts = []
    for slug, spec in DEMO_ACCOUNTS.items():
        values = dict(spec["values"])
        if spec["kind"] == "hotline":
            values["callback_base"] = f"{site_url}/integrations/demo-sink/{slug}"
        account, _created = channel_account_save(kind=spec["kind"], slug=slug, values=values)
        accounts.append(account)
    return accounts


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def sample_request(channel: str, *, sender: str, text: str) -> dict[str, Any]:
    """A signed request for the demo account of ``channel``, ready for the browser to send."""
    now = int(time.time())
    nonce = str(random.randint(10**8, 10**9))
    if channel == "wechat":
        account = ChannelAccount.objects.get(slug="demo-wechat")
        token = account.secret("token")
        body = (
            f"<xml><ToUserName><![CDATA[{account.config['original_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{now}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{random.randint(10**18, 9 * 10**18)}</MsgId></xml>"
        )
        query = f"signature={_sha1(token, str(now), nonce)}&timestamp={now}&nonce={nonce}"
        return {
            "url": f"/integrations/wechat/demo-wechat/?{query}",
            "headers": {},
            "content_type": "text/xml",
            "body": body,
        }
    if channel == "weibo":
        account = ChannelAccount.objects.get(slug="demo-weibo")
        millis = str(now * 1000)
        created = timezone.localtime().strftime("%a %b %d %H:%M:%S %z %Y")
        body = json.dumps(
            {
                "type": "text",
                "receiver_id": int(account.config["uid"]),
                "sender_id": int(sender),
                "created_at": created,
                "text": text,
                "data": {},
            },
            ensure_ascii=False,
        )
        query = f"signature={_sha1(account.secret('app_secret'), millis, nonce)}&timestamp={millis}&nonce={nonce}"
        return {
            "url": f"/integrations/weibo/demo-weibo/?{query}",
            "headers": {},
            "content_type": "application/json",
            "body": body,
        }
    if channel == "hotline":
        account = ChannelAccount.objects.get(slug="demo-12345")
        order_no = f"DEMO{timezone.localtime():%Y%m%d%H%M%S}{random.randint(100, 999)}"
        body = json.dumps(
            {
                "event": "dispatch",
                "order_no": order_no,
                "version": 1,
                "accepted_at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"),
                "caller_name": "演示来电人",
                "caller_phone": "13800000000",
                "confidential": False,
                "request_type": "complaint",
                "category_code": "",
                "title": text[:12],
                "content": "来电人反映：" + text,
                "address": "青山区",
                "district": "青山区",
                "urgency": "normal",
                "unit_code": "",
                "attachments": [],
            },
            ensure_ascii=False,
        )
        nonce = secrets.token_hex(8)
        signature = hmac.new(
            account.secret("secret").encode(),
            f"{now}\n{nonce}\n".encode() + body.encode(),
            hashlib.sha256,
        ).hexdigest()
        return {
            "url": "/integrations/hotline/demo-12345/orders",
            "headers": {
                "X-Hotline-Timestamp": str(now),
                "X-Hotline-Nonce": nonce,
                "X-Hotline-Signature": signature,
            },
            "content_type": "application/json",
            "body": body,
        }
    raise ValueError(channel)


def _demo_only() -> None:
    if not settings.DEMO_MODE:
        raise Http404("演示功能只在演示模式下可用。")


@staff_member_required
@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    _demo_only()
    ready = ChannelAccount.objects.filter(slug__in=DEMO_ACCOUNTS).count() == len(DEMO_ACCOUNTS)
    return render(
        request,
        "integrations/demo_traffic.html",
        {"ready": ready, "callbacks": cache.get(SINK_KEY, []), "title": "演示渠道消息"},
    )


@staff_member_required
@require_GET
def demo_sample(request: HttpRequest, channel: str) -> JsonResponse:
    _demo_only()
    if channel not in ("wechat", "weibo", "hotline"):
        return JsonResponse({"message": "未知渠道"}, status=404)
    if not ChannelAccount.objects.filter(slug__in=DEMO_ACCOUNTS).count() == len(DEMO_ACCOUNTS):
        return JsonResponse(
            {"message": "演示渠道账号尚未创建，请先运行 python manage.py load_demo。"}, status=409
        )
    sender = {
        "wechat": "o-demo-" + secrets.token_hex(6),
        "weibo": str(random.randint(10**9, 10**10)),
    }
    text = request.GET.get("text") or random.choice(TEXTS)
    return JsonResponse(sample_request(channel, sender=sender.get(channel, ""), text=text[:500]))


@csrf_exempt
@require_POST
def demo_sink(request: HttpRequest, slug: str) -> HttpResponse:
    """Stands in for the 12345 platform: checks the callback's signature and keeps it."""
    _demo_only()
    account = ChannelAccount.objects.filter(slug=slug, kind="hotline").first()
    if account is None or slug not in DEMO_ACCOUNTS:
        return JsonResponse({"code": 404}, status=404)
    timestamp = request.headers.get("X-Hotline-Timestamp", "")
    nonce = request.headers.get("X-Hotline-Nonce", "")
    expected = hmac.new(
        account.secret("secret").encode(),
        f"{timestamp}\n{nonce}\n".encode() + request.body,
        hashlib.sha256,
    ).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hotline-Signature", "")):
        return JsonResponse({"code": 401}, status=401)
    kept = cache.get(SINK_KEY, [])
    kept.insert(
        0,
        {
            "at": timezone.localtime().isoformat(timespec="seconds"),
            "body": request.body.decode("utf-8", errors="replace"),
        },
    )
    cache.set(SINK_KEY, kept[:20], None)
    return JsonResponse({"code": 0})
