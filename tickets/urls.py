"""The live inbox, mounted at /inbox/ by config.urls."""

from __future__ import annotations

from django.urls import URLPattern, path

from tickets.views import approvals, auth, export, hotspots, queue, ticket

app_name = "inbox"

urlpatterns: list[URLPattern] = [
    path("", queue.queue, name="queue"),
    path("rows/", queue.rows, name="rows"),
    path("rows/<int:ticket_id>/", queue.row, name="row"),
    path("changes/", queue.changes, name="changes"),
    path("views/save/", queue.view_save, name="view-save"),
    path("views/delete/", queue.view_delete, name="view-delete"),
    path("bulk/", queue.bulk, name="bulk"),
    path("export.xlsx", export.queue_xlsx, name="export-xlsx"),
    path("approvals/", approvals.approvals, name="approvals"),
    path(
        "approvals/extensions/<int:request_id>/",
        approvals.extension_decide,
        name="approvals-extension",
    ),
    path("hotspots/act/", hotspots.hotspot_act, name="hotspot-act"),
    path("tickets/<str:case_no>/", ticket.ticket_page, name="ticket"),
    path("tickets/<str:case_no>/assignees/", ticket.assignees, name="ticket-assignees"),
    path("tickets/<str:case_no>/<str:action>/", ticket.ticket_action, name="ticket-action"),
    path("login/", auth.StaffLoginView.as_view(), name="login"),
    path("logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("profile/", auth.profile, name="profile"),
]
