from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("渠道接入")

    def ready(self) -> None:
        from integrations import checks  # noqa: F401 - registers the system checks
        from integrations.media import queue as media_queue
        from integrations.outbound import notices
        from integrations.registry import channel_events_run, channels_discover
        from tickets.hooks import register_event_hook

        # Every channel package's ChannelSpec (integrations/<channel>/channel.py), in every
        # process: web workers, Celery workers and beat, commands. Importing a spec imports
        # its channel's modules, so its senders, replays and recovery exist in workers that
        # load no URLconf.
        channels_discover()
        # Timeline events become outbox rows inside the change's transaction: citizen notices,
        # each channel's own hooks (12345 callbacks), then media downloads.
        register_event_hook(notices.on_ticket_event)
        register_event_hook(channel_events_run)
        register_event_hook(media_queue.on_ticket_event)
