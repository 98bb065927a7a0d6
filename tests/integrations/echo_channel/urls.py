from django.urls import path

from tests.integrations.echo_channel import inbound

app_name = "echo"
urlpatterns = [
    path("<slug:slug>/messages", inbound.messages_receive, name="messages"),
]
