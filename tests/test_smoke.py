async def test_viewer(as_user):
    body = await as_user("erin")("{ viewer { user { displayName } organization { slug } roles } }")
    assert body["data"]["viewer"] == {
        "user": {"displayName": "Erin Walsh"},
        "organization": {"slug": "acme"},
        "roles": ["ADMIN"],
    }
