"""Signing in through partners' own identity providers, end to end: real OpenID Provider
processes (RS256 for acme, ES256 for globex), the real app, a browser of cookies and
redirects, and the API flow of single-page apps. Every refusal is checked for its
specific reason and for what it did not create."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from strawberry.relay import to_base64

from membrane.audit.models import AuditEvent
from membrane.auth import refresh_tokens
from membrane.auth.federation.exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE, ID_TOKEN_TYPE
from membrane.auth.federation.login import _hash, callback_url
from membrane.auth.federation.registry import organization_by_slug as org_by_slug
from membrane.errors import ConflictError
from membrane.tenancy import service
from membrane.tenancy.enums import OrganizationStatus, UserStatus
from membrane.tenancy.ids import TenantId
from tests.fixtures.federation import BASE, FRONTEND, TENANT, Federation
from tests.fixtures.openid_providers import (
    OpenIDProvider,
    _new_key,
    forge,
    forge_hmac_with_public_key,
    forge_unsigned,
    silent_server,
)

VIEWER = "{ viewer { user { displayName email } organization { slug } roles } }"


@asynccontextmanager
async def provider_http() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's side of the provider (its own cookies there)."""
    async with httpx.AsyncClient() as http:
        yield http


async def start(
    browser: httpx.AsyncClient, path: str = "/auth/login/acme", **params: str
) -> httpx.Response:
    return await browser.get(path, params={"tenant": TENANT, **params})


async def through_provider(op: OpenIDProvider, authorization_url: str) -> str:
    async with provider_http() as http:
        back = await op.follow(http, authorization_url)
    assert back.startswith(f"{BASE}/auth/callback/")
    return back.removeprefix(BASE)


async def browser_sign_in(
    federation: Federation,
    browser: httpx.AsyncClient,
    subject: str,
    path: str = "/auth/login/acme",
    op: OpenIDProvider | None = None,
    **params: str,
) -> httpx.Response:
    started = await start(browser, path, login_hint=subject, **params)
    assert started.status_code == 302, started.text
    callback = await through_provider(op or federation.acme_op, started.headers["location"])
    return await browser.get(callback)


def refused(response: httpx.Response) -> str:
    """The reason of a browser-flow refusal (a redirect to the front end)."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{FRONTEND}/?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["error_description"][0]
    return query["error"][0]


async def api_sign_in(
    federation: Federation, subject: str, org: str = "globex", op: OpenIDProvider | None = None
) -> dict[str, Any]:
    async with federation.browser() as spa:
        started = await spa.get(
            f"/auth/login/{org}",
            params={"tenant": TENANT, "login_hint": subject},
            headers={"accept": "application/json"},
        )
        assert started.status_code == 200, started.text
        body = started.json()
        callback = await through_provider(op or federation.globex_op, body["authorization_url"])
        relayed = await spa.get(callback)
        assert relayed.status_code == 303
        assert relayed.headers["referrer-policy"] == "no-referrer"
        query = parse_qs(urlsplit(relayed.headers["location"]).fragment)
        assert query["state"] == [body["state"]]
        relayed_fields = {name: values[0] for name, values in query.items()}
        assert set(relayed_fields) == {"code", "state", "iss"}
        finished = await spa.post("/auth/callback", json=relayed_fields)
        assert finished.status_code == 200, finished.text
        tokens: dict[str, Any] = finished.json()
        replayed = await spa.post("/auth/callback", json=relayed_fields)
        assert replayed.status_code == 400
        assert replayed.json()["reason"] == "state_replayed"
        return tokens


async def viewer(federation: Federation, access_token: str) -> httpx.Response:
    return await federation.served.graphql(access_token, VIEWER)


async def refresh(federation: Federation, token: str) -> httpx.Response:
    return await federation.served.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def test_a_browser_signs_in_and_is_provisioned_by_verified_domain(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        done = await browser_sign_in(
            federation, browser, "omar-at-acme", return_to="/engagements?tab=shared"
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{FRONTEND}/engagements?tab=shared"
        cookies = done.headers.get_list("set-cookie")
        refresh_cookie = next(c for c in cookies if c.startswith("membrane_refresh="))
        assert "HttpOnly" in refresh_cookie
        assert "SameSite=strict" in refresh_cookie
        assert "Path=/auth" in refresh_cookie
        assert any(c.startswith("membrane_login=") and "Max-Age=0" in c for c in cookies)

        # The front end trades the cookie for an access token.
        tokens = await browser.post("/auth/token", data={"grant_type": "refresh_token"})
        assert tokens.status_code == 200, tokens.text
        assert tokens.headers["cache-control"] == "no-store"
        assert "refresh_token" not in tokens.json()
        assert "membrane_refresh=" in tokens.headers["set-cookie"]
    me = (await viewer(federation, tokens.json()["access_token"])).json()["data"]["viewer"]
    assert me["user"] == {"displayName": "Omar Haddad", "email": "omar@acme.example"}
    assert me["organization"]["slug"] == "acme"
    assert me["roles"] == ["ADMIN"]  # the provider's membrane-admins group
    (user,) = await federation.users_with_email("omar@acme.example")
    assert (user.issuer, user.subject) == (federation.acme_op.issuer, "omar-at-acme")

    # Signing in again is the same person, not a second one.
    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "omar-at-acme")).status_code == 303
    assert len(await federation.users_with_email("omar@acme.example")) == 1


async def test_the_api_flow_answers_json_through_the_es256_provider(
    federation: Federation,
) -> None:
    tokens = await api_sign_in(federation, "gus-at-globex")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == federation.settings.access_token_ttl_seconds
    me = (await viewer(federation, tokens["access_token"])).json()["data"]["viewer"]
    assert me["organization"]["slug"] == "globex"
    assert me["roles"] == []


async def test_home_realm_discovery_picks_the_organization_by_verified_domain(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        done = await browser_sign_in(
            federation, browser, "ines@acme.example", path="/auth/login", email="ines@acme.example"
        )
        assert done.status_code == 303
        assert done.headers["location"] == f"{FRONTEND}/"

        unknown = await start(browser, "/auth/login", email="lee@initech.example")
        assert refused(unknown) == "unknown_domain"
        api = await browser.get(
            "/auth/login",
            params={"tenant": TENANT, "email": "lee@initech.example"},
            headers={"accept": "application/json"},
        )
        assert api.status_code == 404
        assert api.json()["reason"] == "unknown_domain"
        assert "initech.example" in api.json()["error_description"]


async def test_an_email_of_an_unverified_domain_needs_an_invitation(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        done = await browser_sign_in(federation, browser, "pat-at-contractor")
    assert refused(done) == "provisioning_not_allowed"
    assert await federation.users_with_email("pat@contractor.example") == []

    # A host lead invites Pat to an engagement acme takes part in.
    alice = federation.served.token(federation.tenant, "alice")
    engagement = federation.tenant.engagement("Acme ERP rollout")
    invited = await federation.served.graphql(
        alice,
        """mutation($input: InviteToEngagementInput!) {
             inviteToEngagement(input: $input) { invitations { email role expiresAt } } }""",
        {
            "input": {
                "engagementId": to_base64("Engagement", engagement["id"]),
                "organizationId": to_base64(
                    "Organization", federation.tenant.organization("acme")["id"]
                ),
                "emails": ["pat@Contractor.example"],
                "role": "CONTRIBUTOR",
            }
        },
    )
    assert invited.json()["data"]["inviteToEngagement"]["invitations"][0]["email"] == (
        "pat@contractor.example"
    ), invited.text

    async with federation.browser() as browser:
        done = await browser_sign_in(federation, browser, "pat-at-contractor")
        assert done.status_code == 303
        assert "error" not in done.headers["location"]
        tokens = await browser.post("/auth/token", data={"grant_type": "refresh_token"})
    (pat,) = await federation.users_with_email("pat@contractor.example")
    assert pat.subject == "pat-at-contractor"
    roles = await federation.served.graphql(
        tokens.json()["access_token"],
        "{ viewer { user { id } } engagements(first: 20) { edges { node { name viewerRole } } } }",
    )
    engagements = {
        edge["node"]["name"]: edge["node"]["viewerRole"]
        for edge in roles.json()["data"]["engagements"]["edges"]
    }
    assert engagements[engagement["name"]] == "CONTRIBUTOR", roles.text


async def test_replayed_state_foreign_state_and_replayed_code_are_refused(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        started = await start(browser, login_hint="ines-at-acme")
        callback = await through_provider(federation.acme_op, started.headers["location"])
        assert (await browser.get(callback)).status_code == 303
        assert refused(await browser.get(callback)) == "state_replayed"

        # The code of that finished sign-in, brought back with a new state.
        code = parse_qs(urlsplit(callback).query)["code"][0]
        again = await start(browser, login_hint="ines-at-acme")
        state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
        replay = await browser.get(
            federation.callbacks["acme"],
            params={"state": state, "code": code, "iss": federation.acme_op.issuer},
        )
        assert refused(replay) == "code_rejected"

        # A response naming another issuer than the sign-in's provider (RFC 9207).
        again = await start(browser, login_hint="ines-at-acme")
        state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
        mixed = await browser.get(
            federation.callbacks["acme"],
            params={"state": state, "code": code, "iss": federation.globex_op.issuer},
        )
        assert refused(mixed) == "issuer_mismatch"

        acme_callback = federation.callbacks["acme"]
        unknown = await browser.get(acme_callback, params={"state": f"{TENANT}.nope", "code": "x"})
        assert refused(unknown) == "invalid_state"
        assert refused(await browser.get(acme_callback)) == "invalid_state"
        other_tenant = await browser.get(acme_callback, params={"state": "nope.x", "code": "x"})
        assert refused(other_tenant) == "invalid_state"
        # Providers come back to their own callback only; the bare path takes POSTs.
        assert (await browser.get("/auth/callback")).status_code == 405

    # A sign-in started in one browser cannot be finished in another (login CSRF).
    async with federation.browser() as victim, federation.browser() as attacker:
        started = await start(attacker, login_hint="ines-at-acme")
        callback = await through_provider(federation.acme_op, started.headers["location"])
        assert refused(await victim.get(callback)) == "state_mismatch"


async def test_a_nonce_other_than_the_logins_is_refused(federation: Federation) -> None:
    async with federation.browser() as browser:
        started = await start(browser, login_hint="ines-at-acme")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        await federation.execute(
            "UPDATE login_attempts SET nonce = 'another-login' WHERE state_hash = :hash",
            hash=_hash(state),
        )
        callback = await through_provider(federation.acme_op, started.headers["location"])
        assert refused(await browser.get(callback)) == "nonce_mismatch"


async def test_a_renamed_email_stays_the_same_person(federation: Federation) -> None:
    op = federation.acme_op
    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "dana-at-acme")).status_code == 303
    (before,) = [
        u
        for u in await federation.users_with_email("dana@acme.example")
        if u.subject == "dana-at-acme"
    ]
    op.change_account("dana-at-acme", email="dana.admin@acme.example")
    try:
        async with federation.browser() as browser:
            assert (await browser_sign_in(federation, browser, "dana-at-acme")).status_code == 303
        (after,) = await federation.users_with_email("dana.admin@acme.example")
        assert after.id == before.id
    finally:
        op.change_account("dana-at-acme", email="dana@acme.example")


async def test_sign_in_goes_on_when_the_provider_rotates_its_keys(
    federation: Federation,
) -> None:
    op = federation.globex_op
    await api_sign_in(federation, "gus-at-globex")
    old_kid = op.signing_key["kid"]
    op.rotate_keys()
    assert op.signing_key["kid"] != old_kid
    await asyncio.sleep(federation.settings.provider_refetch_seconds)
    tokens = await api_sign_in(federation, "gus-at-globex")
    assert (await viewer(federation, tokens["access_token"])).status_code == 200


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_sign_in(
    federation: Federation,
) -> None:
    first = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
    rotated = await refresh(federation, first)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    assert (await viewer(federation, rotated.json()["access_token"])).status_code == 200

    reused = await refresh(federation, first)
    assert reused.status_code == 400
    assert reused.json() | {"error_description": ""} == {
        "error": "invalid_grant",
        "reason": "refresh_token_reused",
        "error_description": "",
    }
    assert (await refresh(federation, second)).json()["reason"] == "refresh_token_revoked"


async def test_logout_revokes_the_sign_in(federation: Federation) -> None:
    token = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
    out = await federation.served.client.post("/auth/logout", data={"refresh_token": token})
    assert out.status_code == 204
    assert (await refresh(federation, token)).json()["reason"] == "refresh_token_revoked"

    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "ines-at-acme")).status_code == 303
        out = await browser.post("/auth/logout")
        assert out.status_code == 204
        assert "Max-Age=0" in out.headers["set-cookie"]
        after = await browser.post("/auth/token", data={"grant_type": "refresh_token"})
        assert after.json()["reason"] == "invalid_request"  # the cookie is gone


async def test_suspension_rejects_access_tokens_and_revokes_refresh_tokens(
    federation: Federation,
) -> None:
    tokens = await api_sign_in(federation, "gus-at-globex")
    async with federation.session() as session:
        gus = await service.user_by_email(
            session, TenantId(federation.tenant_uuid), "gus@globex.example"
        )
        await service.set_user_status(session, gus, UserStatus.SUSPENDED)
        await session.commit()
    try:
        assert (await refresh(federation, tokens["refresh_token"])).json()["reason"] == (
            "refresh_token_revoked"
        )
        assert (
            await federation.served.until(tokens["access_token"], VIEWER, 401)
        ).status_code == 401
        async with federation.browser() as browser:
            response = await browser.get(
                "/auth/login/globex",
                params={"tenant": TENANT, "login_hint": "gus-at-globex"},
                headers={"accept": "application/json"},
            )
            callback = await through_provider(
                federation.globex_op, response.json()["authorization_url"]
            )
            relayed = parse_qs(urlsplit((await browser.get(callback)).headers["location"]).fragment)
            again = await browser.post(
                "/auth/callback", json={name: values[0] for name, values in relayed.items()}
            )
        assert again.status_code == 403
        assert again.json()["reason"] == "user_suspended"
    finally:
        async with federation.session() as session:
            gus = await service.user_by_email(
                session, TenantId(federation.tenant_uuid), "gus@globex.example"
            )
            await service.set_user_status(session, gus, UserStatus.ACTIVE)
            await session.commit()

    tokens = await api_sign_in(federation, "gus-at-globex")
    async with federation.session() as session:
        globex = await org_by_slug(session, federation.tenant_uuid, "globex")
        await service.set_organization_status(
            session, TenantId(federation.tenant_uuid), globex, OrganizationStatus.SUSPENDED
        )
        await session.commit()
    try:
        assert (await refresh(federation, tokens["refresh_token"])).json()["reason"] == (
            "refresh_token_revoked"
        )
        async with federation.browser() as browser:
            assert refused(await start(browser, "/auth/login/globex")) == "organization_suspended"
    finally:
        async with federation.session() as session:
            globex = await org_by_slug(session, federation.tenant_uuid, "globex")
            await service.set_organization_status(
                session, TenantId(federation.tenant_uuid), globex, OrganizationStatus.ACTIVE
            )
            await session.commit()


async def exchange(federation: Federation, subject_token: str, **extra: str) -> httpx.Response:
    return await federation.served.client.post(
        "/auth/token",
        data={
            "grant_type": GRANT_TYPE,
            "subject_token": subject_token,
            "subject_token_type": ID_TOKEN_TYPE,
            **extra,
        },
        headers={"x-membrane-tenant": TENANT},
    )


async def test_token_exchange_trades_a_provider_token_for_one_scoped_to_its_org(
    federation: Federation,
) -> None:
    op = federation.globex_op
    async with provider_http() as http:
        id_token = await op.id_token(http, "gus-at-globex", "machine")
    traded = await exchange(federation, id_token)
    assert traded.status_code == 200, traded.text
    assert traded.json()["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert "refresh_token" not in traded.json()
    me = (await viewer(federation, traded.json()["access_token"])).json()["data"]["viewer"]
    assert me["organization"]["slug"] == "globex"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda op: forge(op, sub="gus-at-globex", exp=int(time.time()) - 600), "expired"),
        (
            lambda op: forge(
                op, sub="gus-at-globex", iat=int(time.time()) + 600, exp=int(time.time()) + 900
            ),
            "issued_in_future",
        ),
        (lambda op: forge(op, sub="gus-at-globex", nbf=int(time.time()) + 600), "not_yet_valid"),
        (lambda op: forge(op, sub="gus-at-globex", aud="someone-else"), "unknown_issuer"),
        (
            lambda op: forge(op, sub="gus-at-globex", iss="https://idp.elsewhere.example"),
            "unknown_issuer",
        ),
        (lambda op: forge(op, sub="gus-at-globex")[:-8] + "AAAAAAAA", "bad_signature"),
        (lambda op: forge_unsigned(op, sub="gus-at-globex"), "algorithm_not_allowed"),
        (lambda op: forge_hmac_with_public_key(op, sub="gus-at-globex"), "algorithm_not_allowed"),
        (lambda op: "not.a-jwt", "malformed"),
    ],
    ids=[
        "expired",
        "future",
        "not-yet-valid",
        "wrong-audience",
        "wrong-issuer",
        "tampered",
        "alg-none",
        "hs256-public-key",
        "malformed",
    ],
)
async def test_token_exchange_refuses_bad_tokens(
    federation: Federation, make: Any, reason: str
) -> None:
    response = await exchange(federation, make(federation.globex_op))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["reason"] == reason
    assert "eyJ" not in response.text  # no token echoed


async def test_token_exchange_refuses_an_unknown_kid_after_one_refetch(
    federation: Federation,
) -> None:
    op = federation.globex_op
    stranger = forge(op, key=_new_key(op.algorithm), sub="gus-at-globex")
    assert (await exchange(federation, stranger)).json()["reason"] == "unknown_key"


async def test_requests_the_endpoints_refuse(federation: Federation) -> None:
    client = federation.served.client

    async def login(path: str, **params: str) -> httpx.Response:
        return await client.get(path, params=params, headers={"accept": "application/json"})

    async def token(**form: str) -> httpx.Response:
        return await client.post("/auth/token", data=form)

    cases: list[tuple[httpx.Response, int, str]] = [
        (await login("/auth/login/acme"), 400, "tenant_required"),
        (await login("/auth/login/nope", tenant=TENANT), 404, "unknown_organization"),
        (await login("/auth/login/acme", tenant="no-such-tenant"), 404, "unknown_tenant"),
        (await login("/auth/login", tenant=TENANT), 400, "invalid_request"),
        (
            await login("/auth/login/acme", tenant=TENANT, return_to="https://evil.example/"),
            400,
            "invalid_return_to",
        ),
        (
            await login("/auth/login/acme", tenant=TENANT, return_to="//evil.example/"),
            400,
            "invalid_return_to",
        ),
        (await login("/auth/login/northwind", tenant=TENANT), 404, "no_identity_provider"),
        (await token(grant_type="password"), 400, "unsupported_grant_type"),
        (
            await token(grant_type="refresh_token", refresh_token="short"),
            400,
            "malformed_refresh_token",
        ),
        (
            await token(grant_type="refresh_token", refresh_token=f"{TENANT}.{'x' * 43}"),
            400,
            "unknown_refresh_token",
        ),
        (
            await client.post(
                "/auth/token",
                content=b"grant_type=refresh_token",
                headers={"content-type": "text/plain"},
            ),
            415,
            "invalid_request",
        ),
        (
            await exchange(federation, "x", subject_token_type="urn:example:saml"),
            400,
            "unsupported_token_type",
        ),
    ]
    for response, status, reason in cases:
        assert (response.status_code, response.json()["reason"]) == (status, reason), response.text
        assert "Traceback" not in response.text


async def test_a_provider_that_hangs_fails_its_own_organization_alone(
    federation: Federation,
) -> None:
    async with silent_server() as port:
        silent = f"http://127.0.0.1:{port}"
        await federation.add_provider("northwind", silent, "membrane")
        try:
            async with federation.browser() as browser:
                began = time.monotonic()
                slow, fine = await asyncio.gather(
                    browser.get(
                        "/auth/login/northwind",
                        params={"tenant": TENANT},
                        headers={"accept": "application/json"},
                    ),
                    api_sign_in(federation, "gus-at-globex"),
                )
                waited = time.monotonic() - began
            assert slow.status_code == 503
            assert slow.json()["reason"] == "provider_unavailable"
            assert "access_token" in fine
            assert waited < 10
        finally:
            await federation.set_provider_enabled("northwind", silent, False)


async def test_a_disabled_provider_lets_nobody_in(federation: Federation) -> None:
    await federation.set_provider_enabled("globex", federation.globex_op.issuer, False)
    try:
        async with federation.browser() as browser:
            assert refused(await start(browser, "/auth/login/globex")) == "no_identity_provider"
        async with provider_http() as http:
            id_token = await federation.globex_op.id_token(http, "gus-at-globex", "n")
        assert (await exchange(federation, id_token)).json()["reason"] == "unknown_issuer"
    finally:
        await federation.set_provider_enabled("globex", federation.globex_op.issuer, True)


INVITE = """mutation($input: InviteToEngagementInput!) {
  inviteToEngagement(input: $input) { organization { slug } invitations { email role } } }"""


async def test_invitations_obey_the_engagement_roles(federation: Federation) -> None:
    tenant = federation.tenant
    engagement = to_base64("Engagement", tenant.engagement("Acme ERP rollout")["id"])

    def org(slug: str) -> str:
        return to_base64("Organization", tenant.organization(slug)["id"])

    async def invite(key: str, organization: str, emails: list[str]) -> dict[str, Any]:
        response = await federation.served.graphql(
            federation.served.token(tenant, key),
            INVITE,
            {
                "input": {
                    "engagementId": engagement,
                    "organizationId": organization,
                    "emails": emails,
                    "role": "VIEWER",
                }
            },
        )
        body: dict[str, Any] = response.json()
        return body

    def code(body: dict[str, Any]) -> tuple[str, str | None]:
        error = body["errors"][0]["extensions"]
        assert body["data"]["inviteToEngagement"] is None
        return error["code"], error.get("field")

    # erin leads for acme: her own people only; farid only contributes.
    assert code(await invite("erin", org("globex"), ["x@globex.example"]))[0] == "FORBIDDEN"
    assert code(await invite("farid", org("acme"), ["x@acme.example"]))[0] == "FORBIDDEN"
    assert code(await invite("alice", org("acme"), ["not-an-email"])) == (
        "BAD_USER_INPUT",
        "input.emails.0",
    )
    assert code(await invite("alice", org("acme"), []))[0] == "BAD_USER_INPUT"
    # The host's own people can be invited too (they sign in through the host's provider).
    host = await invite("alice", org("northwind"), ["x@northwind.example"])
    assert host["data"]["inviteToEngagement"]["organization"]["slug"] == "northwind"
    own = await invite("erin", org("acme"), ["Kim@ACME.example", "kim@acme.example"])
    assert own["data"]["inviteToEngagement"]["invitations"] == [
        {"email": "kim@acme.example", "role": "VIEWER"}
    ]
    # A host lead may bring in a partner that does not take part yet.
    joined = await invite("alice", org("globex"), ["gus@globex.example"])
    assert joined["data"]["inviteToEngagement"]["organization"]["slug"] == "globex"


async def test_people_are_told_apart_by_issuer_and_subject_not_email(
    federation: Federation,
) -> None:
    """The demo's erin and the provider's erin share an email: two identities, and a
    command naming the email alone is refused rather than guessing."""
    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "erin-at-acme")).status_code == 303
    both = await federation.users_with_email("erin@acme.example")
    assert len({(user.issuer, user.subject) for user in both}) == 2
    async with federation.session() as session:
        with pytest.raises(ConflictError, match="name the user by id"):
            await service.user_by_email(
                session, TenantId(federation.tenant_uuid), "erin@acme.example"
            )


async def test_a_code_cannot_come_back_through_another_provider(federation: Federation) -> None:
    """The mix-up attack: a malicious provider (here globex's) sends the victim on to
    acme's provider with the victim's globex state, hoping acme's code comes back to be
    redeemed at the malicious provider's token endpoint."""
    async with federation.browser() as victim:
        started = await start(victim, "/auth/login/globex", login_hint="ines-at-acme")
        globex_request = urlsplit(started.headers["location"])
        query = parse_qs(globex_request.query)
        query["redirect_uri"] = [f"{BASE}{federation.callbacks['acme']}"]
        forwarded = f"{federation.acme_op.issuer}/auth?{urlencode(query, doseq=True)}"
        callback = await through_provider(federation.acme_op, forwarded)
        assert callback.startswith(federation.callbacks["acme"])
        assert refused(await victim.get(callback)) == "provider_mismatch"


async def test_emails_the_provider_does_not_vouch_for_provision_nobody(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        assert refused(await browser_sign_in(federation, browser, "vic-at-acme")) == (
            "email_not_verified"
        )
        assert refused(await browser_sign_in(federation, browser, "nomail-at-acme")) == (
            "missing_email"
        )
    assert await federation.users_with_email("vic@acme.example") == []

    # An admin may trust a provider whose users cannot change their email.
    await federation.execute("UPDATE identity_providers SET trust_email = :on", on=True)
    try:
        async with federation.browser() as browser:
            done = await browser_sign_in(federation, browser, "vic-at-acme")
            assert done.status_code == 303
            assert "error" not in done.headers["location"]
    finally:
        await federation.execute("UPDATE identity_providers SET trust_email = :on", on=False)
    assert len(await federation.users_with_email("vic@acme.example")) == 1


async def test_a_provider_error_an_expired_sign_in_and_a_posted_browser_state(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        started = await start(browser, login_hint="ines-at-acme")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        cancelled = await browser.get(
            federation.callbacks["acme"],
            params={"state": state, "error": "access_denied\n<script>"},
        )
        assert refused(cancelled) == "provider_refused"
        description = parse_qs(urlsplit(cancelled.headers["location"]).query)
        assert "<script>" not in description["error_description"][0]

        started = await start(browser, login_hint="ines-at-acme")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        await federation.execute(
            "UPDATE login_attempts SET expires_at = :past WHERE state_hash = :hash",
            past=datetime.now(UTC) - timedelta(minutes=1),
            hash=_hash(state),
        )
        callback = await through_provider(federation.acme_op, started.headers["location"])
        assert refused(await browser.get(callback)) == "login_expired"

        # A browser sign-in cannot be finished by posting its state (no cookie check).
        started = await start(browser, login_hint="ines-at-acme")
        callback = await through_provider(federation.acme_op, started.headers["location"])
        posted = await browser.post(
            "/auth/callback", json=dict(parse_qsl(urlsplit(callback).query))
        )
        assert posted.status_code == 303
        assert refused(posted) == "state_mismatch"


async def test_expired_refresh_tokens_and_two_tabs_refreshing_at_once(
    federation: Federation,
) -> None:
    token = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
    await federation.execute(
        "UPDATE refresh_tokens SET expires_at = :past WHERE token_hash = :hash",
        past=datetime.now(UTC) - timedelta(seconds=1),
        hash=refresh_tokens.token_hash(token),
    )
    assert (await refresh(federation, token)).json()["reason"] == "refresh_token_expired"

    runtime = federation.served.runtime
    original = runtime.settings
    runtime.settings = replace(original, refresh_reuse_grace_seconds=60)
    try:
        token = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
        first, second = await refresh(federation, token), await refresh(federation, token)
        assert (first.status_code, second.status_code) == (200, 200)
        assert first.json()["refresh_token"] != second.json()["refresh_token"]
    finally:
        runtime.settings = original
    # Without the grace, the same second use revokes the sign-in.
    token = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
    assert (await refresh(federation, token)).status_code == 200
    assert (await refresh(federation, token)).json()["reason"] == "refresh_token_reused"


async def test_an_empty_refresh_token_field_does_not_fall_back_to_the_cookie(
    federation: Federation,
) -> None:
    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "ines-at-acme")).status_code == 303
        empty = await browser.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": ""}
        )
        assert empty.status_code == 400
        assert "refresh_token" not in empty.json()
        assert (
            await browser.post("/auth/token", data={"grant_type": "refresh_token"})
        ).status_code == 200


async def test_an_identity_of_one_organization_cannot_sign_in_to_another(
    federation: Federation,
) -> None:
    """acme's provider registered for globex as well: ines, known through it in acme, is
    not let into globex."""
    async with federation.browser() as browser:
        assert (await browser_sign_in(federation, browser, "ines-at-acme")).status_code == 303
    op = federation.acme_op
    await federation.set_provider_enabled("globex", federation.globex_op.issuer, False)
    second = await federation.add_provider("globex", op.issuer, op.client_id, op.client_secret)
    op.allow_redirect(callback_url(BASE, second.id))
    try:
        async with federation.browser() as browser:
            done = await browser_sign_in(
                federation, browser, "ines-at-acme", path="/auth/login/globex"
            )
        assert refused(done) == "identity_of_another_organization"
    finally:
        await federation.set_provider_enabled("globex", op.issuer, False)
        await federation.set_provider_enabled("globex", federation.globex_op.issuer, True)


async def _audit_trail(federation: Federation, after_seq: int) -> list[AuditEvent]:
    async with federation.session() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)
        )
        return list(rows)


async def _last_seq(federation: Federation) -> int:
    async with federation.session() as session:
        return int(await session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


async def test_sign_ins_refreshes_reuse_and_sign_outs_are_audited(
    federation: Federation,
) -> None:
    before = await _last_seq(federation)
    # given a sign-in, a refresh, a reuse of the first token and a sign-out
    first = (await api_sign_in(federation, "gus-at-globex"))["refresh_token"]
    second = (await refresh(federation, first)).json()["refresh_token"]
    assert (await refresh(federation, first)).status_code == 400
    await federation.served.client.post("/auth/logout", data={"refresh_token": second})
    # and a sign-in refused because its state was already used
    async with federation.browser() as browser:
        started = await start(browser, login_hint="ines-at-acme")
        callback = await through_provider(federation.acme_op, started.headers["location"])
        assert (await browser.get(callback)).status_code == 303
        assert refused(await browser.get(callback)) == "state_replayed"
    # then each is an event of the tenant's chain, with its outcome and who it was
    trail = [
        (e.action, e.outcome.value, e.details.get("reason"))
        for e in await _audit_trail(federation, before)
        if e.action.startswith("auth.")
    ]
    assert trail == [
        ("auth.sign_in", "SUCCESS", None),
        ("auth.sign_in", "DENIED", "state_replayed"),  # api_sign_in replays its callback
        ("auth.refresh", "SUCCESS", None),
        ("auth.refresh", "DENIED", "refresh_token_reused"),
        ("auth.logout", "SUCCESS", None),
        ("auth.sign_in", "SUCCESS", None),
        ("auth.sign_in", "DENIED", "state_replayed"),
    ]
    gus = (await federation.users_with_email("gus@globex.example"))[0]
    events = await _audit_trail(federation, before)
    assert events[0].actor_user_id == gus.id and events[0].actor_client == "auth"
    assert all(e.details.get("refresh_token") is None for e in events)  # no token recorded
