from django.urls import path

from integrations.weibo.inbound import weibo_endpoint

urlpatterns = [
    path("<slug:slug>/", weibo_endpoint, name="weibo-inbound"),
]
