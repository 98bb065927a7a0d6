"""The inbound journal: every raw message from every channel, stored before anything else."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from integrations.registry import account_kind_choices


class InboundMessage(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("已接收")
        PROCESSED = "processed", _("已处理")
        IGNORED = "ignored", _("已忽略")
        FAILED = "failed", _("处理失败")
        REJECTED = "rejected", _("已拒绝")

    channel = models.CharField(_("渠道"), max_length=16)
    account = models.CharField(_("渠道账号"), max_length=64, blank=True)
    dedupe_key = models.CharField(_("去重键"), max_length=200)
    # A signed push's one-time parameters (timestamp + nonce): unique per channel, so a captured
    # signed query cannot carry a second body, checked by the journal's own insert (no cache).
    replay_key = models.CharField(_("签名参数"), max_length=200, null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.ACCEPTED, db_index=True
    )
    reason = models.TextField(_("原因"), blank=True)
    content_type = models.CharField(_("内容类型"), max_length=100, blank=True)
    raw_body = models.BinaryField(_("原始内容"))
    headers = models.JSONField(_("请求头"), default=dict, blank=True)
    parsed = models.JSONField(_("解析结果"), null=True, blank=True)
    response = models.JSONField(
        _("回复"), null=True, blank=True, help_text=_("第一次处理时给出的答复，重试时原样返回")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_messages",
    )
    received_at = models.DateTimeField(_("收到时间"))
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("处理次数"), default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("收件日志")
        verbose_name_plural = _("收件日志")
        constraints = [
            models.UniqueConstraint(fields=["channel", "dedupe_key"], name="inbound_dedupe"),
            models.UniqueConstraint(
                fields=["channel", "replay_key"],
                name="inbound_replay_once",
                condition=models.Q(replay_key__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.dedupe_key} ({self.get_status_display()})"


class ChannelAccount(models.Model):
    """A channel account (a WeChat official account, a Weibo account, a 12345 platform).

    ``config`` holds what may be shown; ``secrets`` holds tokens and keys, which are never
    shown again after saving and never logged. Which options each kind takes, and which are
    secrets, is its channel's ``ChannelSpec.account_fields``; the kinds are the channels that
    have accounts (a function of the registry: a new channel needs no migration)."""

    kind = models.CharField(_("类型"), max_length=16, choices=account_kind_choices)
    slug = models.SlugField(_("标识"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    config = models.JSONField(_("配置"), default=dict, blank=True)
    secrets = models.JSONField(_("密钥"), default=dict, blank=True, editable=False)
    state = models.JSONField(
        _("运行状态"), default=dict, blank=True, help_text=_("例如微博轮询游标")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["kind", "slug"]
        verbose_name = _("渠道账号")
        verbose_name_plural = _("渠道账号")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or self.slug}"

    def __repr__(self) -> str:  # never show secrets, even in a debugger or a log line
        return f"<ChannelAccount {self.kind}:{self.slug}>"

    def secret(self, key: str) -> str:
        return str(self.secrets.get(key, ""))


class HotlineCodeMap(models.Model):
    """Maps a 12345 platform's unit codes to our departments and its classification codes to
    our categories."""

    class Kind(models.TextChoices):
        UNIT = "unit", _("承办单位代码")
        CATEGORY = "category", _("分类代码")

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="code_maps")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    code = models.CharField(_("平台代码"), max_length=64)
    department = models.ForeignKey(
        "tickets.Department", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("12345 代码映射")
        verbose_name_plural = _("12345 代码映射")
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "code"], name="hotline_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code}"


class OutboxMessage(models.Model):
    """Something to send to the outside (a notice to a citizen, a 12345 callback), written in
    the same transaction as the change that caused it and sent later by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        UNDELIVERABLE = "undeliverable", _("无法送达")

    kind = models.CharField(_("类型"), max_length=32)
    channel = models.CharField(_("渠道"), max_length=16)
    account = models.ForeignKey(
        ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    recipient = models.CharField(_("接收方"), max_length=200, blank=True)
    payload = models.JSONField(_("内容"), default=dict)
    idempotency_key = models.CharField(_("幂等键"), max_length=200, unique=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    via = models.CharField(_("实际发送方式"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("待发消息")
        verbose_name_plural = _("待发消息")
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.get_status_display()})"
