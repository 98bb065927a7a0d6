"""The echo channel (registered by the test only) in a real browser: a message pushed to it
appears live in the dispatcher's inbox with the channel's own badge and name."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from django.core.management import call_command

from tests.browser import Step, browser_marks, sign_in

pytestmark = browser_marks

KEY = "echo-secret-key"


def test_it_shows_a_message_of_a_plugged_in_channel_live_with_its_badge(
    echo_channel: Any, live_asgi: str, cast: dict[str, Any], browser: Any
) -> None:
    call_command("channel_account", "echo", "--slug", "echo-1", "--echo-key", KEY)
    step = Step("echo-channel", folder="integrations")
    dispatcher = sign_in(browser, live_asgi, "dispatcher")
    body = {"id": "m-1", "user": "u-1", "text": "人民路和解放路路口的红绿灯坏了两天了。"}
    request = urllib.request.Request(
        f"{live_asgi}/integrations/echo/echo-1/messages",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Echo-Key": KEY},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        case_no = json.loads(response.read())["case_no"]
    row = dispatcher.locator("tr.ticket-row", has_text=case_no)
    row.wait_for()
    badge = row.locator("td.channel .channel-icon.channel-echo")
    assert badge.inner_text() == "回"
    assert row.locator("td.channel").get_attribute("title") == "回声"
    step.shot(dispatcher, "row-with-echo-badge")
    # A fresh page for the filter: a screenshot hides the caret by giving inputs a style that
    # it then empties, and htmx's settling would copy that style="" (an inline style).
    dispatcher.goto(f"{live_asgi}/inbox/")
    with dispatcher.expect_response(re.compile(r"/inbox/\?.*channel=echo")):
        dispatcher.select_option("select[name=channel]", "echo")
    dispatcher.locator("tr.ticket-row", has_text=case_no).wait_for()
    assert dispatcher.locator("tr.ticket-row").count() == 1
    step.shot(dispatcher, "filtered-by-echo")
