"""The citizen's forms. The filing form is checked by the same rules as the JSON endpoint
(``tickets.api.serializers.WebsiteTicketInputSerializer``): one set of rules, two front doors.

Attachments are checked by their content (magic bytes), never by their name.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from tickets.api.serializers import CONTENT_MAX, CONTENT_MIN, WebsiteTicketInputSerializer
from tickets.categories import category_options
from tickets.models import Feedback, RequestType
from tickets.services.citizen import ADD_INFO_MAX, CitizenFile

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
TOKEN = re.compile(r"^[0-9a-f]{32}$")
# What a file is, from its first bytes.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
# The fields the JSON endpoint's serializer checks for us.
SHARED_FIELDS = (
    "name",
    "phone",
    "email",
    "request_type",
    "category",
    "title",
    "content",
    "address",
    "confidential",
)


def sniff_content_type(head: bytes) -> str | None:
    """The content type of a JPEG, PNG or PDF by its first bytes; None for anything else."""
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def new_token() -> str:
    return uuid.uuid4().hex


def upload_check(upload: UploadedFile) -> CitizenFile:
    """Turn one upload into a checked file or raise a ValidationError that names it."""
    label = (upload.name or "附件").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:100]
    size = upload.size or 0
    if size > MAX_FILE_BYTES:
        raise forms.ValidationError(f"附件「{label}」超过 10 MB。")
    if size == 0:
        raise forms.ValidationError(f"附件「{label}」是空文件。")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise forms.ValidationError(f"附件「{label}」不是 JPEG、PNG 图片或 PDF 文件。")
    return CitizenFile(name=label, content_type=content_type, file=upload, size=size)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to five JPEG/PNG/PDF files of at most 10 MB each; cleans to ``list[CitizenFile]``."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", "image/jpeg,image/png,application/pdf")

    def clean(self, data: Any, initial: Any = None) -> list[CitizenFile]:
        uploads = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(f"最多上传 {MAX_FILES} 个附件。")
        checked, errors = [], []
        for upload in uploads:
            try:
                checked.append(upload_check(upload))
            except forms.ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return checked


def _category_choices() -> list[tuple[str, str]]:
    options = category_options(staff=False)
    return [("", "请选择（不确定可不选）"), *((option.code, option.label) for option in options)]


class CaseForm(forms.Form):
    """网上诉求: every field is checked by the API serializer's rules in ``clean``."""

    name = forms.CharField(label="姓名", required=False, max_length=64)
    phone = forms.CharField(
        label="联系电话",
        required=False,
        help_text="手机号或固定电话（如 13812345678、027-12345678），用于回复您",
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.CharField(
        label="电子邮件",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    request_type = forms.CharField(
        label="诉求类型",
        required=False,
        initial=RequestType.HELP,
        widget=forms.Select(choices=RequestType.choices),
    )
    category = forms.CharField(label="分类", required=False, widget=forms.Select())
    title = forms.CharField(label="标题", required=False)
    content = forms.CharField(
        label="诉求内容",
        required=False,
        help_text=f"请写明时间、地点和具体情况，{CONTENT_MIN}–{CONTENT_MAX} 个字",
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    address = forms.CharField(label="地址", required=False, help_text="事发地点，如街道、小区")
    attachments = AttachmentsField(
        label="附件", help_text="最多 5 个，JPEG、PNG 图片或 PDF，每个不超过 10 MB"
    )
    confidential = forms.BooleanField(label="保密（不公开我的个人信息和诉求内容）", required=False)
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    # The honeypot: hidden from people by CSS; only a robot fills it in.
    website = forms.CharField(
        label="网址（请勿填写）",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.choices = _category_choices()  # type: ignore[attr-defined]

    def is_robot(self) -> bool:
        return bool((self.data.get("website") or "").strip())

    def token_value(self) -> str:
        token = (self.data.get("token") or "").strip().lower()
        return token if TOKEN.match(token) else ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        data = {key: cleaned.get(key) or "" for key in SHARED_FIELDS}
        data["confidential"] = bool(cleaned.get("confidential"))
        data["request_type"] = data["request_type"] or RequestType.HELP
        serializer = WebsiteTicketInputSerializer(data=data)
        if not serializer.is_valid():
            for field, messages in serializer.errors.items():
                target = field if field in self.fields else None
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, str(message))
            return cleaned
        validated = dict(serializer.validated_data)
        validated.pop("idempotency_key", None)
        cleaned.update(validated)
        return cleaned

    def message_fields(self) -> dict[str, Any]:
        """What goes into the journal (the same JSON as the API's, plus attachments)."""
        return {key: self.cleaned_data[key] for key in SHARED_FIELDS}


class TrackForm(forms.Form):
    case_no = forms.CharField(
        label="诉求编号",
        max_length=14,
        error_messages={"required": "请填写诉求编号。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    query_code = forms.CharField(
        label="查询码",
        max_length=24,
        help_text="提交成功时显示的查询码，如 ABCD-EFGH-JKMN，不区分大小写",
        error_messages={"required": "请填写查询码。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class AddInfoForm(forms.Form):
    text = forms.CharField(
        label="补充内容",
        required=False,
        max_length=ADD_INFO_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": f"补充内容不能超过 {ADD_INFO_MAX} 个字。"},
    )
    attachments = AttachmentsField(
        label="附件", help_text="最多 5 个，JPEG、PNG 图片或 PDF，每个不超过 10 MB"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            not self.errors
            and not (cleaned.get("text") or "").strip()
            and not cleaned.get("attachments")
        ):
            self.add_error("text", "请填写补充内容或上传附件。")
        return cleaned


RESOLVED_CHOICES = [("yes", "已解决"), ("no", "未解决")]


class FeedbackForm(forms.Form):
    satisfaction = forms.ChoiceField(
        label="满意度",
        choices=Feedback.Satisfaction.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "请选择满意度。",
            "invalid_choice": "请选择满意、基本满意或不满意。",
        },
    )
    resolved = forms.ChoiceField(
        label="问题是否已解决",
        choices=RESOLVED_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择问题是否已解决。", "invalid_choice": "请选择是或否。"},
    )
    comment = forms.CharField(
        label="意见和建议",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": "意见不能超过 2000 个字。"},
    )
