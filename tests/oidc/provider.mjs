// The OpenID Connect provider the OIDC tests (tests/t/oidc*.t) start on
// loopback: the npm package oidc-provider (a certified OpenID Connect
// implementation), configured here and served over HTTPS.  Nothing here
// makes tokens: the package issues them through its own endpoints.
//
//   node provider.mjs STATE_DIR
//
// STATE_DIR/config.json (written by the test):
//   { "port": N, "host": "localhost", "cert": "...", "key": "...",
//     "accounts": { "<sub>": { "employee_id": ..., "email": ..., "groups": [...] } },
//     "rotate": false }
// STATE_DIR/keys.json holds the signing keys (an EC P-256 and an RSA key,
// each with its kid); made on first start, kept across restarts.  With
// "rotate": true a new pair is made and put first (the old pair is kept
// in the JWKS, as a provider does during a rotation), so new tokens carry
// new kids.  Once listening it writes STATE_DIR/ready.
//
// Clients: "effortctl" (device grant and refresh, ES256 access tokens),
// "effortctl-rs" (the same with RS256), "effortctl-short" (access tokens
// that live 2 s) and "robot" (client credentials, secret "robot-secret",
// for tokens meant for another audience).  Resource "urn:effortd" gives
// access tokens with audience "effortd"; "urn:other" gives "other-api".
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:https';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const dir = process.argv[2];
const cfg = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
const issuer = `https://${cfg.host}:${cfg.port}`;

function newKeys() {
  const tag = randomBytes(4).toString('hex');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    .export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    .export({ format: 'jwk' });
  return [{ ...ec, kid: `ec-${tag}`, alg: 'ES256', use: 'sig' },
    { ...rsa, kid: `rsa-${tag}`, alg: 'RS256', use: 'sig' }];
}

let keys = existsSync(`${dir}/keys.json`)
  ? JSON.parse(readFileSync(`${dir}/keys.json`, 'utf8')) : [];
if (keys.length === 0 || cfg.rotate) keys = [...newKeys(), ...keys];
writeFileSync(`${dir}/keys.json`, JSON.stringify(keys));

const device = ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'];
const publicClient = (id) => ({
  client_id: id,
  token_endpoint_auth_method: 'none',
  grant_types: device,
  response_types: [],
  redirect_uris: [],
});

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [publicClient('effortctl'), publicClient('effortctl-rs'),
    publicClient('effortctl-short'),
    {
      client_id: 'robot',
      client_secret: 'robot-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    }],
  scopes: ['openid', 'offline_access', 'effortd'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? 'urn:effortd',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource, client) => {
        if (resource !== 'urn:effortd' && resource !== 'urn:other')
          throw new Error(`unknown resource ${resource}`);
        return {
          scope: 'effortd',
          audience: resource === 'urn:effortd' ? 'effortd' : 'other-api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: client.clientId === 'effortctl-short' ? 2 : 300,
          jwt: { sign: { alg: client.clientId === 'effortctl-rs' ? 'RS256' : 'ES256' } },
        };
      },
    },
  },
  // The account's claims go into its access tokens, as an organisation's
  // provider is configured to do for an API.
  extraTokenClaims: async (ctx, token) => {
    const a = token.accountId ? cfg.accounts[token.accountId] : undefined;
    return a ? { ...a } : undefined;
  },
  findAccount: async (ctx, sub) => (cfg.accounts[sub] ? {
    accountId: sub,
    claims: async () => ({ sub, ...cfg.accounts[sub] }),
  } : undefined),
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { DeviceCode: 600, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
  cookies: { keys: ['effortd-test-cookies'] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer({
  key: readFileSync(cfg.key), cert: readFileSync(cfg.cert),
}, provider.callback());
server.listen(cfg.port, cfg.listen ?? '127.0.0.1', () => {
  writeFileSync(`${dir}/ready`, `${process.pid}\n`);
  console.log(`listening on ${issuer}`);
});
process.on('SIGTERM', () => process.exit(0));
