from django.urls import path  # noqa: F401

urlpatterns: list = []  # the weibo package fills this in
