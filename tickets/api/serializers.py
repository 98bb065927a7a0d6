"""What the API reads and writes. Output serializers only read; input serializers only parse.

Nothing here changes a ticket: the views hand validated input to ``tickets.services``.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.channels import channel_choices
from tickets.models import (
    Category,
    Reply,
    RequestType,
    State,
    Ticket,
    TicketEvent,
    Urgency,
)
from tickets.permissions import ACTIONS, role_may
from tickets.selectors import user_department_ids, user_role

# States in which ``ticket_classify`` accepts a change (it is not an FSM transition).
CLASSIFIABLE_STATES = frozenset({State.NEW, State.ACKNOWLEDGED, State.ASSIGNED, State.IN_PROGRESS})
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
CONTENT_MIN, CONTENT_MAX = 10, 4000


def actions_allowed(*, ticket: Ticket, user: Any) -> list[str]:
    """The actions ``user`` may take on ``ticket`` now, in the order of ``ACTIONS``.

    The same checks as the write path: the state machine, the role and the department.
    """
    role = user_role(user)
    if role is None:
        return []
    departments = user_department_ids(user)
    visible = (
        departments is None
        or ticket.department_id in departments
        or (ticket.assignee_id is not None and ticket.assignee_id == user.pk)
    )
    if not visible:
        return []
    possible = {t.name for t in ticket.get_available_state_transitions()}  # type: ignore[attr-defined]
    if ticket.state in CLASSIFIABLE_STATES:
        possible.add("classify")
    possible.add("note")
    return [
        action
        for action in ACTIONS
        if action in possible and role_may(role, action, own_department=True)
    ]


# --- output ------------------------------------------------------------------------------


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class CategoryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CitizenSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class TicketEventSerializer(serializers.ModelSerializer):
    kind_label = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = [
            "id",
            "kind",
            "kind_label",
            "actor_label",
            "from_state",
            "to_state",
            "payload",
            "created_at",
        ]

    def get_kind_label(self, event: TicketEvent) -> str:
        return ACTIONS.get(event.kind, event.kind)


class ReplySerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    department = serializers.SerializerMethodField()

    class Meta:
        model = Reply
        fields = ["id", "content", "author", "department", "created_at"]

    def get_author(self, reply: Reply) -> str:
        if reply.author is None:
            return ""
        return reply.author.get_full_name() or reply.author.get_username()

    def get_department(self, reply: Reply) -> str:
        return reply.department.name if reply.department else ""


class TicketListSerializer(serializers.ModelSerializer):
    """One row of the list; every related object comes from the selector's select_related."""

    state_label = serializers.CharField(source="get_state_display", read_only=True)
    category = CategoryRefSerializer(allow_null=True, read_only=True)
    department = DepartmentRefSerializer(allow_null=True, read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "case_no",
            "channel",
            "request_type",
            "urgency",
            "category",
            "department",
            "state",
            "state_label",
            "title",
            "received_at",
            "ack_due_at",
            "resolve_due_at",
            "calendar_confirmed",
            "supervised",
            "version",
        ]
        read_only_fields = fields


class TicketDetailSerializer(TicketListSerializer):
    """Everything staff need on one page: deadlines, citizen, replies, timeline, actions."""

    assignee = serializers.SerializerMethodField()
    citizen = serializers.SerializerMethodField()
    duplicate_of = serializers.SerializerMethodField()
    replies = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "content",
            "address",
            "latitude",
            "longitude",
            "confidential",
            "external_ref",
            "assignee",
            "citizen",
            "duplicate_of",
            "reopen_count",
            "acknowledged_at",
            "ack_on_time",
            "resolve_unit",
            "paused_at",
            "first_replied_at",
            "resolved_on_time",
            "replied_at",
            "closed_at",
            "created_at",
            "updated_at",
            "replies",
            "events",
            "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(UserRefSerializer(allow_null=True))
    def get_assignee(self, ticket: Ticket) -> dict[str, Any] | None:
        user = ticket.assignee
        if user is None:
            return None
        return {"id": user.pk, "name": user.get_full_name() or user.get_username()}

    @extend_schema_field(CitizenSerializer(allow_null=True))
    def get_citizen(self, ticket: Ticket) -> dict[str, Any] | None:
        # Only staff reach this serializer (the views require a Minsheng role).
        citizen = ticket.citizen
        if citizen is None:
            return None
        return {"name": citizen.name, "phone": citizen.phone, "email": citizen.email}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_duplicate_of(self, ticket: Ticket) -> str | None:
        return ticket.duplicate_of.case_no if ticket.duplicate_of else None

    @extend_schema_field(ReplySerializer(many=True))
    def get_replies(self, ticket: Ticket) -> list[dict[str, Any]]:
        replies = ticket.replies.select_related("author", "department")
        return list(ReplySerializer(replies, many=True).data)

    @extend_schema_field(TicketEventSerializer(many=True))
    def get_events(self, ticket: Ticket) -> list[dict[str, Any]]:
        return list(TicketEventSerializer(ticket.events.all(), many=True).data)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, ticket: Ticket) -> list[str]:
        request = self.context.get("request")
        return actions_allowed(ticket=ticket, user=getattr(request, "user", None))


class TicketPageSerializer(serializers.Serializer):
    results = TicketListSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="下一页的地址；没有更多时为 null")


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField()
    reason = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # Named like Serializer.errors on purpose: it is the wire format's name.
    errors = ErrorItemSerializer(many=True, required=False)  # type: ignore[assignment]


# --- input -------------------------------------------------------------------------------


def _text(what: str, *, max_length: int) -> serializers.CharField:
    """A required text field whose error messages name what is missing, in Chinese."""
    missing = f"请填写{what}。"
    return serializers.CharField(
        max_length=max_length,
        error_messages={"required": missing, "blank": missing, "null": missing},
    )


def _department_id(*, required: bool) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=required,
        min_value=1,
        help_text="部门 ID",
        error_messages={
            "required": "请选择一个有效的部门。",
            "null": "请选择一个有效的部门。",
            "invalid": "部门 ID 必须是整数。",
        },
    )


class TicketListQuerySerializer(serializers.Serializer):
    state = serializers.CharField(
        required=False, help_text="状态，可用逗号分隔多个，如 new,acknowledged"
    )
    department = serializers.IntegerField(required=False, min_value=1, help_text="承办部门 ID")
    channel = serializers.ChoiceField(choices=[], required=False)
    overdue = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true：只看已超时；false：只看未超时",
    )
    after = serializers.IntegerField(
        required=False, min_value=1, help_text="上一页最后一条的 id（键集分页）"
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # The channels registered at start (``tickets.channels``), not a list fixed at import.
        channel = fields["channel"]
        assert isinstance(channel, serializers.ChoiceField)
        channel.choices = channel_choices()
        return fields

    def validate_state(self, value: str) -> list[str]:
        states = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [state for state in states if state not in State.values]
        if unknown:
            raise serializers.ValidationError(f"未知的状态：{'、'.join(unknown)}。")
        return states


class VersionedInputSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="页面上看到的版本号；工单已被他人修改时返回 409，什么也不保存",
    )


class AcknowledgeInputSerializer(VersionedInputSerializer):
    pass


class AssignInputSerializer(VersionedInputSerializer):
    department = _department_id(required=False)
    assignee = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="承办人用户 ID（可选）"
    )


class AcceptInputSerializer(VersionedInputSerializer):
    pass


class ReturnInputSerializer(VersionedInputSerializer):
    reason = _text("退单理由", max_length=2000)


class TransferInputSerializer(VersionedInputSerializer):
    department = _department_id(required=True)
    reason = _text("转办理由", max_length=2000)


class RequestInfoInputSerializer(VersionedInputSerializer):
    question = _text("需要市民补充的内容", max_length=2000)


class ResumeInputSerializer(VersionedInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ReplyInputSerializer(VersionedInputSerializer):
    content = _text("答复内容", max_length=10000)


class ReopenInputSerializer(VersionedInputSerializer):
    reason = _text("重办理由", max_length=2000)


class CloseInputSerializer(VersionedInputSerializer):
    pass


class MergeInputSerializer(VersionedInputSerializer):
    into = _text("合并到的工单编号", max_length=14)


class MarkInvalidInputSerializer(VersionedInputSerializer):
    reason = _text("无效原因", max_length=2000)


class ClassifyInputSerializer(VersionedInputSerializer):
    request_type = serializers.ChoiceField(choices=RequestType.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    category = serializers.IntegerField(required=False, min_value=1, help_text="分类 ID")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(key in attrs for key in ("request_type", "urgency", "category")):
            raise serializers.ValidationError(
                {"request_type": "请至少修改诉求类型、紧急程度或分类中的一项。"}
            )
        return attrs


class NoteInputSerializer(serializers.Serializer):
    text = _text("备注内容", max_length=4000)


class WebsiteTicketInputSerializer(serializers.Serializer):
    """The citizen's form on the website; every reason is in Chinese and names the field."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    phone = serializers.CharField(
        max_length=32,
        help_text="手机号（如 13812345678）或固定电话（如 027-12345678）",
        error_messages={"required": "请填写联系电话。", "blank": "请填写联系电话。"},
    )
    email = serializers.EmailField(
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": "电子邮件地址格式不正确。"},
    )
    request_type = serializers.ChoiceField(
        choices=RequestType.choices,
        default=RequestType.HELP,
        error_messages={"invalid_choice": "诉求类型无效。"},
    )
    category = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32, help_text="分类编码"
    )
    title = _text("标题", max_length=200)
    content = serializers.CharField(
        help_text=f"{CONTENT_MIN}–{CONTENT_MAX} 个字",
        error_messages={"required": "请填写诉求内容。", "blank": "请填写诉求内容。"},
    )
    address = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    confidential = serializers.BooleanField(required=False, default=False)
    idempotency_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        help_text="表单提交令牌：同一令牌重复提交只会产生一件诉求",
    )

    def validate_phone(self, value: str) -> str:
        phone = re.sub(r"\s+", "", value)
        if not (MOBILE.match(phone) or LANDLINE.match(phone)):
            raise serializers.ValidationError(
                "请填写有效的手机号（如 13812345678）或固定电话（如 027-12345678）。"
            )
        return phone

    def validate_content(self, value: str) -> str:
        if len(value) < CONTENT_MIN:
            raise serializers.ValidationError(f"诉求内容至少 {CONTENT_MIN} 个字。")
        if len(value) > CONTENT_MAX:
            raise serializers.ValidationError(f"诉求内容不能超过 {CONTENT_MAX} 个字。")
        return value

    def validate_category(self, value: str) -> str:
        if value and not Category.objects.filter(code=value, active=True).exists():
            raise serializers.ValidationError("所选分类不存在。")
        return value


class WebsiteTicketCreatedSerializer(serializers.Serializer):
    case_no = serializers.CharField(help_text="诉求编号")
    query_code = serializers.CharField(help_text="查询码：与编号一起在 /track/ 查询进度")
    lookup_url = serializers.CharField()
