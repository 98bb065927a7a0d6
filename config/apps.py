"""django-axes (the staff login lock-out) under a Chinese name, with Chinese admin columns."""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("登录保护")

    def ready(self) -> None:
        super().ready()
        # The admin has imported axes.admin by now (django.contrib.admin comes first in
        # INSTALLED_APPS): put our version of its one admin with untranslated columns in place.
        from config import axes_admin

        axes_admin.register()
