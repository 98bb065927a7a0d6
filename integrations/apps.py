from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("渠道接入")

    def ready(self) -> None:
        from integrations import checks  # noqa: F401 - registers the deploy check

        # Turn timeline events into outbox rows (citizen notices, 12345 callbacks, media
        # downloads); the media handler registers its own pass of the outbox.
        from integrations.hotline import callbacks

        # Each channel registers how its journal rows are taken in again and how its spooled
        # pushes are replayed (the recovery job runs in workers that load no URLconf).
        from integrations.hotline import inbound as hotline_inbound  # noqa: F401
        from integrations.media import download as media_download  # noqa: F401 - handler
        from integrations.media import queue as media_queue
        from integrations.open311 import parser as open311_parser  # noqa: F401
        from integrations.outbound import notices
        from integrations.website import parser as website_parser  # noqa: F401
        from integrations.wechat import inbound as wechat_inbound  # noqa: F401
        from integrations.wechat import transport as wechat_transport  # noqa: F401 - senders
        from integrations.weibo import inbound as weibo_inbound  # noqa: F401
        from integrations.weibo import transport as weibo_transport  # noqa: F401 - senders

        for module in (notices, callbacks, media_queue):
            hook = getattr(module, "on_ticket_event", None)
            if hook is not None:
                from tickets.hooks import register_event_hook

                register_event_hook(hook)
