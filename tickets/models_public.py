"""Openness: the public record of each replied case, and the API keys of Open311 clients.

Imported at the end of ``tickets.models`` so the models belong to the tickets app.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

PUBLIC_ID_BYTES = 9


# The first character is a letter or digit: an id that starts with "-" (or "=", "+", "@") is
# a formula to a spreadsheet, so the open-data CSV would have to quote it and no longer match.
_FIRST = string.ascii_letters + string.digits


def new_public_id() -> str:
    """A random id for public URLs: never the case number's sequence, never the database id,
    never starting with a character a spreadsheet reads as a formula."""
    token = secrets.token_urlsafe(PUBLIC_ID_BYTES)
    return secrets.choice(_FIRST) + token[1:]


class PublicRecord(models.Model):
    """政务公开: what the public may see of one replied case, redacted and reviewed.

    The ticket's own text is never changed; this row holds the redacted copy. A withheld record
    still counts in statistics (they come from tickets) but is never shown."""

    class Status(models.TextChoices):
        PENDING = "pending_review", _("待审核")
        PUBLISHED = "published", _("已公开")
        WITHHELD = "withheld", _("不予公开")

    ticket = models.OneToOneField(
        "tickets.Ticket",
        verbose_name=_("工单"),
        on_delete=models.CASCADE,
        related_name="public_record",
    )
    public_id = models.CharField(_("公开编号"), max_length=16, unique=True, default=new_public_id)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    confidential = models.BooleanField(_("保密件"), default=False)
    title = models.CharField(_("标题（已脱敏）"), max_length=200, blank=True)
    content = models.TextField(_("诉求内容（已脱敏）"), blank=True)
    reply = models.TextField(_("答复内容（已脱敏）"), blank=True)
    address = models.CharField(_("地址（已脱敏）"), max_length=300, blank=True)
    category = models.ForeignKey(
        "tickets.Category",
        verbose_name=_("分类"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    department = models.ForeignKey(
        "tickets.Department",
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_type = models.CharField(_("诉求类型"), max_length=16, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, blank=True)
    received_at = models.DateTimeField(_("收到时间"))
    replied_at = models.DateTimeField(_("答复时间"))
    on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    masks = models.JSONField(
        _("脱敏统计"), default=dict, blank=True, help_text=_("每类被遮盖的数量，不含原文")
    )
    auto_published = models.BooleanField(_("自动公开"), default=False)
    edited = models.BooleanField(_("人工修改过"), default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.TextField(_("审核意见/不予公开理由"), blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["-replied_at", "-id"]
        verbose_name = _("公开记录")
        verbose_name_plural = _("公开记录")
        indexes = [
            models.Index(fields=["status", "replied_at"], name="public_status_replied"),
            models.Index(fields=["status", "received_at"], name="public_status_received"),
            models.Index(fields=["department", "status"], name="public_department"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.title}".strip()

    @property
    def masked(self) -> bool:
        return any(self.masks.values()) if isinstance(self.masks, dict) else False


def api_key_hash(raw_key: str) -> str:
    # Keys are 32 random bytes, so a plain SHA-256 is enough (no dictionary to guess from).
    return hashlib.sha256(raw_key.encode()).hexdigest()


class Open311ApiKey(models.Model):
    """An Open311 client allowed to POST requests. Only the hash is stored: the key itself is
    shown once, when it is issued in the admin."""

    name = models.CharField(_("客户端名称"), max_length=100)
    prefix = models.CharField(_("密钥前缀"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 API 密钥")
        verbose_name_plural = _("Open311 API 密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def __repr__(self) -> str:
        return f"<Open311ApiKey {self.prefix}>"

    def set_new_key(self) -> str:
        """Give this row a fresh key and return it (the only time it can be seen)."""
        raw_key = "o311_" + secrets.token_urlsafe(32)
        self.prefix = raw_key[:10]
        self.key_hash = api_key_hash(raw_key)
        return raw_key

    @classmethod
    def issue(cls, *, name: str, created_by: Any = None) -> tuple[Open311ApiKey, str]:
        key = cls(name=name, created_by=created_by)
        raw_key = key.set_new_key()
        key.save()
        return key, raw_key

    @classmethod
    def find_active(cls, raw_key: str) -> Open311ApiKey | None:
        if not raw_key:
            return None
        return cls.objects.filter(key_hash=api_key_hash(raw_key.strip()), active=True).first()
