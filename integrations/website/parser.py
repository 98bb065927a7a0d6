"""The website channel's parser: the validated form, journaled as JSON, back into a message.

The JSON endpoint (``/api/v1/website/tickets/``) and the HTML form journal the same shape; the
form adds ``attachments`` (files it already stored privately, by storage name)."""

from __future__ import annotations

import json
from typing import Any

from integrations import journal
from tickets.models import Channel, CitizenIdentity, RequestType
from tickets.services import IncomingAttachment, IncomingMessage
from tickets.services.citizen import UPLOAD_PREFIX


def website_message(body: bytes) -> IncomingMessage:
    form: dict[str, Any] = json.loads(body.decode("utf-8"))
    phone = str(form["phone"])
    return IncomingMessage(
        channel=Channel.WEBSITE,
        sender_kind=CitizenIdentity.Kind.PHONE,
        sender_id=phone.replace("-", ""),
        sender_name=form.get("name", ""),
        phone=phone,
        email=form.get("email", ""),
        request_type=form.get("request_type") or RequestType.HELP,
        category_code=form.get("category", ""),
        title=form.get("title", ""),
        text=form["content"],
        address=form.get("address", ""),
        confidential=bool(form.get("confidential")),
        attachments=[
            IncomingAttachment(
                name=str(item.get("name", ""))[:200],
                content_type=str(item.get("content_type", "")),
                media_id=UPLOAD_PREFIX + str(item["storage_name"]),
            )
            for item in form.get("attachments", [])
        ],
        may_follow_up=False,
    )


def website_reprocess(inbound: Any) -> None:
    """Take a journaled form in again (the recovery pass, an administrator's retry)."""
    journal.journal_process(inbound=inbound, parse=website_message)
