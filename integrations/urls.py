from django.urls import include, path

from integrations import demo_traffic

urlpatterns = [
    path("demo-sink/<slug:slug>/callbacks", demo_traffic.demo_sink, name="demo-sink"),
    path("wechat/", include("integrations.wechat.urls")),
    path("weibo/", include("integrations.weibo.urls")),
    path("hotline/", include("integrations.hotline.urls")),
]
