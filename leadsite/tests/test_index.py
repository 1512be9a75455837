"""GET /: a short JSON index of where to go."""


def test_root_answers_with_links_to_docs_schema_admin_and_health(db, anonymous):
    response = anonymous.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Leads API"
    assert body["links"] == {
        "docs": "http://testserver/api/docs/",
        "redoc": "http://testserver/api/redoc/",
        "schema": "http://testserver/api/schema/",
        "admin": "http://testserver/admin/",
        "health": "http://testserver/healthz",
        "ready": "http://testserver/readyz",
    }
    for url in body["links"].values():
        assert anonymous.get(url.removeprefix("http://testserver")).status_code in (200, 302), url
    # Any other unknown path is still the JSON 404.
    assert anonymous.get("/nope").status_code == 404
