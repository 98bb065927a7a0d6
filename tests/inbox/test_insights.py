"""The inbox and the dashboard with hot issues and routing suggestions (Django test client;
the browser test is tests/inbox/test_browser_insights.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tickets import services
from tickets.hotspots.services import hotspots_refresh, ticket_link_lead
from tickets.models import CaseLink, State, Ticket
from tickets.suggest import selectors as suggest_selectors
from tickets.suggest.services import routing_train

pytestmark = pytest.mark.django_db

PIPE = [
    "幸福小区3栋楼下水管爆了，水哗哗往外冒",
    "幸福小区供水管道破裂，大量自来水外涌，请尽快抢修",
    "幸福小区门口自来水管爆裂，水漫了半条路",
]


@pytest.fixture
def burst(make_ticket: Any) -> list[Ticket]:
    tickets = [make_ticket(text, address="和平街道幸福小区") for text in PIPE]
    make_ticket("孩子今年上小学，请问对口学校是哪所")
    hotspots_refresh()
    return tickets


def _picks(html: str) -> list[str]:
    """The tickets the panel's one click acts on (the queue's own checkboxes are also "pick")."""
    panel = html[html.index('id="hotspots"') :]
    panel = panel[: panel.index("</details>")]
    return re.findall(r'type="hidden" name="pick" value="(\d+:\d+)"', panel)


def test_the_dispatcher_sees_the_hot_issue_panel(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    html = client_for("dispatcher").get("/inbox/").content.decode()
    assert 'id="hotspots"' in html
    assert "和平街道幸福小区" in html and "3 件" in html
    assert burst[0].case_no in html  # the lead
    assert len(_picks(html)) == 2


def test_a_handler_has_no_panel(burst: list[Ticket], client_for: Callable[[str], Client]) -> None:
    assert 'id="hotspots"' not in client_for("handler_a").get("/inbox/").content.decode()


def test_before_the_first_computation_the_panel_says_so(
    client_for: Callable[[str], Client],
) -> None:
    html = client_for("dispatcher").get("/inbox/").content.decode()
    assert "热点尚未计算" in html


def test_one_click_links_and_the_queue_shows_what_happened(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dispatcher")
    picks = _picks(client.get("/inbox/").content.decode())
    response = client.post(
        "/inbox/hotspots/act/", {"action": "link", "lead": burst[0].pk, "pick": picks}
    )
    assert response.status_code == 302
    html = client.get("/inbox/").content.decode()
    assert f"热点关联到主案 {burst[0].case_no}结果" in html
    assert html.count("✓ 成功") == 2
    assert set(CaseLink.objects.values_list("ticket_id", flat=True)) == {burst[1].pk, burst[2].pk}
    assert "暂无需要处理的热点" in html


def test_one_click_merge(burst: list[Ticket], client_for: Callable[[str], Client]) -> None:
    client = client_for("dispatcher")
    picks = _picks(client.get("/inbox/").content.decode())
    client.post("/inbox/hotspots/act/", {"action": "merge", "lead": burst[0].pk, "pick": picks})
    assert set(Ticket.objects.filter(state=State.MERGED).values_list("pk", flat=True)) == {
        burst[1].pk,
        burst[2].pk,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "explode", "lead": "1", "pick": ["1:1"]}, "没有这个操作"),
        ({"action": "merge", "lead": "x", "pick": ["1:1"]}, "主案无效"),
        ({"action": "merge", "lead": "1", "pick": ["abc"]}, "没有可以处理的工单"),
        ({"action": "merge", "lead": "1"}, "没有可以处理的工单"),
        ({"action": "merge", "lead": "999999", "pick": ["1:1"]}, "主案不存在"),
    ],
)
def test_bad_input_gets_a_clear_message_not_an_error_page(
    burst: list[Ticket], client_for: Callable[[str], Client], data: dict[str, Any], message: str
) -> None:
    client = client_for("dispatcher")
    assert client.post("/inbox/hotspots/act/", data).status_code == 302
    assert message in client.get("/inbox/").content.decode()
    assert Ticket.objects.filter(state=State.MERGED).count() == 0


def test_a_handler_cannot_merge_by_posting(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    client = client_for("handler_a")
    picks = [f"{t.pk}:{t.version}" for t in burst[1:]]
    client.post("/inbox/hotspots/act/", {"action": "merge", "lead": burst[0].pk, "pick": picks})
    assert Ticket.objects.filter(state=State.MERGED).count() == 0


def test_the_ticket_page_links_and_unlinks_a_lead_case(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    client = client_for("dispatcher")
    child, lead = burst[1], burst[0]
    page = client.get(f"/inbox/tickets/{child.case_no}/").content.decode()
    assert 'data-action="link_lead"' in page
    response = client.post(
        f"/inbox/tickets/{child.case_no}/link_lead/",
        {"lead": lead.case_no, "expected_version": child.version},
    )
    assert response.status_code == 302
    page = client.get(f"/inbox/tickets/{child.case_no}/").content.decode()
    assert "已关联到主案" in page and f'关联主案 <a href="/inbox/tickets/{lead.case_no}/">' in page
    lead_page = client.get(f"/inbox/tickets/{lead.case_no}/").content.decode()
    assert "关联到本案的工单（1 件）" in lead_page and child.case_no in lead_page
    child.refresh_from_db()
    client.post(f"/inbox/tickets/{child.case_no}/unlink_lead/", {"expected_version": child.version})
    assert not CaseLink.objects.exists()


def test_linking_to_a_wrong_case_number_keeps_the_form_with_a_message(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    child = burst[1]
    response = client_for("dispatcher").post(
        f"/inbox/tickets/{child.case_no}/link_lead/",
        {"lead": "20990101000001", "expected_version": child.version},
    )
    assert response.status_code == 400
    assert "请填写另一件工单的编号作为主案" in response.content.decode()


# --- routing suggestions on the ticket page --------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_model_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggest_selectors, "_loaded", {"pk": None, "weights": None})


def test_without_history_the_ticket_page_says_there_is_no_suggestion(
    make_ticket: Any, client_for: Callable[[str], Client]
) -> None:
    ticket = make_ticket("路灯坏了")
    page = client_for("dispatcher").get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    assert "派单建议" in page and "暂无足够的历史工单，无法给出建议" in page


def test_a_new_ticket_shows_the_suggested_department_with_two_next_choices(
    make_ticket: Any,
    cast: dict[str, Any],
    departments: dict[str, Any],
    client_for: Callable[[str], Client],
) -> None:
    from tests.tickets.test_suggest_services import HOUSING, LIGHTS, _answered

    for round_ in range(4):
        for text in LIGHTS:
            _answered(make_ticket, cast, departments, f"{text}{round_}", "a")
        for text in HOUSING:
            _answered(make_ticket, cast, departments, f"{text}{round_}", "b")
    routing_train()
    ticket = make_ticket("小区路灯不亮，晚上很黑")
    client = client_for("dispatcher")

    def card() -> str:
        page = client.get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
        found = page[page.index('id="suggestion"') :]
        return found[: found.index("</section>")]

    suggestion = card()
    names = re.findall(r'<span class="choice-name">([^<]+)</span>', suggestion)
    assert names[0] == "城管局" and "住建局" in names[1:3]
    assert "受理后即可一键采用" in suggestion and "data-suggest" not in suggestion
    services.ticket_acknowledge(actor=cast["dispatcher"], ticket_id=ticket.pk)
    suggestion = card()
    assert f'data-suggest="department" data-value="{departments["a"].pk}"' in suggestion
    assert re.search(r'<span class="confidence" title="模型置信度">\d+%</span>', suggestion)
    assert "依据 32 件已答复或办结的工单学习" in suggestion
    # A handler does not dispatch: no suggestion on their pages.
    services.ticket_assign(
        actor=cast["dispatcher"], ticket_id=ticket.pk, department_id=departments["a"].pk
    )
    page = client_for("handler_a").get(f"/inbox/tickets/{ticket.case_no}/").content.decode()
    assert 'id="suggestion"' not in page


# --- the leadership dashboard ------------------------------------------------------------------


def test_the_dashboard_shows_the_weeks_top_issues(
    burst: list[Ticket], client_for: Callable[[str], Client]
) -> None:
    client = client_for("leadership")
    html = client.get("/dashboards/").content.decode()
    section = html[html.index('id="hot-issues"') :]
    section = section[: section.index("</section>")]
    assert "近7天热点问题" in section
    assert "和平街道幸福小区" in section and ">3</td>" in section
    csv = client.get("/dashboards/csv/hotspots/").content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("排名,地点,关键词,反映件数")
    assert "和平街道幸福小区" in csv.splitlines()[1]


def test_the_linked_lead_stays_the_lead_on_the_dashboard(
    burst: list[Ticket], cast: dict[str, Any], client_for: Callable[[str], Client]
) -> None:
    ticket_link_lead(actor=cast["dispatcher"], ticket_id=burst[2].pk, lead_case_no=burst[1].case_no)
    hotspots_refresh()
    html = client_for("leadership").get("/dashboards/").content.decode()
    assert f"主案 {burst[1].case_no}" in html
