"""import_history: good lines in, bad lines reported by number, nothing twice, no side effects."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboards.importer import history_import
from integrations.models import InboundMessage, OutboxMessage
from tests.dashboards.conftest import at
from tests.dashboards.history_data import month_of_history
from tickets.models import ExtensionRequest, Feedback, Reply, Ticket, TicketEvent


def _run(path):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_history", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


GOOD = {
    "id": "OLD-1",
    "channel": "hotline",
    "request_type": "complaint",
    "category": "lights",
    "department": "a",
    "content": "建设路路灯不亮",
    "received_at": "2026-09-30T16:00:00+08:00",
    "acknowledged_at": "2026-09-30T16:20:00+08:00",
    "replies": [{"at": "2026-10-28T09:00:00+08:00", "content": "已修复"}],
    "feedback": [{"at": "2026-10-29T09:00:00+08:00", "satisfaction": "基本满意", "resolved": True}],
}


def test_it_imports_a_case_with_deadlines_and_stamps_by_our_rules(tmp_path, categories):
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n", encoding="utf-8")
    out, _err = _run(path)
    assert "导入 1 件" in out
    ticket = Ticket.objects.get()
    # The worked example of specs/sla.md: a complaint received 2026-09-30 16:00 is due
    # 2026-10-27 23:59:59 (National Day holidays and the make-up Saturday counted).
    assert ticket.resolve_due_at == at("2026-10-27 23:59:59")
    assert ticket.ack_due_at == at("2026-09-30 16:30")
    assert ticket.ack_on_time is True
    assert ticket.resolved_on_time is False  # replied on the 28th
    assert ticket.state == "closed" and ticket.closed_at == at("2026-10-29 09:00")
    assert ticket.channel == "hotline" and ticket.department.code == "a"
    assert ticket.sla_next_at is None
    assert ticket.case_no.startswith("20260930")
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["created", "acknowledge", "assign", "reply", "feedback", "close"]
    assert Reply.objects.get(ticket=ticket).content == "已修复"
    feedback = Feedback.objects.get(ticket=ticket)
    assert (feedback.satisfaction, feedback.resolved) == ("basically_satisfied", True)
    journal = InboundMessage.objects.get(channel="import", dedupe_key="OLD-1")
    assert journal.ticket_id == ticket.pk and journal.status == "processed"


def test_it_reports_bad_lines_with_their_number_and_imports_the_good_ones(tmp_path, categories):
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        "{not json",
        json.dumps({**GOOD, "id": "OLD-2", "received_at": "yesterday"}),
        json.dumps({**GOOD, "id": "OLD-3", "department": "nowhere"}),
        json.dumps({**GOOD, "id": "OLD-4", "acknowledged_at": None}),
        json.dumps({**GOOD, "id": "OLD-5", "channel": "fax"}),
        json.dumps({**GOOD, "id": "OLD-1"}),
        "",
        json.dumps(
            {
                **GOOD,
                "id": "OLD-6",
                "received_at": "2026-10-02 10:00",
                "acknowledged_at": "2026-10-02 10:05",
            }
        ),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = _run(path)
    assert "第 2 行：不是有效的 JSON" in err
    assert "第 3 行：received_at 的时间格式无效" in err
    assert "第 4 行：未知的部门编码「nowhere」" in err
    assert "第 5 行：有答复但没有受理时间" in err
    assert "第 6 行：channel 的值「fax」无效" in err
    assert "第 7 行：id「OLD-1」与第 1 行重复" in err
    assert "导入 2 件" in out and "错误 6 行" in out
    assert set(Ticket.objects.values_list("received_at", flat=True)) == {
        at("2026-09-30 16:00"),
        at("2026-10-02 10:00"),  # no offset: read as Asia/Shanghai
    }
    assert InboundMessage.objects.filter(channel="import", status="rejected").count() == 6


def test_it_imports_nothing_twice_on_a_re_run(tmp_path, categories):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(month_of_history(count=30)) + "\n", encoding="utf-8")
    out, _err = _run(path)
    assert "导入 30 件" in out
    counts = (Ticket.objects.count(), TicketEvent.objects.count(), Feedback.objects.count())
    out, _err = _run(path)
    assert "导入 0 件" in out and "跳过 30 件" in out
    assert (Ticket.objects.count(), TicketEvent.objects.count(), Feedback.objects.count()) == counts


def test_it_sends_no_notices_and_schedules_no_sla_events(tmp_path, categories):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(month_of_history(count=40)) + "\n", encoding="utf-8")
    _run(path)
    assert Ticket.objects.count() == 40
    assert OutboxMessage.objects.count() == 0
    assert not Ticket.objects.filter(sla_next_at__isnull=False).exists()


def test_it_records_returns_extensions_and_reopens(categories):
    case = {
        **GOOD,
        "id": "OLD-9",
        "received_at": "2026-03-02T09:00:00+08:00",
        "acknowledged_at": "2026-03-02T09:10:00+08:00",
        "returns": [{"at": "2026-03-02T11:00:00+08:00", "reason": "非本部门"}],
        "extensions": [{"requested_at": "2026-03-10T10:00:00+08:00", "days": 5, "reason": "勘查"}],
        "replies": [{"at": "2026-03-27T10:00:00+08:00"}],
        "feedback": [
            {"at": "2026-03-28T10:00:00+08:00", "satisfaction": "不满意", "resolved": "否"}
        ],
    }
    report = history_import([json.dumps(case, ensure_ascii=False)])
    assert report.errors == [] and report.imported == 1
    ticket = Ticket.objects.get()
    # 15 working days from 03-02 is 03-23; the approved extension of 5 moves it to 03-30.
    assert ticket.resolved_on_time is True
    assert ticket.state == "in_progress" and ticket.reopen_count == 1
    assert ExtensionRequest.objects.get(ticket=ticket).status == "approved"
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count("return_to_dispatch") == 1 and kinds.count("assign") == 2
    assert kinds[-1] == "reopen"


def test_it_refuses_a_missing_file(db):
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import_history", "/nonexistent/history.jsonl")
