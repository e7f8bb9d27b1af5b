// The reference server for `make bench`: node oidc-provider, configured like Portcullis's
// demo M2M path (tests/bench/README.md, "Side by side with node oidc-provider").
//
// - one client, client_credentials only, authenticating with client_secret_post;
// - two APIs (RFC 8707 resource indicators): one whose access tokens are RS256 JWTs (RSA-2048,
//   like our default key) and one whose tokens are ES256 JWTs (P-256), 24 h lifetime;
// - JWT access tokens are not stored (the jwt format returns no payload to save), and the
//   adapter below proves it: it prints "BENCH_STORED <model>" the first time anything is
//   written, which run.py looks for in the log after the load;
// - a cluster of BENCH_REF_WORKERS workers (node's `cluster` module) sharing one port, as
//   granian's workers share ours. The primary makes the signing keys once and hands them to
//   every worker, so any worker's token verifies against the same JWKS.
//
// Everything comes from the environment run.py sets (reference.py, `reference_env`):
// BENCH_REF_HOST, BENCH_REF_PORT, BENCH_REF_WORKERS, BENCH_REF_CLIENT_ID,
// BENCH_REF_CLIENT_SECRET, BENCH_REF_RS256_RESOURCE, BENCH_REF_ES256_RESOURCE, BENCH_REF_SCOPE.

import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`reference server: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const HOST = env('BENCH_REF_HOST');
const PORT = Number(env('BENCH_REF_PORT'));
const WORKERS = Number(env('BENCH_REF_WORKERS'));
const TOKEN_TTL_SECONDS = 24 * 60 * 60; // ours: the API's default token lifetime

if (cluster.isPrimary) {
  const jwk = (pair, alg) => ({ ...pair.privateKey.export({ format: 'jwk' }), kid: `bench-${alg.toLowerCase()}`, alg, use: 'sig' });
  const keys = [
    jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'),
    jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'),
  ];
  const shared = { BENCH_REF_JWKS: JSON.stringify({ keys }), BENCH_REF_COOKIE_KEY: randomBytes(32).toString('base64url') };
  let stopping = false;
  for (let i = 0; i < WORKERS; i += 1) {
    cluster.fork(shared);
  }
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`reference server: worker ${worker.process.pid} exited (${signal || code}); stopping`);
      process.exit(1);
    }
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      stopping = true;
      for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
      process.exit(0);
    });
  }
} else {
  // A minimal in-memory adapter that reports writes. Nothing on the client_credentials path
  // should call upsert; if something does, the comparison is not like for like.
  const stores = new Map();
  const reported = new Set();
  class ReportingMemoryAdapter {
    constructor(model) {
      this.model = model;
      if (!stores.has(model)) stores.set(model, new Map());
      this.store = stores.get(model);
    }

    async upsert(id, payload) {
      if (!reported.has(this.model)) {
        reported.add(this.model);
        console.error(`BENCH_STORED ${this.model}`);
      }
      this.store.set(id, payload);
    }

    async find(id) { return this.store.get(id); }

    async findByUserCode() { return undefined; }

    async findByUid() { return undefined; }

    async consume(id) {
      const payload = this.store.get(id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) { this.store.delete(id); }

    async revokeByGrantId() {}
  }

  const scope = env('BENCH_REF_SCOPE');
  const resourceServers = {
    [env('BENCH_REF_RS256_RESOURCE')]: 'RS256',
    [env('BENCH_REF_ES256_RESOURCE')]: 'ES256',
  };

  const provider = new Provider(`http://${HOST}:${PORT}`, {
    adapter: ReportingMemoryAdapter,
    clients: [{
      client_id: env('BENCH_REF_CLIENT_ID'),
      client_secret: env('BENCH_REF_CLIENT_SECRET'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope,
    }],
    jwks: JSON.parse(env('BENCH_REF_JWKS')),
    cookies: { keys: [env('BENCH_REF_COOKIE_KEY')] },
    scopes: scope.split(' '),
    ttl: { ClientCredentials: TOKEN_TTL_SECONDS },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No default: a request must name its API with `resource` (RFC 8707), as ours must
        // name it with `audience`; without one the token would be opaque and stored.
        defaultResource: () => undefined,
        getResourceServerInfo(ctx, resourceIndicator) {
          const alg = resourceServers[resourceIndicator];
          if (!alg) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resourceIndicator,
            accessTokenTTL: TOKEN_TTL_SECONDS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  provider.on('server_error', (ctx, error) => console.error('reference server: server_error', error));
  provider.listen(PORT, HOST);
}
