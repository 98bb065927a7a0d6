"""Websocket routes of the dashboards (joined into config/asgi.py's URLRouter)."""

from django.urls import path

from dashboards.consumers import DashboardConsumer

websocket_urlpatterns = [path("ws/dashboards/", DashboardConsumer.as_asgi())]
