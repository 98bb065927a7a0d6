"""Passive replies: the journal's response dict → WeChat reply XML (encrypted when asked).

Never JSON and never an error page: WeChat shows the citizen "该公众号暂时无法提供服务" for
anything it does not understand. Nothing to say is the body ``success``."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from wechatpy.replies import TextReply

from integrations.wechat import crypto

SUCCESS = "success"
NEED_TEXT = "已收到。请用文字描述您要反映的问题（可附图片、位置），我们会为您登记并回复诉求编号。"
WECHAT_TEXT_LIMIT = 600  # characters; WeChat cuts passive text replies at 2048 bytes


def reply_text(response: dict[str, Any]) -> str:
    """What to tell the citizen for a stored response (empty: nothing)."""
    action = response.get("action")
    if action == "failed":
        return ""
    if action == "rejected":
        return str(response.get("reason") or "")
    if action == "ignored" and not response.get("reply"):
        return NEED_TEXT  # a photo or location alone, or empty text: ask for words
    return str(response.get("reply") or "")


def cdata_safe(text: str) -> str:
    """Text that cannot close the CDATA section wechatpy wraps it in."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def text_reply_xml(*, to_user: str, from_user: str, text: str) -> str:
    reply = TextReply(
        source=cdata_safe(from_user),
        target=cdata_safe(to_user),
        content=cdata_safe(text[:WECHAT_TEXT_LIMIT]),
    )
    return str(reply.render())


def passive_reply(
    text: str,
    *,
    to_user: str,
    from_user: str,
    encrypt_with: dict[str, str] | None = None,
) -> HttpResponse:
    """``success``, or the text reply XML, encrypted and signed when ``encrypt_with`` is given
    (token, encoding_aes_key, app_id)."""
    if not text or not to_user or not from_user:
        return HttpResponse(SUCCESS, content_type="text/plain; charset=utf-8")
    xml = text_reply_xml(to_user=to_user, from_user=from_user, text=text)
    if encrypt_with is not None:
        xml = crypto.encrypt_reply(xml, **encrypt_with)
    return HttpResponse(xml.encode("utf-8"), content_type="application/xml; charset=utf-8")
