// Checks docker-compose.yaml, the Dockerfile and the deployment guide by parsing them, because no
// Docker engine runs the tests. The Traefik checks evaluate the router rules of the labels, so they
// catch a forward-auth or buffering middleware on a path that registry clients use.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parse as parseYaml } from 'yaml';

/**
 * The repository root, three levels above the compiled test in dist-test/test/deploy/.
 * WHARF_REPOSITORY_ROOT overrides it when the tests are compiled elsewhere.
 */
const repositoryRoot =
  process.env.WHARF_REPOSITORY_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));

/** The .env of the guide, with placeholders. */
const exampleEnv: Record<string, string> = {
  REGISTRY_HOST: 'registry.example.com',
  AUTHENTIK_HOST: 'auth.example.com',
  ACME_EMAIL: 'admin@example.com',
  AUTHENTIK_SECRET_KEY: 'placeholder-secret-key',
  AUTHENTIK_DB_PASSWORD: 'placeholder-db-password',
};

const registryHost = exampleEnv.REGISTRY_HOST;
const authentikHost = exampleEnv.AUTHENTIK_HOST;

/** Paths that registry clients, `docker login`, OIDC sign-in, API clients and probes call directly. */
const directPaths = [
  '/v2/',
  '/v2/team/app/blobs/uploads/',
  '/v2/team/app/manifests/latest',
  '/auth/token',
  '/auth/login',
  '/auth/session',
  '/auth/oidc/login',
  '/auth/oidc/callback',
  '/api/v1/apikeys',
  '/api/docs',
  '/livez',
  '/readyz',
  '/startupz',
  '/metrics',
];

type EnvironmentValue = string | number | boolean | null;

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, EnvironmentValue> | string[];
  ports?: (string | number | { target?: number; published?: string | number; host_ip?: string })[];
  expose?: (string | number)[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  secrets?: (string | { source: string; target?: string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  stop_grace_period?: string;
  labels?: Record<string, string> | string[];
  networks?: string[] | Record<string, { ipv4_address?: string; aliases?: string[] } | null>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<
    string,
    { name?: string; ipam?: { config?: { subnet?: string; ip_range?: string }[] } } | null
  >;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

function readRepositoryFile(relativePath: string): string {
  return readFileSync(join(repositoryRoot, relativePath), 'utf8');
}

/**
 * Substitutes `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
 * `$VAR` and `$$` as Compose does, and records the names it meets.
 */
function interpolate(text: string, env: Record<string, string>, names: Set<string>): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

  return text.replace(
    pattern,
    (match, braced?: string, operator?: string, argument?: string, bare?: string) => {
      if (match === '$$') {
        return '$';
      }

      const name = braced ?? bare ?? '';
      const value = env[name];

      names.add(name);

      if (value !== undefined && !(value === '' && operator?.startsWith(':'))) {
        return value;
      }

      if (operator?.endsWith('-')) {
        return argument ?? '';
      }

      throw new Error(`variable ${name} is missing from the example .env: ${argument ?? 'no default'}`);
    },
  );
}

const composeText = readRepositoryFile('docker-compose.yaml');
const composeVariables = new Set<string>();
const compose = parseYaml(interpolate(composeText, exampleEnv, composeVariables)) as ComposeFile;
/** The file before interpolation, to see where values come from. */
const rawCompose = parseYaml(composeText) as ComposeFile;

function service(name: string): ComposeService {
  const found = compose.services[name];

  assert.ok(found, `docker-compose.yaml has no service "${name}"`);

  return found;
}

/** Splits Compose's list form `KEY=value` at the first `=`. */
function splitAssignment(text: string): [string, string] {
  const [key, value = ''] = text.split(/=(.*)/s, 2);

  return [key, value];
}

function environmentOf(composeService: ComposeService): Record<string, string> {
  const environment = composeService.environment ?? {};

  return Array.isArray(environment)
    ? Object.fromEntries(environment.map(splitAssignment))
    : Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value)]));
}

function labelsOf(composeService: ComposeService): Record<string, string> {
  const labels = composeService.labels ?? {};

  return Array.isArray(labels)
    ? Object.fromEntries(labels.map(splitAssignment))
    : Object.fromEntries(Object.entries(labels).map(([key, value]) => [key, String(value)]));
}

function commandOf(composeService: ComposeService): string[] {
  const command = composeService.command ?? [];

  return typeof command === 'string' ? command.split(/\s+/) : command.map(String);
}

/** Parses a Go or Compose duration (`1h`, `30m`, `1m30s`, `500ms`), or plain seconds, into seconds. */
function durationSeconds(text: string): number {
  if (/^\d+$/.test(text)) {
    return Number(text);
  }

  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];

  assert.equal(parts.map((part) => part[0]).join(''), text, `"${text}" is not a duration`);

  return parts.reduce((total, part) => total + Number(part[1]) * units[part[2]], 0);
}

function ipv4Number(address: string): number {
  const octets = address.split('.').map(Number);

  assert.equal(octets.length, 4, `"${address}" is not an IPv4 address`);

  return octets.reduce((total, octet) => total * 256 + octet, 0);
}

function inCidr(address: string, cidr: string): boolean {
  const [network, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4Number(network) / size) * size;
  const value = ipv4Number(address);

  return value >= start && value < start + size;
}

// Traefik's Docker labels.

interface TraefikRouter {
  name: string;
  /** The Compose service whose labels declare the router. */
  declaredBy: string;
  rule: string;
  priority: number;
  entrypoints: string[];
  tls: boolean;
  middlewares: string[];
  service: string;
}

interface TraefikMiddleware {
  name: string;
  /** The middleware kind in lower case: `forwardauth`, `headers`, `buffering`, ... */
  kind: string;
  /** Options below the kind, with lower-case keys. */
  options: Record<string, string>;
}

interface TraefikConfig {
  routers: TraefikRouter[];
  middlewares: Map<string, TraefikMiddleware>;
  /** Service name to the port of its load balancer and the Compose service that declares it. */
  services: Map<string, { port: number; declaredBy: string }>;
}

/** Collects routers, middlewares and services from the labels of every container that opts in. */
function traefikConfig(file: ComposeFile): TraefikConfig {
  const routers = new Map<string, Partial<TraefikRouter> & { name: string; declaredBy: string }>();
  const middlewares = new Map<string, TraefikMiddleware>();
  const services = new Map<string, { port: number; declaredBy: string }>();

  for (const [serviceName, composeService] of Object.entries(file.services)) {
    const labels = labelsOf(composeService);

    if (labels['traefik.enable'] !== 'true') {
      continue;
    }

    for (const [key, value] of Object.entries(labels)) {
      const path = key.toLowerCase().split('.');

      if (path[0] !== 'traefik' || path[1] !== 'http') {
        continue;
      }

      const name = path[3];
      const rest = path.slice(4).join('.');

      if (path[2] === 'routers') {
        const router = routers.get(name) ?? { name, declaredBy: serviceName };

        routers.set(name, router);
        applyRouterLabel(router, rest, value);
      } else if (path[2] === 'middlewares') {
        const middleware = middlewares.get(name) ?? { name, kind: path[4], options: {} };

        middleware.options[path.slice(5).join('.')] = value;
        middlewares.set(name, middleware);
      } else if (path[2] === 'services' && rest === 'loadbalancer.server.port') {
        services.set(name, { port: Number(value), declaredBy: serviceName });
      }
    }
  }

  return {
    routers: [...routers.values()].map((router) => completeRouter(router)),
    middlewares,
    services,
  };
}

function applyRouterLabel(router: Partial<TraefikRouter>, option: string, value: string): void {
  const list = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

  switch (option) {
    case 'rule':
      router.rule = value;
      break;
    case 'priority':
      router.priority = Number(value);
      break;
    case 'entrypoints':
      router.entrypoints = list;
      break;
    case 'tls':
      router.tls = value === 'true';
      break;
    case 'tls.certresolver':
      router.tls = true;
      break;
    case 'middlewares':
      router.middlewares = list.map((name) => name.replace(/@docker$/, ''));
      break;
    case 'service':
      router.service = value.replace(/@docker$/, '');
      break;
  }
}

function completeRouter(
  router: Partial<TraefikRouter> & { name: string; declaredBy: string },
): TraefikRouter {
  assert.ok(router.rule, `router ${router.name} has no rule`);
  assert.ok(router.service, `router ${router.name} names no service`);

  return {
    name: router.name,
    declaredBy: router.declaredBy,
    rule: router.rule,
    // Traefik 3 gives a router without an explicit priority the length of its rule.
    priority: router.priority ?? router.rule.length,
    entrypoints: router.entrypoints ?? [],
    tls: router.tls ?? false,
    middlewares: router.middlewares ?? [],
    service: router.service,
  };
}

type RuleToken = { kind: 'name' | 'string' | 'operator'; text: string };

function tokenizeRule(rule: string): RuleToken[] {
  const tokens: RuleToken[] = [];
  const pattern = /\s*(?:(&&|\|\||!|\(|\)|,)|`([^`]*)`|"([^"]*)"|([A-Za-z]+))/y;

  while (pattern.lastIndex < rule.length) {
    if (/^\s*$/.test(rule.slice(pattern.lastIndex))) {
      break;
    }

    const start = pattern.lastIndex;
    const match = pattern.exec(rule);

    assert.ok(match, `cannot read the rule "${rule}" at offset ${start}`);

    if (match[1] !== undefined) {
      tokens.push({ kind: 'operator', text: match[1] });
    } else if (match[4] !== undefined) {
      tokens.push({ kind: 'name', text: match[4] });
    } else {
      tokens.push({ kind: 'string', text: match[2] ?? match[3] });
    }
  }

  return tokens;
}

/**
 * Evaluates a Traefik 3 rule for a request. It supports Host, Path and PathPrefix with &&, ||, ! and
 * brackets, and fails on other matchers, so a new kind of rule needs a change here first.
 */
function ruleMatches(rule: string, host: string, path: string): boolean {
  const tokens = tokenizeRule(rule);
  let position = 0;

  const peek = () => tokens[position]?.text;

  const take = (expected?: string) => {
    const token = tokens[position];

    assert.ok(token, `rule "${rule}" ends early`);
    assert.ok(expected === undefined || token.text === expected, `rule "${rule}": expected ${expected}`);
    position += 1;

    return token;
  };

  const matcher = (name: string, values: string[]): boolean => {
    switch (name) {
      case 'Host':
        return values.some((value) => value.toLowerCase() === host.toLowerCase());
      case 'Path':
        return values.includes(path);
      case 'PathPrefix':
        return values.some((value) => path.startsWith(value));
      default:
        assert.fail(`rule "${rule}" uses ${name}, which this test cannot evaluate`);
    }
  };

  const primary = (): boolean => {
    const token = take();

    if (token.text === '!') {
      return !primary();
    }

    if (token.text === '(') {
      const value = either();

      take(')');

      return value;
    }

    assert.equal(token.kind, 'name', `rule "${rule}": unexpected ${token.text}`);
    take('(');

    const values = [take().text];

    while (peek() === ',') {
      take(',');
      values.push(take().text);
    }

    take(')');

    return matcher(token.text, values);
  };

  const both = (): boolean => {
    let value = primary();

    while (peek() === '&&') {
      take('&&');
      value = primary() && value;
    }

    return value;
  };

  const either = (): boolean => {
    let value = both();

    while (peek() === '||') {
      take('||');
      value = both() || value;
    }

    return value;
  };

  const result = either();

  assert.equal(position, tokens.length, `rule "${rule}" has text after its end`);

  return result;
}

const traefik = traefikConfig(compose);

/** Finds the router Traefik picks for an HTTPS request: the matching router with the highest priority. */
function routerFor(host: string, path: string): TraefikRouter {
  const candidates = traefik.routers
    .filter((router) => router.entrypoints.includes('websecure'))
    .filter((router) => ruleMatches(router.rule, host, path))
    .sort((left, right) => right.priority - left.priority);

  assert.ok(candidates.length > 0, `no router on websecure matches https://${host}${path}`);
  assert.ok(
    candidates.length === 1 || candidates[0].priority > candidates[1].priority,
    `routers ${candidates[0].name} and ${candidates[1]?.name} tie for https://${host}${path}`,
  );

  return candidates[0];
}

function middlewaresOf(router: TraefikRouter): TraefikMiddleware[] {
  return router.middlewares.map((name) => {
    const middleware = traefik.middlewares.get(name.toLowerCase());

    assert.ok(middleware, `router ${router.name} uses middleware ${name}, which no label defines`);

    return middleware;
  });
}

function usesForwardAuth(router: TraefikRouter): boolean {
  return middlewaresOf(router).some((middleware) => middleware.kind === 'forwardauth');
}

/** Reads the forward-auth header names, which name the user and groups, from the example config. */
function forwardAuthHeaders(): string[] {
  const example = parseYaml(readRepositoryFile('config/wharf.auth.example.yaml')) as {
    auth: { forwardAuth: { userHeader: string; groupsHeader: string } };
  };

  return [example.auth.forwardAuth.userHeader, example.auth.forwardAuth.groupsHeader];
}

describe('compose services', () => {
  it('defines Wharf, Traefik, Authentik and PostgreSQL', () => {
    for (const name of ['wharf', 'traefik', 'authentik-server', 'authentik-worker', 'postgresql']) {
      assert.ok(compose.services[name], `missing service ${name}`);
    }
  });

  it('builds Wharf from the Dockerfile', () => {
    const build = service('wharf').build;
    const context = typeof build === 'string' ? build : build?.context;
    const dockerfile = typeof build === 'object' ? (build.dockerfile ?? 'Dockerfile') : 'Dockerfile';

    assert.equal(context, '.');
    assert.equal(dockerfile, 'Dockerfile');
  });

  it('exposes the registry and metrics ports', () => {
    const wharf = service('wharf');
    const exposed = (wharf.expose ?? []).map(String);
    const published = (wharf.ports ?? []).map((port) => (typeof port === 'object' ? port : String(port)));

    assert.ok(exposed.includes('5000'), 'port 5000 is not exposed');
    assert.ok(exposed.includes('5001'), 'port 5001 is not exposed');

    for (const port of published) {
      const hostAddress = typeof port === 'object' ? port.host_ip : port.split(':').slice(0, -2).join(':');

      assert.equal(hostAddress, '127.0.0.1', `Wharf publishes ${JSON.stringify(port)} beyond loopback`);
    }
  });

  it('mounts the data volume and the config directory read-only', () => {
    const volumes = (service('wharf').volumes ?? []).map((volume) =>
      typeof volume === 'string'
        ? volume
        : `${volume.source}:${volume.target}${volume.read_only ? ':ro' : ''}`,
    );
    const data = volumes.find((volume) => volume.split(':')[1] === '/var/lib/wharf');

    assert.ok(data, 'nothing is mounted at /var/lib/wharf');
    assert.ok(data.split(':')[0] in (compose.volumes ?? {}), `${data} is not a named volume`);
    assert.ok(volumes.includes('./config:/etc/wharf:ro'), './config is not mounted read-only at /etc/wharf');
  });

  it('starts Wharf with a config file other than the open default', () => {
    const command = commandOf(service('wharf'));
    const configFile = command[command.indexOf('--config') + 1];

    assert.equal(command[0], 'serve');
    assert.ok(command.includes('--config'), 'the command passes no --config');
    assert.match(configFile, /^\/etc\/wharf\/[^/]+\.yaml$/);
    // ./config/wharf.yaml is the embedded default without authentication.
    assert.notEqual(configFile, '/etc/wharf/wharf.yaml');
  });

  it('mounts the secrets where the example config reads them', () => {
    const example = parseYaml(readRepositoryFile('config/wharf.auth.example.yaml')) as {
      auth: { htpasswd: { path: string }; oidc: { clientSecretFile: string } };
    };
    const mounted = (service('wharf').secrets ?? []).map((secret) =>
      typeof secret === 'string'
        ? `/run/secrets/${secret}`
        : (secret.target ?? `/run/secrets/${secret.source}`),
    );

    assert.ok(mounted.includes(example.auth.htpasswd.path), `no secret at ${example.auth.htpasswd.path}`);
    assert.ok(
      mounted.includes(example.auth.oidc.clientSecretFile),
      `no secret at ${example.auth.oidc.clientSecretFile}`,
    );

    for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
      assert.match(secret.file ?? '', /^\.\/secrets\//, `secret ${name} is not a file under ./secrets/`);
    }
  });

  it('checks readiness and outlasts the shutdown grace period', () => {
    const wharf = service('wharf');
    const test = wharf.healthcheck?.test;

    assert.ok(test, 'Wharf has no healthcheck');
    // Traefik routes only to healthy containers, so readiness (disk, storage, shutdown) is the signal.
    assert.match(Array.isArray(test) ? test.join(' ') : test, /http:\/\/127\.0\.0\.1:5000\/readyz/);
    assert.ok(durationSeconds(wharf.stop_grace_period ?? '10s') > 10, 'stop_grace_period is not above 10s');
  });

  it('pins the Authentik image and runs server and worker', () => {
    const server = service('authentik-server');
    const worker = service('authentik-worker');

    assert.match(server.image ?? '', /^ghcr\.io\/goauthentik\/server:\d{4}\.\d+\.\d+$/);
    assert.equal(worker.image, server.image);
    assert.deepEqual(commandOf(server), ['server']);
    assert.deepEqual(commandOf(worker), ['worker']);
  });

  it('takes Authentik secrets from .env', () => {
    for (const name of ['authentik-server', 'authentik-worker']) {
      const raw = environmentOf(rawCompose.services[name]);
      const environment = environmentOf(service(name));

      assert.match(raw.AUTHENTIK_SECRET_KEY, /^\$\{AUTHENTIK_SECRET_KEY:\?/);
      assert.match(raw.AUTHENTIK_POSTGRESQL__PASSWORD, /^\$\{AUTHENTIK_DB_PASSWORD:\?/);
      assert.equal(environment.AUTHENTIK_POSTGRESQL__HOST, 'postgresql');
      assert.ok(environment.AUTHENTIK_POSTGRESQL__NAME, `${name} has no AUTHENTIK_POSTGRESQL__NAME`);
      assert.ok(environment.AUTHENTIK_POSTGRESQL__USER, `${name} has no AUTHENTIK_POSTGRESQL__USER`);
    }

    assert.match(
      environmentOf(rawCompose.services.postgresql).POSTGRES_PASSWORD,
      /^\$\{AUTHENTIK_DB_PASSWORD:\?/,
    );
  });

  it('runs Redis only for Authentik before 2025.10', () => {
    const [year, month] = (service('authentik-server').image ?? '').split(':')[1].split('.').map(Number);
    const needsRedis = year * 100 + month < 202510;
    const redisHost = environmentOf(service('authentik-server')).AUTHENTIK_REDIS__HOST;

    assert.equal('redis' in compose.services, needsRedis);
    assert.equal(redisHost !== undefined, needsRedis);
  });

  it('keeps the PostgreSQL data in a volume', () => {
    const volumes = (service('postgresql').volumes ?? []).map(String);
    const data = volumes.find((volume) => volume.endsWith(':/var/lib/postgresql/data'));

    assert.ok(data, 'nothing is mounted at /var/lib/postgresql/data');
    assert.ok(data.split(':')[0] in (compose.volumes ?? {}), `${data} is not a named volume`);
  });
});

describe('compose Traefik routing', () => {
  const traefikCommand = commandOf(service('traefik'));

  function staticOption(name: string): string | undefined {
    const prefix = `--${name.toLowerCase()}=`;
    const flag = traefikCommand.find((argument) => argument.toLowerCase().startsWith(prefix));

    return flag?.slice(prefix.length);
  }

  it('reads only containers that opt in', () => {
    assert.equal(staticOption('providers.docker.exposedByDefault'), 'false');
  });

  it('allows at least 30 minutes to read a request', () => {
    const readTimeout = staticOption('entrypoints.websecure.transport.respondingTimeouts.readTimeout');

    assert.ok(readTimeout, 'the websecure read timeout keeps its 60-second default');
    assert.ok(durationSeconds(readTimeout) >= 30 * 60, `readTimeout ${readTimeout} is under 30 minutes`);
  });

  it('routes the registry host to Wharf port 5000 over TLS', () => {
    const router = routerFor(registryHost, '/v2/');
    const target = traefik.services.get(router.service);

    assert.equal(router.declaredBy, 'wharf');
    assert.ok(router.entrypoints.includes('websecure'));
    assert.equal(router.tls, true, `router ${router.name} has no TLS`);
    assert.deepEqual(target, { port: 5000, declaredBy: 'wharf' });
  });

  it('sends direct paths past forward auth', () => {
    for (const path of directPaths) {
      const router = routerFor(registryHost, path);

      assert.equal(router.service, 'wharf', `${path} is not routed to Wharf`);
      assert.equal(usesForwardAuth(router), false, `${path} goes through forward auth (${router.name})`);
    }
  });

  it('puts forward auth in front of the UI only', () => {
    const ui = routerFor(registryHost, '/home');

    assert.equal(ui.service, 'wharf');
    assert.equal(usesForwardAuth(ui), true, '/home is not behind forward auth');

    for (const router of traefik.routers.filter((candidate) => usesForwardAuth(candidate))) {
      assert.match(router.rule, /PathPrefix\(`\/home/, `router ${router.name} is not limited to /home`);

      for (const path of directPaths) {
        assert.equal(ruleMatches(router.rule, registryHost, path), false, `${router.name} matches ${path}`);
      }
    }
  });

  it('uses no buffering middleware', () => {
    for (const middleware of traefik.middlewares.values()) {
      assert.notEqual(middleware.kind, 'buffering', `middleware ${middleware.name} buffers request bodies`);
    }
  });

  it('deletes forward-auth headers before Wharf', () => {
    const headers = forwardAuthHeaders().map((header) => header.toLowerCase());

    for (const router of traefik.routers.filter((candidate) => candidate.service === 'wharf')) {
      const chain = middlewaresOf(router);
      const strip = chain.findIndex((middleware) =>
        headers.every(
          (header) =>
            middleware.kind === 'headers' && middleware.options[`customrequestheaders.${header}`] === '',
        ),
      );
      const forwardAuth = chain.findIndex((middleware) => middleware.kind === 'forwardauth');

      assert.ok(strip >= 0, `router ${router.name} passes client-sent ${headers.join(' and ')} to Wharf`);
      assert.ok(forwardAuth === -1 || strip < forwardAuth, `router ${router.name} strips after forward auth`);
    }
  });

  it('copies the identity headers from Authentik', () => {
    const headers = forwardAuthHeaders().map((header) => header.toLowerCase());
    const forwardAuths = [...traefik.middlewares.values()].filter(
      (middleware) => middleware.kind === 'forwardauth',
    );

    assert.ok(forwardAuths.length > 0, 'no forwardauth middleware is defined');

    for (const middleware of forwardAuths) {
      const copied = (middleware.options.authresponseheaders ?? '')
        .split(',')
        .map((header) => header.trim().toLowerCase());

      assert.match(
        middleware.options.address ?? '',
        /^http:\/\/authentik-server:9000\/outpost\.goauthentik\.io\//,
      );

      for (const header of headers) {
        assert.ok(copied.includes(header), `${middleware.name} does not copy ${header}`);
      }
    }
  });

  it('routes the outpost path to Authentik', () => {
    const router = routerFor(registryHost, '/outpost.goauthentik.io/callback');

    assert.deepEqual(traefik.services.get(router.service), { port: 9000, declaredBy: 'authentik-server' });
    assert.equal(usesForwardAuth(router), false);
  });

  it('routes the Authentik host to the server', () => {
    const router = routerFor(authentikHost, '/if/flow/initial-setup/');

    assert.equal(router.tls, true);
    assert.deepEqual(traefik.services.get(router.service), { port: 9000, declaredBy: 'authentik-server' });
  });

  it('trusts only the address Traefik is pinned to', () => {
    const networks = service('traefik').networks;
    const edge = Array.isArray(networks) ? undefined : networks?.edge;
    const address = edge?.ipv4_address;
    const ipam = compose.networks?.edge?.ipam?.config?.[0];
    const trusted = JSON.parse(environmentOf(service('wharf')).WHARF_HTTP__TRUSTED_PROXIES) as string[];

    assert.ok(address, 'Traefik has no fixed address on the edge network');
    assert.ok(ipam?.subnet, 'the edge network has no subnet');
    assert.ok(ipam.ip_range, 'the edge network has no ip_range');
    assert.deepEqual(trusted, [address]);
    assert.ok(inCidr(address, ipam.subnet), `${address} is outside ${ipam.subnet}`);
    assert.equal(
      inCidr(address, ipam.ip_range),
      false,
      `${address} is in the dynamic range ${ipam.ip_range}`,
    );
  });
});

describe('Dockerfile', () => {
  const dockerfile = readRepositoryFile('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)/gim)].map((match) => match[1]);

  it('builds in stages on a Node 20 slim base', () => {
    assert.ok(stages.length >= 2, `${stages.length} stage(s)`);

    for (const image of stages) {
      assert.match(image, /^node:20(\.\d+)*-[a-z]+-slim$/);
    }
  });

  it('exposes the registry and metrics ports', () => {
    const exposed = [...dockerfile.matchAll(/^EXPOSE\s+(.+)$/gim)].flatMap((match) => match[1].split(/\s+/));

    assert.ok(exposed.includes('5000'), 'EXPOSE lacks 5000');
    assert.ok(exposed.includes('5001'), 'EXPOSE lacks 5001');
  });

  it('probes liveness', () => {
    assert.match(dockerfile, /^HEALTHCHECK[\s\S]*\/livez/m);
  });

  it('copies what the runtime needs', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

    for (const path of ['/app/package.json', '/app/node_modules', '/app/dist', '/app/config/wharf.yaml']) {
      assert.ok(runtime.includes(`COPY --from=build ${path}`), `the runtime stage does not copy ${path}`);
    }
  });

  it('keeps deployment secrets out of the build context', () => {
    const ignored = readRepositoryFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim());

    assert.ok(ignored.includes('.env'), '.dockerignore lacks .env');
    assert.ok(ignored.includes('secrets/'), '.dockerignore lacks secrets/');
  });
});

describe('deployment guide', () => {
  const guidePath = 'docs/deploy-traefik-authentik.md';
  const guide = existsSync(join(repositoryRoot, guidePath)) ? readRepositoryFile(guidePath) : '';

  it('exists and is linked from the README', () => {
    assert.notEqual(guide, '', `${guidePath} is missing or empty`);
    assert.ok(readRepositoryFile('README.md').includes(guidePath), `README.md does not link ${guidePath}`);
  });

  it('names the callback URL and the issuer', () => {
    assert.ok(guide.includes(`https://${registryHost}/auth/oidc/callback`), 'no callback URL');
    // Authentik's issuer ends in a slash, and openid-client compares issuers exactly.
    assert.ok(
      guide.includes(`https://${authentikHost}/application/o/wharf/`),
      'no issuer with a trailing slash',
    );
  });

  it('names the Authentik initial setup page', () => {
    assert.ok(guide.includes('/if/flow/initial-setup/'));
  });

  it('documents every variable of the Compose file', () => {
    assert.ok(composeVariables.size > 0);

    for (const name of composeVariables) {
      assert.ok(guide.includes(`${name}=`), `the guide does not show ${name}= in .env`);
    }
  });
});
