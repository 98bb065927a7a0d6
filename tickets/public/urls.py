from django.urls import path

from tickets.public import feeds, review, views

app_name = "public"
urlpatterns = [
    path("", views.record_list, name="list"),
    path("cases/<str:public_id>/", views.record_detail, name="detail"),
    path("stats/", views.statistics, name="stats"),
    path("feed/", feeds.PublishedRecordsFeed(), name="feed"),
    path("data/", views.open_data_index, name="data"),
    path("data/<str:month>.csv", views.open_data_month, name="data_month"),
    path("review/", review.review_list, name="review_list"),
    path("review/<int:record_id>/", review.review_detail, name="review_detail"),
]
