"""``/api/v1/`` answers with an index (the README links it), not a 404."""

from __future__ import annotations

from django.test import Client


def test_it_answers_the_api_root_with_its_endpoints_docs_and_schema(db: None) -> None:
    response = Client().get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "民声 REST API v1"
    assert data["docs"].endswith("/api/docs/") and data["schema"].endswith("/api/schema/")
    paths = {(item["method"], item["path"]) for item in data["endpoints"]}
    assert ("GET", "/api/v1/tickets/") in paths
    assert ("POST", "/api/v1/tickets/{case_no}/acknowledge/") in paths
    assert ("POST", "/api/v1/website/tickets/") in paths
    assert all(item["description"] for item in data["endpoints"])


def test_every_path_the_index_names_exists(db: None) -> None:
    client = Client()
    data = client.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    for item in data["endpoints"]:
        path = item["path"].replace("{case_no}", "20990101000001")
        response = client.generic(item["method"], path, HTTP_ACCEPT="application/json")
        # Refused for want of a login or a ticket, never "no such interface".
        assert response.status_code in (400, 401, 403, 404), (path, response.status_code)
        if response.status_code == 404:
            assert response.json()["code"] != "not_found", path


def test_an_unknown_api_path_is_still_a_json_404(db: None) -> None:
    response = Client().get("/api/v1/nothing/", HTTP_ACCEPT="application/json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
