from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.home, name="home"),
    path("workload/", views.workload, name="workload"),
    path("csv/<str:table>/", views.table_csv, name="csv"),
    path("reports/", views.reports, name="reports"),
    path("reports/request/", views.report_request, name="report_request"),
    path("reports/<str:month>/status/", views.report_status, name="report_status"),
    path("reports/<str:month>/download/", views.report_download, name="report_download"),
]
