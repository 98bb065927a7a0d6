from django.urls import path

from integrations.website import views

app_name = "website"
urlpatterns = [
    path("", views.case_file, name="file"),
    path("filed/<str:token>/", views.case_filed, name="filed"),
    path("track/", views.track, name="track"),
    path("track/<str:token>/", views.case_detail, name="case"),
    path("track/<str:token>/info/", views.case_add_info, name="add_info"),
    path("track/<str:token>/rate/", views.case_rate, name="rate"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
