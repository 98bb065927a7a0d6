"""The organisation (departments, categories, staff roles) and the citizens who write in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.channels import identity_kind_choices
from tickets.models.choices import Role
from tickets.text import pinyin_sort_key


class Department(models.Model):
    """A node of the organisation tree: district → bureau → section."""

    class Level(models.TextChoices):
        DISTRICT = "district", _("区")
        BUREAU = "bureau", _("局/委办")
        SECTION = "section", _("科室/街道")

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> set[int]:
        """This department and everything below it (trees here are a few hundred nodes)."""
        ids = {self.pk}
        frontier = [self.pk]
        while frontier:
            frontier = list(
                Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            )
            ids.update(frontier)
        return ids


class Category(models.Model):
    """What a case is about (a tree), with the department that normally handles it."""

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_department = models.ForeignKey(
        Department,
        verbose_name=_("默认承办部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="default_categories",
    )
    active = models.BooleanField(_("启用"), default=True)
    # The name's pinyin, so that lists sort by the Chinese name in SQL on every database
    # (PostgreSQL's C collation and SQLite both compare code points, not readings).
    name_sort = models.CharField(_("拼音排序"), max_length=255, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("分类")
        verbose_name_plural = _("分类")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_sort = pinyin_sort_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_sort"}
        super().save(*args, **kwargs)


class StaffProfile(models.Model):
    """A staff member's role and department."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Citizen(models.Model):
    """A person who writes in. Identities per channel live in ``CitizenIdentity``."""

    name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("电子邮件"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("市民")
        verbose_name_plural = _("市民")
        # The inbox finds a citizen's cases by name (tickets.views.queries.citizen_ids_matching).
        indexes = [models.Index(fields=["name"], name="citizen_name")]

    def __str__(self) -> str:
        return self.name or f"市民#{self.pk}"


class CitizenIdentity(models.Model):
    """How a citizen is known in one channel (WeChat OpenID, Weibo uid, phone, e-mail, caller)."""

    class Kind(models.TextChoices):
        WECHAT_OPENID = "wechat_openid", _("微信 OpenID")
        WEIBO_UID = "weibo_uid", _("微博 UID")
        PHONE = "phone", _("电话")
        EMAIL = "email", _("电子邮件")
        HOTLINE_CALLER = "hotline_caller", _("12345 来电人")
        OPEN311_CLIENT = "open311_client", _("Open311 客户端")

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("类型"), max_length=16, choices=identity_kind_choices)
    account = models.CharField(
        _("渠道账号"), max_length=64, blank=True, help_text=_("OpenID 只在一个公众号内唯一")
    )
    value = models.CharField(_("标识"), max_length=128)
    subscribed = models.BooleanField(_("可接收消息"), default=True)
    last_seen_at = models.DateTimeField(_("最近互动"), null=True, blank=True)
    last_location = models.JSONField(_("最近位置"), null=True, blank=True)

    class Meta:
        verbose_name = _("市民渠道身份")
        verbose_name_plural = _("市民渠道身份")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "account", "value"], name="citizen_identity_unique"
            )
        ]
        # The inbox finds a citizen's cases by phone number whatever the account (the unique
        # index above starts with kind and account).
        indexes = [models.Index(fields=["value"], name="citizen_identity_value")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"
