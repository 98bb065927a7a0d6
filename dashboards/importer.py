"""Reading a history file (JSON Lines, see ``docs/import-history.md``) into tickets.

Each line is checked on its own: a bad line is reported with its number and reason (and kept in
the inbound journal as ``rejected``), good lines are written in batches through
``tickets.services.history``. Every imported case is journaled under channel ``import`` with the
source system's id as dedupe key, in the same transaction as its ticket, so a re-run imports
nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.journal import journal_store
from integrations.models import InboundMessage
from sla.clock import CHINA
from tickets.models import Category, Channel, Department, Feedback, RequestType, Urgency
from tickets.services.history import (
    HistoryExtension,
    HistoryFeedback,
    HistoryPause,
    HistoryRecord,
    HistoryReply,
    HistoryReturn,
    tickets_import_history,
)

JOURNAL_CHANNEL = "import"
BATCH_SIZE = 200
DEFAULT_REPLY = "（历史答复）"


class LineError(Exception):
    """Why one line cannot be imported (shown to the person running the import)."""


@dataclass
class ImportReport:
    total: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"共 {self.total} 行：导入 {self.imported} 件，"
            f"已导入过跳过 {self.skipped} 件，错误 {len(self.errors)} 行"
        )


def _choice(value: Any, choices: Any, name: str, default: str) -> str:
    if value in (None, ""):
        return default
    by_label = {str(label): key for key, label in choices.choices}
    if isinstance(value, str) and value in choices.values:
        return value
    if isinstance(value, str) and value in by_label:
        return by_label[value]
    raise LineError(f"{name} 的值「{value}」无效，可用：{'、'.join(choices.values)}")


def _time(value: Any, name: str, *, required: bool = False) -> dt.datetime | None:
    if value in (None, ""):
        if required:
            raise LineError(f"缺少 {name}")
        return None
    if not isinstance(value, str):
        raise LineError(f"{name} 应为 ISO 8601 时间字符串")
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LineError(f"{name} 的时间格式无效：「{value}」")
    if moment.tzinfo is None:  # the previous system's local time: Asia/Shanghai
        moment = moment.replace(tzinfo=CHINA)
    return moment


def _need(moment: dt.datetime | None, name: str) -> dt.datetime:
    if moment is None:
        raise LineError(f"缺少 {name}")
    return moment


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise LineError(f"{key} 应为对象列表")
    return value


def _not_before(later: dt.datetime | None, earlier: dt.datetime | None, what: str) -> None:
    if later is not None and earlier is not None and later < earlier:
        raise LineError(what)


def _resolved(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    if value in ("是", "已解决", "yes"):
        return True
    if value in ("否", "未解决", "no"):
        return False
    raise LineError(f"resolved 的值「{value}」无效，应为 true/false")


def _feedback(data: dict[str, Any]) -> list[HistoryFeedback]:
    out = []
    for item in _items(data, "feedback"):
        satisfaction = _choice(item.get("satisfaction"), Feedback.Satisfaction, "satisfaction", "")
        if not satisfaction:
            raise LineError("feedback 缺少 satisfaction")
        out.append(
            HistoryFeedback(
                at=_need(_time(item.get("at"), "feedback.at"), "feedback.at"),
                satisfaction=satisfaction,
                resolved=_resolved(item.get("resolved")),
                comment=str(item.get("comment") or "")[:2000],
            )
        )
    return out


def _extensions(data: dict[str, Any]) -> list[HistoryExtension]:
    out = []
    for item in _items(data, "extensions"):
        days = item.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 99:
            raise LineError("extensions.days 应为 1 到 99 的整数（工作日）")
        requested = _need(_time(item.get("requested_at"), "extensions.requested_at"), "申请时间")
        decided = _time(item.get("decided_at"), "extensions.decided_at") or requested
        _not_before(decided, requested, "延期的审批时间早于申请时间")
        out.append(
            HistoryExtension(
                requested_at=requested,
                days=days,
                reason=str(item.get("reason") or "历史延期"),
                approved=bool(item.get("approved", True)),
                decided_at=decided,
            )
        )
    return out


def _check_order(record: HistoryRecord) -> None:
    received = record.received_at
    _not_before(record.acknowledged_at, received, "受理时间早于收到时间")
    if record.replies and record.acknowledged_at is None:
        raise LineError("有答复但没有受理时间（acknowledged_at）")
    if record.assigned_at is not None and record.department is None:
        raise LineError("有派单时间但没有承办部门（department）")
    _not_before(record.assigned_at, record.acknowledged_at, "派单时间早于受理时间")
    replies = [item.at for item in record.replies]
    if replies != sorted(replies):
        raise LineError("replies 应按时间先后排列")
    if replies:
        _not_before(replies[0], record.acknowledged_at, "答复时间早于受理时间")
    if len(record.feedback) > len(replies):
        raise LineError("评价次数多于答复次数（每次答复至多一次评价）")
    for index, item in enumerate(record.feedback):
        _not_before(item.at, replies[index], f"第 {index + 1} 次评价早于它所评价的答复")
        if index + 1 < len(replies) and item.at > replies[index + 1]:
            raise LineError(f"第 {index + 1} 次评价晚于下一次答复")
        if index + 1 < len(record.feedback) and item.satisfaction != "unsatisfied":
            raise LineError("满意的评价之后不应再有评价（工单已办结）")
    if record.closed_at is not None and not replies:
        raise LineError("有办结时间但没有答复")
    _not_before(record.closed_at, replies[-1] if replies else None, "办结时间早于最后一次答复")
    for pause in record.pauses:
        _not_before(pause.start, received, "暂停时间早于收到时间")
        _not_before(pause.end, pause.start, "恢复时间早于暂停时间")
    for ext in record.extensions:
        _not_before(ext.requested_at, received, "延期申请早于收到时间")
    for ret in record.returns:
        _not_before(ret.at, record.assigned_at or record.acknowledged_at, "退单时间早于派单时间")
    if record.returns and record.department is None:
        raise LineError("有退单但没有承办部门（department）")
    if record.invalid_at is not None and replies:
        raise LineError("无效工单不应有答复")
    if earlier := [m for m in (item.at for item in record.feedback) if m < received]:
        raise LineError(f"评价时间 {earlier[0].isoformat()} 早于收到时间")


@dataclass
class Codes:
    """Category and department codes of this installation, looked up once per run."""

    categories: dict[str, Category]
    departments: dict[str, Department]

    @classmethod
    def load(cls) -> Codes:
        return cls(
            categories={item.code: item for item in Category.objects.all()},
            departments={item.code: item for item in Department.objects.all()},
        )


def record_parse(line: str, codes: Codes) -> HistoryRecord:
    """One line of the history file into a checked record, or LineError with the reason."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"不是有效的 JSON：{exc.msg}（第 {exc.colno} 列）")
    if not isinstance(data, dict):
        raise LineError("每行应为一个 JSON 对象")
    source_id = data.get("id")
    if not isinstance(source_id, (str, int)) or isinstance(source_id, bool) or not str(source_id):
        raise LineError("缺少 id（原系统的工单编号）")
    content = str(data.get("content") or "").strip()
    if not content:
        raise LineError("缺少 content（诉求内容）")
    category = department = None
    if data.get("category"):
        category = codes.categories.get(str(data["category"]))
        if category is None:
            raise LineError(f"未知的分类编码「{data['category']}」")
    if data.get("department"):
        department = codes.departments.get(str(data["department"]))
        if department is None:
            raise LineError(f"未知的部门编码「{data['department']}」")
    record = HistoryRecord(
        source_id=str(source_id)[:200],
        channel=_choice(data.get("channel"), Channel, "channel", Channel.IMPORT),
        request_type=_choice(data.get("request_type"), RequestType, "request_type", "help"),
        urgency=_choice(data.get("urgency"), Urgency, "urgency", Urgency.NORMAL),
        content=content,
        title=str(data.get("title") or "")[:200],
        address=str(data.get("address") or "")[:300],
        received_at=_need(_time(data.get("received_at"), "received_at"), "received_at"),
        category=category,
        department=department,
        acknowledged_at=_time(data.get("acknowledged_at"), "acknowledged_at"),
        assigned_at=_time(data.get("assigned_at"), "assigned_at"),
        returns=[
            HistoryReturn(
                at=_need(_time(item.get("at"), "returns.at"), "returns.at"),
                reason=str(item.get("reason") or "历史退单"),
            )
            for item in _items(data, "returns")
        ],
        pauses=[
            HistoryPause(
                start=_need(_time(item.get("from"), "pauses.from"), "pauses.from"),
                end=_need(_time(item.get("to"), "pauses.to"), "pauses.to"),
            )
            for item in _items(data, "pauses")
        ],
        extensions=_extensions(data),
        replies=[
            HistoryReply(
                at=_need(_time(item.get("at"), "replies.at"), "replies.at"),
                content=str(item.get("content") or DEFAULT_REPLY),
            )
            for item in _items(data, "replies")
        ],
        feedback=_feedback(data),
        closed_at=_time(data.get("closed_at"), "closed_at"),
        invalid_at=_time(data.get("invalid_at"), "invalid_at"),
        invalid_reason=str(data.get("invalid_reason") or ""),
    )
    if record.invalid_at is not None and not record.invalid_reason:
        raise LineError("无效工单需要 invalid_reason")
    _check_order(record)
    return record


def _reject(line: str, reason: str) -> None:
    """Keep the bad line in the journal (its key: a hash of the text, so a re-run of the same
    bad line adds nothing)."""
    digest = hashlib.sha256(line.encode()).hexdigest()
    row, _created = journal_store(
        channel=JOURNAL_CHANNEL,
        dedupe_key=f"rejected:{digest}",
        raw_body=line.encode(),
        content_type="application/jsonl",
    )
    InboundMessage.objects.filter(pk=row.pk).update(
        status=InboundMessage.Status.REJECTED, reason=reason[:2000]
    )


def _write_batch(batch: list[tuple[int, str, HistoryRecord]]) -> int:
    now = timezone.now()
    with transaction.atomic():
        tickets = tickets_import_history(records=[record for _n, _line, record in batch])
        InboundMessage.objects.bulk_create(
            [
                InboundMessage(
                    channel=JOURNAL_CHANNEL,
                    dedupe_key=record.source_id,
                    raw_body=line.encode(),
                    content_type="application/jsonl",
                    status=InboundMessage.Status.PROCESSED,
                    response={"action": "imported", "case_no": ticket.case_no, "line": number},
                    ticket=ticket,
                    received_at=now,
                    processed_at=now,
                    attempts=1,
                )
                for (number, line, record), ticket in zip(batch, tickets, strict=True)
            ]
        )
    return len(tickets)


def history_import(
    lines: Iterable[str],
    *,
    total: int = 0,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import every good line; report bad ones with their line number and reason."""
    report = ImportReport(total=total)
    codes = Codes.load()
    seen: dict[str, int] = {}
    batch: list[tuple[int, str, HistoryRecord]] = []

    def flush() -> None:
        if not batch:
            return
        known = set(
            InboundMessage.objects.filter(
                channel=JOURNAL_CHANNEL, dedupe_key__in=[item[2].source_id for item in batch]
            ).values_list("dedupe_key", flat=True)
        )
        fresh = [item for item in batch if item[2].source_id not in known]
        report.skipped += len(batch) - len(fresh)
        report.imported += _write_batch(fresh) if fresh else 0
        batch.clear()

    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if progress is not None:
            progress(number, total)
        if not line or line.startswith("#"):
            continue
        try:
            record = record_parse(line, codes)
            if record.source_id in seen:
                raise LineError(f"id「{record.source_id}」与第 {seen[record.source_id]} 行重复")
        except LineError as exc:
            report.errors.append((number, str(exc)))
            _reject(line, str(exc))
            continue
        seen[record.source_id] = number
        batch.append((number, line, record))
        if len(batch) >= batch_size:
            flush()
    flush()
    report.total = max(report.total, number)
    return report
