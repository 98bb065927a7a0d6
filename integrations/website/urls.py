from django.urls import path  # noqa: F401

urlpatterns: list = []  # citizen pages: form, confirmation, /track/, add information, rating
