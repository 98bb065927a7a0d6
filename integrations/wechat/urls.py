from django.urls import path

from integrations.wechat import inbound

urlpatterns = [
    path("<slug:slug>/", inbound.wechat_endpoint, name="wechat-endpoint"),
]
