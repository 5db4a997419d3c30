// An OpenID Provider for Membrane's tests: node-oidc-provider (certified), configured from
// a JSON file named by the first argument:
//   { "issuer": "http://127.0.0.1:PORT", "port": PORT, "jwks": {"keys": [private JWKs]},
//     "clients": [oidc-provider client metadata],
//     "accounts": {"<sub>": {"email": ..., "name": ..., "groups": [...]}} }
// Logins need no form: the authorization request's `login_hint` names the account (by its
// subject or its email), which
// is signed in and consents at once. Everything else is the library's own behaviour.
import { readFileSync } from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60 },
  findAccount: async (ctx, sub) => {
    const account = config.accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      claims: async () => ({ sub, email_verified: true, ...account }),
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

const callback = provider.callback();

const server = http.createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)/);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    if (prompt.name === "login") {
      const hint = params.login_hint;
      const accountId = config.accounts[hint]
        ? hint
        : Object.keys(config.accounts).find((sub) => config.accounts[sub].email === hint);
      if (!accountId) {
        return provider.interactionFinished(req, res, {
          error: "access_denied",
          error_description: "unknown account",
        });
      }
      return provider.interactionFinished(req, res, { login: { accountId } }, {
        mergeWithLastSubmission: false,
      });
    }
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  } catch (error) {
    res.statusCode = 500;
    res.end(String(error));
  }
});

server.listen(config.port, "127.0.0.1", () => {
  process.stdout.write(`listening ${config.issuer}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
