"""REST API v1, mounted at /api/v1/ by config.urls."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from tickets.api import index, views

app_name = "api"

urlpatterns: list[URLPattern] = [
    path("", index.ApiIndexView.as_view(), name="index"),
    path("tickets/", views.TicketListView.as_view(), name="ticket-list"),
    path("tickets/<str:case_no>/", views.TicketDetailView.as_view(), name="ticket-detail"),
    *[
        path(
            f"tickets/<str:case_no>/{action}/",
            view.as_view(),
            name=f"ticket-{action.replace('_', '-')}",
        )
        for action, view in views.ACTION_VIEWS.items()
    ],
    path("website/tickets/", views.WebsiteTicketCreateView.as_view(), name="website-ticket-create"),
    re_path(r"^.*$", views.ApiNotFoundView.as_view(), name="not-found"),
]
