from django.urls import include, path

urlpatterns = [
    path("wechat/", include("integrations.wechat.urls")),
    path("weibo/", include("integrations.weibo.urls")),
    path("hotline/", include("integrations.hotline.urls")),
]
