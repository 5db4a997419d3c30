import json, time, uuid
from strawberry import relay

async def test_explore(as_user, client, demo_data, app):
    erin = as_user("erin"); alice = as_user("alice")
    d = demo_data.demo
    eng = d.engagement("Acme ERP rollout")
    print("ENG", eng)
    other = demo_data.other.engagement("Acme ERP rollout")
    h = {"authorization": f"Bearer {alice.token}"}
    async def show(label, r):
        print("\n==", label, r.status_code, r.headers.get("content-type"), r.text[:600])
    await show("malformed", await client.post("/graphql", content=b"{nope", headers={**h, "content-type": "application/json"}))
    await show("array", await client.post("/graphql", json=[1], headers=h))
    await show("noquery", await client.post("/graphql", json={"variables": {}}, headers=h))
    await show("syntax", await alice.post("{ viewer { "))
    await show("syntax grj", await alice.post("{ viewer { ", accept="application/graphql-response+json"))
    await show("unknown field", await alice.post("{ viewer { nope } }"))
    await show("unknown field grj", await alice.post("{ viewer { nope } }", accept="application/graphql-response+json"))
    ct = 'mutation($i: CreateTaskInput!){ createTask(input:$i){ task { id } } }'
    await show("unknown input field var", await alice.post(ct, {"i": {"engagementId": eng["id"], "title": "x", "zone": "SHARED", "bogus": 1}}))
    await show("unknown input field lit", await alice.post('mutation { createTask(input:{engagementId:"%s", title:"x", zone: SHARED, bogus: 1}){ task { id } } }' % eng["id"]))
    await show("title long", await alice.post(ct, {"i": {"engagementId": eng["id"], "title": "x"*201, "zone": "SHARED"}}))
    await show("title empty", await alice.post(ct, {"i": {"engagementId": eng["id"], "title": "  ", "zone": "SHARED"}}))
    await show("neg est", await alice.post(ct, {"i": {"engagementId": eng["id"], "title": "t", "zone": "SHARED", "estimateHours": -1}}))
    await show("enum var", await alice.post(ct, {"i": {"engagementId": eng["id"], "title": "t", "zone": "NOPE"}}))
    await show("enum lit", await alice.post('mutation { createTask(input:{engagementId:"%s", title:"x", zone: NOPE}){ task { id } } }' % eng["id"]))
    await show("other tenant", await alice.post(ct, {"i": {"engagementId": other["id"], "title": "t", "zone": "SHARED"}}))
    await show("garbage", await alice.post(ct, {"i": {"engagementId": "garbage!!", "title": "t", "zone": "SHARED"}}))
    await show("org id to engagement", await alice.post('query($id: ID!){ engagement(id:$id){ id } }', {"id": d.organization("acme")["id"]}))
    await show("other eng", await alice.post('query($id: ID!){ engagement(id:$id){ id } node(id:$id){ id } }', {"id": other["id"]}))
    await show("first 101", await alice.post('{ engagements(first:101){ edges { node { id } } } }'))
    await show("first -1", await alice.post('{ engagements(first:-1){ edges { node { id } } } }'))
    await show("first -1 nested", await alice.post('{ engagements{ edges { node { tasks(first:-1) { edges { node { id } } } } } } }'))
    await show("no token", await client.post("/graphql", json={"query": "{ viewer { roles } }"}))
    await show("GET mut", await client.get("/graphql", params={"query": "mutation { createTask(input:{engagementId:\"x\", title:\"x\", zone: SHARED}){ task { id } } }"}, headers=h))
    deep = "{ viewer { user { organization { id } } } }"
    q = "{ node(id: \"x\") { ... on Task { engagement { tasks { edges { node { engagement { tasks { edges { node { engagement { tasks { edges { node { id } } } } } } } } } } } } } } }"
    await show("deep", await alice.post(q))
    await show("erin notes", await erin.post(ct, {"i": {"engagementId": eng["id"], "title": "t", "zone": "SHARED", "internalNotes": "x"}}))
    await show("erin cost", await erin.post(ct, {"i": {"engagementId": eng["id"], "title": "t", "zone": "SHARED", "costCents": 5}}))
    multi = 'mutation { a: createTask(input:{engagementId:"%s", title:"first", zone: SHARED}){ task { id } } b: createTask(input:{engagementId:"%s", title:"", zone: SHARED}){ task { id } } }' % (eng["id"], eng["id"])
    await show("multi", await alice.post(multi))
