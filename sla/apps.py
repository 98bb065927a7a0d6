from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("时限与工作日历")

    def ready(self) -> None:
        from sla import (
            checks,  # noqa: F401
            services,  # noqa: F401  (connects the reference-data version signals)
        )
