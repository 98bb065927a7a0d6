"""The inbox's catch-up feed (/inbox/changes/, after a reconnect) lists only tickets the viewer
may see now (issue 13, item 8): never another department's, and not a ticket their department
has returned (退单) to dispatch or transferred away."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import walk
from tickets import services

pytestmark = pytest.mark.django_db


def _ids(client: Client) -> set[int]:
    response = client.get("/inbox/changes/", {"since": "0"})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["rows"]}


def test_the_catch_up_lists_only_what_the_viewer_may_see_now(
    client_for: Any, make_ticket: Any, cast: dict[str, Any], departments: Any
) -> None:
    kept = walk(make_ticket("城管局在办：路灯坏了很久了。"), cast, departments, "in_progress")
    returned = walk(make_ticket("城管局退回：这件不归城管。"), cast, departments, "assigned")
    services.ticket_return(actor=cast["handler_a"], ticket_id=returned.pk, reason="不归我们管")
    moved = walk(make_ticket("转给住建局：物业问题。"), cast, departments, "in_progress")
    services.ticket_transfer(
        actor=cast["handler_a"],
        ticket_id=moved.pk,
        department_id=departments["b"].pk,
        reason="物业归住建局",
    )
    fresh = make_ticket("还没派单：噪音扰民。")

    assert _ids(client_for("handler_a")) == {kept.pk}
    assert _ids(client_for("handler_b")) == {moved.pk}
    assert _ids(client_for("handler_a1")) == set()  # a section sees nothing of its bureau's
    assert _ids(client_for("dispatcher")) == {kept.pk, returned.pk, moved.pk, fresh.pk}
