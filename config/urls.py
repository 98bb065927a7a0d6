import os

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from integrations import demo_traffic
from integrations.urls import channel_urlpatterns

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    *[path(name, views.site_icon, {"name": name}) for name in views.ICONS],
    path("admin/demo-traffic/", demo_traffic.demo_page, name="demo-traffic"),
    path("admin/demo-traffic/sample/<str:channel>/", demo_traffic.demo_sample),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tickets.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file of its own (no inline script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("integrations/", include("integrations.urls")),
    path("inbox/", include("tickets.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("public/", include("tickets.public.urls")),
    # Every channel's pages and endpoints, where its ChannelSpec mounts them (the website at
    # the root, Open311 at open311/v2/, the others under integrations/<channel>/).
    *channel_urlpatterns(),
]

if os.environ.get("MINSHENG_BENCH") == "1":  # make bench only: the W0 yardstick view
    urlpatterns.insert(0, path("bench/", include("bench.urls")))
