from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("工单")

    def ready(self) -> None:
        # Every reply refreshes the case's public record; the admin pages for public records
        # and Open311 keys live with the public pages.
        from tickets import publication
        from tickets.hooks import register_event_hook
        from tickets.public import admin as public_admin  # noqa: F401

        register_event_hook(publication.on_ticket_event)
