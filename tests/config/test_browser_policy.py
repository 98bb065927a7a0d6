"""Every kind of page runs under the Content-Security-Policy with its scripts working (issue
13, item 7): the citizen's form and look-up, the public pages, the inbox (htmx), the
leadership dashboard (the vendored ECharts draws and shows a tooltip), the admin and the
demo-traffic page's script. Any violation the browser reports fails the test
(tests/browser.py). Screenshots: test-artifacts/defences/."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.browser import Step, browser_marks, in_thread, sign_in
from tickets.models import Ticket

pytestmark = browser_marks
POLICY_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'")


def _csp(response: Any) -> str:
    return str(response.headers.get("content-security-policy", ""))


@pytest.mark.usefixtures("categories")
def test_every_kind_of_page_works_under_the_policy(
    live_asgi: str, cast: dict[str, Any], browser: Any
) -> None:
    step = Step("csp", folder="defences")
    citizen = browser.new_context(locale="zh-CN").new_page()
    answer = citizen.goto(f"{live_asgi}/")
    assert all(part in _csp(answer) for part in POLICY_PARTS), _csp(answer)
    citizen.fill("input[name=title]", "建设路路灯不亮")
    citizen.fill("textarea[name=content]", "建设路口的路灯坏了一个多星期，晚上很黑。")
    citizen.fill("input[name=phone]", "13800001234")
    citizen.locator("select[name=category]").select_option(index=1)
    citizen.click("button[type=submit]")
    citizen.wait_for_selector("#case-no")
    case_no, code = citizen.inner_text("#case-no"), citizen.inner_text("#query-code")
    step.shot(citizen, "citizen-filed")
    citizen.goto(f"{live_asgi}/track/")
    citizen.fill("input[name=case_no]", case_no)
    citizen.fill("input[name=query_code]", code)
    citizen.click("button[type=submit]")
    citizen.wait_for_selector("text=" + case_no)
    step.shot(citizen, "citizen-tracks")

    for path in ("/public/", "/public/stats/", "/public/data/"):
        answer = citizen.goto(f"{live_asgi}{path}")
        assert answer.status == 200 and "script-src 'self'" in _csp(answer)
    step.shot(citizen, "public-data")

    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    dispatcher.goto(f"{live_asgi}/inbox/tickets/{case_no}/")
    dispatcher.click("button[data-action=acknowledge]")
    dispatcher.wait_for_selector(".flash-success")
    step.shot(dispatcher, "inbox-ticket")
    assert in_thread(lambda: Ticket.objects.get(case_no=case_no).state) == "acknowledged"

    leader = sign_in(browser, live_asgi, "leadership")
    # This month's dashboard (it opens on the last complete month, which has no cases here).
    leader.goto(f"{live_asgi}/dashboards/?month={timezone.localdate():%Y-%m}")
    leader.wait_for_selector("#chart-departments svg")
    chart = leader.locator("#chart-categories")
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    texts = (
        "() => [...document.querySelectorAll('#chart-categories svg text')].map(t => t.textContent)"
    )
    before = leader.evaluate(texts)
    leader.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # ECharts' tooltip appears, drawn in the chart's SVG (richText): no HTML with inline
    # styles, which the policy would refuse.
    leader.wait_for_function(f"() => ({texts})().length > {len(before)}")
    leader.screenshot(path=str(step.folder / "csp-tooltip.png"))
    step.shot(leader, "dashboard-charts")
    leader.goto(f"{live_asgi}/dashboards/reports/")
    step.shot(leader, "reports")

    admin = browser.new_context(locale="zh-CN").new_page()
    admin.goto(f"{live_asgi}/admin/login/")
    admin.fill("input[name=username]", "admin")
    admin.fill("input[name=password]", "pw-admin")
    admin.click("input[type=submit]")
    admin.wait_for_url(f"{live_asgi}/admin/")
    for path in ("/admin/tickets/ticket/", "/admin/integrations/inboundmessage/"):
        assert admin.goto(f"{live_asgi}{path}").status == 200
    inbound = in_thread(lambda: Ticket.objects.get(case_no=case_no).inbound_messages.get().pk)
    admin.goto(f"{live_asgi}/admin/integrations/inboundmessage/{inbound}/change/")
    admin.wait_for_selector("pre.minsheng-pre")
    admin.goto(f"{live_asgi}/admin/demo-traffic/")
    admin.click("button[data-channel=wechat]")
    admin.wait_for_selector("#results tbody tr")  # the page's own script ran
    step.shot(admin, "admin-demo-traffic")
