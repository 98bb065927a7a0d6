from django.urls import path

from integrations.hotline import inbound

app_name = "hotline"

urlpatterns = [
    path("<slug:slug>/orders", inbound.orders_receive, name="orders"),
]
