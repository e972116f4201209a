/**
 * OIDC sign-in against a real OpenID Provider (oidc-provider 9) mounted under an Authentik-style issuer
 * path. A scripted browser signs in on the provider's development pages; groups from the `groups` claim
 * then decide what the user's API keys may push.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { freePort } from '../support/free-port.js';
import {
  CookieJar,
  followRedirects,
  type OpenIdProvider,
  signInAtProvider,
  startOpenIdProvider,
} from '../support/openid-provider.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const issuerPath = '/application/o/wharf/';

/** Test users of the provider: alice is in `developers`, bob in no group, carol has no username claim. */
const accounts = {
  alice: { preferred_username: 'alice', name: 'Alice', groups: ['developers'] },
  bob: { preferred_username: 'bob', name: 'Bob', groups: [] },
  carol: { name: 'Carol', groups: ['developers'] },
};

interface SessionAnswer {
  authenticated: boolean;
  username?: string;
  groups?: string[];
  method?: string;
  csrfToken?: string;
}

interface ErrorBody {
  errors: { code: string; message: string }[];
}

/** Parses a `Set-Cookie` header into the cookie's name and value and its attributes, keyed in lower case. */
function parseSetCookie(header: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair, ...rest] = header.split(';').map((part) => part.trim());
  const separator = pair.indexOf('=');
  const attributes = new Map(
    rest.map((attribute) => {
      const [key, ...value] = attribute.split('=');

      return [key.toLowerCase(), value.join('=')] as const;
    }),
  );

  return { name: pair.slice(0, separator), value: pair.slice(separator + 1), attributes };
}

/** Path of the provider's userinfo endpoint below the issuer, from its discovery document. */
async function userinfoPath(provider: OpenIdProvider): Promise<string> {
  const response = await fetch(new URL('.well-known/openid-configuration', provider.issuer));
  const metadata = (await response.json()) as { userinfo_endpoint: string };

  return new URL(metadata.userinfo_endpoint).pathname.slice(new URL(provider.issuer).pathname.length - 1);
}

async function assertBadRequest(response: Response, context: string): Promise<ErrorBody> {
  const text = await response.text();

  assert.equal(response.status, 400, `${context}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, context);

  const body = JSON.parse(text) as ErrorBody;

  assert.equal(body.errors.length, 1, context);
  assert.equal(body.errors[0].code, 'BAD_REQUEST', context);

  return body;
}

describe('OIDC sign-in with oidc-provider', () => {
  let workDirectory: string;
  let provider: OpenIdProvider;
  let wharf: WharfServer;
  let callbackPrefix: string;
  const clientSecret = randomBytes(24).toString('base64url');
  /** Codes, states and tokens seen during the tests; none of them may reach Wharf's log. */
  const secrets: string[] = [clientSecret];
  const alice: { cookie?: string; csrfToken?: string; providerJar: CookieJar } = {
    providerJar: new CookieJar(),
  };

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-oidc-'));

    const secretFile = join(workDirectory, 'oidc-client-secret');
    // Wharf's port goes into the client's redirect URI, so it is chosen before either server starts.
    const wharfPort = await freePort();
    const wharfBase = `http://127.0.0.1:${wharfPort}`;

    // The trailing newline must be trimmed, as from `echo secret > file`.
    await writeFile(secretFile, `${clientSecret}\n`, { mode: 0o600 });
    callbackPrefix = `${wharfBase}/auth/oidc/callback`;
    provider = await startOpenIdProvider({
      issuerPath,
      client: {
        clientId: 'wharf',
        clientSecret,
        redirectUris: [callbackPrefix],
        postLogoutRedirectUris: [`${wharfBase}/home`],
      },
      accounts,
    });
    wharf = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: wharfPort, externalUrl: wharfBase },
        auth: {
          oidc: {
            issuer: provider.issuer,
            clientId: 'wharf',
            clientSecretFile: secretFile,
            scopes: ['openid', 'profile', 'groups'],
          },
        },
        access: {
          repositories: { 'team/**': { groups: { developers: ['read', 'create'] } } },
        },
      },
    });
  });

  after(async () => {
    await wharf?.dispose();
    await provider?.stop();
    await rm(workDirectory, { recursive: true, force: true });
  });

  /** Requests Wharf's login endpoint and returns the provider's authorization URL it redirects to. */
  async function startSignIn(returnTo?: string): Promise<URL> {
    const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`;
    const response = await fetch(`${wharf.baseUrl}/auth/oidc/login${query}`, { redirect: 'manual' });

    assert.equal(response.status, 302, await response.text());

    const location = new URL(response.headers.get('location') ?? '');

    secrets.push(location.searchParams.get('state') ?? '');

    return location;
  }

  /** Signs in at the provider and returns Wharf's callback URL, not yet requested. */
  async function callbackFor(login: string, jar: CookieJar, returnTo?: string): Promise<string> {
    const authorizationUrl = await startSignIn(returnTo);
    const callbackUrl = await signInAtProvider(jar, authorizationUrl.href, login, callbackPrefix);

    secrets.push(new URL(callbackUrl).searchParams.get('code') ?? '');

    return callbackUrl;
  }

  /** Completes a sign-in at Wharf and returns the session cookie (`name=value`). */
  async function completeSignIn(callbackUrl: string, expectedReturnTo: string): Promise<string> {
    const response = await fetch(callbackUrl, { redirect: 'manual' });

    assert.equal(response.status, 302, await response.text());
    assert.equal(response.headers.get('location'), expectedReturnTo);

    const cookie = parseSetCookie(response.headers.getSetCookie()[0] ?? '');

    assert.equal(cookie.name, 'wharf_session');
    secrets.push(cookie.value);

    return `${cookie.name}=${cookie.value}`;
  }

  async function session(cookie: string): Promise<SessionAnswer> {
    const response = await fetch(`${wharf.baseUrl}/auth/session`, { headers: { Cookie: cookie } });

    assert.equal(response.status, 200);

    return (await response.json()) as SessionAnswer;
  }

  /** Creates an API key as the session's user and returns its secret. */
  async function createApiKey(cookie: string, csrfToken: string): Promise<string> {
    const response = await fetch(`${wharf.baseUrl}/api/v1/apikeys`, {
      method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' },
      body: JSON.stringify({ label: 'ci' }),
    });
    const text = await response.text();

    assert.equal(response.status, 201, text);

    const secret = (JSON.parse(text) as { secret: string }).secret;

    secrets.push(secret);

    return secret;
  }

  async function startUpload(username: string, apiKey: string): Promise<Response> {
    return fetch(`${wharf.baseUrl}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${username}:${apiKey}`).toString('base64')}` },
    });
  }

  it('signs alice in with her groups', async () => {
    const callbackUrl = await callbackFor('alice', alice.providerJar, '/home/repositories?page=2');
    const callback = await fetch(callbackUrl, { redirect: 'manual' });

    assert.equal(callback.status, 302, await callback.text());
    assert.equal(callback.headers.get('location'), '/home/repositories?page=2');

    const setCookie = callback.headers.getSetCookie();

    assert.equal(setCookie.length, 1);

    const cookie = parseSetCookie(setCookie[0]);

    assert.equal(cookie.name, 'wharf_session');
    assert.ok(cookie.attributes.has('httponly'), setCookie[0]);
    assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax', setCookie[0]);
    assert.equal(cookie.attributes.get('path'), '/');
    secrets.push(cookie.value);
    alice.cookie = `${cookie.name}=${cookie.value}`;

    const answer = await session(alice.cookie);

    assert.equal(answer.authenticated, true);
    assert.equal(answer.username, 'alice');
    assert.deepEqual(answer.groups, ['developers']);
    assert.equal(answer.method, 'oidc');
    assert.ok(answer.csrfToken);
    alice.csrfToken = answer.csrfToken;
    // oidc-provider keeps profile and group claims out of the ID token here, so Wharf requested userinfo.
    assert.ok(
      provider.requestPaths().includes(await userinfoPath(provider)),
      provider.requestPaths().join(' '),
    );

    const audit = await wharf.waitForLog(
      (record) => record.audit === true && record.event === 'login' && record.method === 'oidc',
    );

    assert.equal(audit.length, 1);
    assert.equal(audit[0].user, 'alice');
    assert.equal(audit[0].address, '127.0.0.1');

    const replay = await fetch(callbackUrl, { redirect: 'manual' });

    await assertBadRequest(replay, 'replayed callback');
  });

  it('lets groups from the claim decide push access', async () => {
    assert.ok(alice.cookie, 'alice signed in in the first test');
    assert.ok(alice.csrfToken, 'alice read her CSRF token in the first test');

    const aliceKey = await createApiKey(alice.cookie, alice.csrfToken);
    const aliceUpload = await startUpload('alice', aliceKey);

    assert.equal(aliceUpload.status, 202, await aliceUpload.text());

    const bobCallback = await callbackFor('bob', new CookieJar());
    const bobCookie = await completeSignIn(bobCallback, '/home');
    const bob = await session(bobCookie);

    assert.equal(bob.username, 'bob');
    assert.deepEqual(bob.groups, []);

    const bobKey = await createApiKey(bobCookie, bob.csrfToken ?? '');
    const bobUpload = await startUpload('bob', bobKey);

    assert.equal(bobUpload.status, 403, await bobUpload.text());
  });

  it('signs out at the provider too', async () => {
    assert.ok(alice.cookie, 'alice signed in in the first test');
    assert.ok(alice.csrfToken, 'alice read her CSRF token in the first test');

    const response = await fetch(`${wharf.baseUrl}/auth/logout`, {
      method: 'POST',
      headers: { Cookie: alice.cookie, 'X-CSRF-Token': alice.csrfToken },
    });
    const text = await response.text();

    assert.equal(response.status, 200, text);

    const redirectTo = new URL((JSON.parse(text) as { redirectTo: string }).redirectTo);
    const idToken = redirectTo.searchParams.get('id_token_hint');

    assert.ok(redirectTo.href.startsWith(provider.issuer), redirectTo.href);
    assert.ok(idToken, redirectTo.href);
    assert.equal(redirectTo.searchParams.get('post_logout_redirect_uri'), `${wharf.baseUrl}/home`);
    assert.equal(redirectTo.searchParams.get('client_id'), 'wharf');
    secrets.push(idToken);

    const cleared = parseSetCookie(response.headers.getSetCookie()[0] ?? '');

    assert.equal(cleared.name, 'wharf_session');
    assert.equal(cleared.value, '');
    assert.equal(cleared.attributes.get('max-age'), '0');
    assert.equal((await session(alice.cookie)).authenticated, false);

    // The provider accepts the ID token as a hint and shows its sign-out confirmation page.
    const endSession = await followRedirects(alice.providerJar, redirectTo.href, callbackPrefix);

    assert.equal(endSession.response?.status, 200, await endSession.response?.text());
  });

  it('rejects returnTo outside this site', async () => {
    const rejected = [
      '//evil.example/x',
      'https://evil.example',
      '/\\evil',
      '\\\\evil',
      '/home\\x',
      '/\t/evil.example',
      '/home\nLocation: x',
      'home',
      `/${'a'.repeat(2048)}`,
    ];

    for (const returnTo of rejected) {
      const response = await fetch(
        `${wharf.baseUrl}/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
        {
          redirect: 'manual',
        },
      );

      await assertBadRequest(response, JSON.stringify(returnTo));
    }

    const repeated = await fetch(`${wharf.baseUrl}/auth/oidc/login?returnTo=/a&returnTo=/b`, {
      redirect: 'manual',
    });

    await assertBadRequest(repeated, 'returnTo given twice');
  });

  it('rejects callbacks with an unknown state', async () => {
    const cases = [
      ['unknown state', '?code=abc&state=unknown'],
      ['no state', '?code=abc'],
      ['no parameters', ''],
      ['state twice', '?code=abc&state=a&state=b'],
    ];

    for (const [name, query] of cases) {
      const response = await fetch(`${wharf.baseUrl}/auth/oidc/callback${query}`, { redirect: 'manual' });

      await assertBadRequest(response, name);
    }
  });

  it('reports the provider error code only', async () => {
    const authorizationUrl = await startSignIn();
    const jar = new CookieJar();
    const loginPage = await followRedirects(jar, authorizationUrl.href, callbackPrefix);

    assert.equal(loginPage.response?.status, 200);
    await loginPage.response?.body?.cancel();

    // The development login page's "Cancel" link: the provider redirects back with error=access_denied.
    const aborted = await followRedirects(jar, `${loginPage.url}/abort`, callbackPrefix);

    assert.equal(aborted.response, undefined, `stopped at ${aborted.url}`);
    assert.equal(new URL(aborted.url).searchParams.get('error'), 'access_denied');

    const denied = await assertBadRequest(await fetch(aborted.url, { redirect: 'manual' }), 'access_denied');

    assert.match(denied.errors[0].message, /"access_denied"/);
    assert.doesNotMatch(denied.errors[0].message, /aborted/i, 'the provider free text stays out');

    const state = new URL(aborted.url).searchParams.get('state') ?? '';
    const markup = await fetch(
      `${wharf.baseUrl}/auth/oidc/callback?error=${encodeURIComponent('<b>x</b>')}&state=${encodeURIComponent(state)}`,
      { redirect: 'manual' },
    );
    const markupBody = await assertBadRequest(markup, 'error code with markup');

    assert.doesNotMatch(markupBody.errors[0].message, /</);
  });

  it('rejects a user without a username claim', async () => {
    const callbackUrl = await callbackFor('carol', new CookieJar());
    const response = await fetch(callbackUrl, { redirect: 'manual' });
    const body = await assertBadRequest(response, 'carol');

    assert.match(body.errors[0].message, /"preferred_username"/);
    assert.equal(response.headers.getSetCookie().length, 0, 'no session for carol');
  });

  it('warns once that the issuer is not https', () => {
    const warnings = wharf
      .logRecords()
      .filter(
        (record) => typeof record.msg === 'string' && record.msg.startsWith('OIDC issuer is not https'),
      );

    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].issuer, provider.issuer);
  });

  it('keeps codes, tokens and secrets out of the log', async () => {
    // Wait for the access line of the last request, written after its response went out.
    await wharf.waitForLog(
      (record) => record.msg === 'request completed' && record.url === '/auth/oidc/callback',
    );

    const output = wharf.output();
    const requests = wharf.logRecords().filter((record) => record.msg === 'request completed');

    for (const secret of secrets) {
      assert.ok(secret.length >= 16, `secret too short to search for: ${secret}`);
      assert.ok(!output.includes(secret), `the log contains a secret that starts with ${secret.slice(0, 4)}`);
    }

    assert.ok(requests.length > 20, `only ${requests.length} access log lines`);

    for (const request of requests) {
      assert.ok((request.statusCode as number) < 500, JSON.stringify(request));
    }
  });
});

describe('OIDC provider started after Wharf', () => {
  let workDirectory: string;
  let providerPort: number;
  let provider: OpenIdProvider | undefined;
  let wharf: WharfServer;

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-oidc-outage-'));
    providerPort = await freePort();

    const wharfPort = await freePort();
    const secretFile = join(workDirectory, 'oidc-client-secret');

    await writeFile(secretFile, 'outage-test-secret\n', { mode: 0o600 });
    wharf = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: wharfPort, externalUrl: `http://127.0.0.1:${wharfPort}` },
        auth: {
          oidc: {
            issuer: `http://127.0.0.1:${providerPort}${issuerPath}`,
            clientId: 'wharf',
            clientSecretFile: secretFile,
            scopes: ['openid', 'profile', 'groups'],
          },
        },
      },
    });
  });

  after(async () => {
    await wharf?.dispose();
    await provider?.stop();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('returns 503 until the provider is up', async () => {
    const down = await fetch(`${wharf.baseUrl}/auth/oidc/login`, { redirect: 'manual' });
    const body = (await down.json()) as ErrorBody;

    assert.equal(down.status, 503);
    assert.equal(body.errors[0].code, 'SERVICE_UNAVAILABLE');
    assert.match(body.errors[0].message, /could not be reached/);

    provider = await startOpenIdProvider({
      issuerPath,
      port: providerPort,
      claimsInIdToken: true,
      client: {
        clientId: 'wharf',
        clientSecret: 'outage-test-secret',
        redirectUris: [`${wharf.baseUrl}/auth/oidc/callback`],
        postLogoutRedirectUris: [],
      },
      accounts,
    });

    const up = await fetch(`${wharf.baseUrl}/auth/oidc/login`, { redirect: 'manual' });

    assert.equal(up.status, 302, await up.text());
    assert.ok(up.headers.get('location')?.startsWith(provider.issuer), up.headers.get('location') ?? '');
    assert.equal(wharf.process.exitCode, null, 'wharf is still running');
  });

  it('returns 502 for a wrong issuer path', async () => {
    assert.ok(provider, 'the provider started in the first test');

    // The provider returns 404 outside its issuer path, so discovery gets no metadata document.
    const port = await freePort();
    const misconfigured = await startWharf({
      config: {
        http: { address: '127.0.0.1', port, externalUrl: `http://127.0.0.1:${port}` },
        auth: { oidc: { issuer: `${provider.origin}/application/o/other/`, clientId: 'wharf' } },
      },
    });

    try {
      const response = await fetch(`${misconfigured.baseUrl}/auth/oidc/login`, { redirect: 'manual' });
      const body = (await response.json()) as ErrorBody;

      assert.equal(response.status, 502);
      assert.equal(body.errors[0].code, 'BAD_GATEWAY');
      assert.match(body.errors[0].message, /invalid response \(discovery\)/);
      assert.equal(misconfigured.process.exitCode, null, 'wharf is still running');
    } finally {
      await misconfigured.dispose();
    }
  });

  it('reads claims from the ID token alone', async () => {
    assert.ok(provider, 'the provider started in the first test');

    const login = await fetch(`${wharf.baseUrl}/auth/oidc/login`, { redirect: 'manual' });
    const callbackPrefix = `${wharf.baseUrl}/auth/oidc/callback`;
    const callbackUrl = await signInAtProvider(
      new CookieJar(),
      login.headers.get('location') ?? '',
      'alice',
      callbackPrefix,
    );
    const callback = await fetch(callbackUrl, { redirect: 'manual' });

    assert.equal(callback.status, 302, await callback.text());

    const cookie = parseSetCookie(callback.headers.getSetCookie()[0] ?? '');
    const response = await fetch(`${wharf.baseUrl}/auth/session`, {
      headers: { Cookie: `${cookie.name}=${cookie.value}` },
    });
    const answer = (await response.json()) as SessionAnswer;

    assert.equal(answer.username, 'alice');
    assert.deepEqual(answer.groups, ['developers']);
    assert.ok(
      !provider.requestPaths().includes(await userinfoPath(provider)),
      provider.requestPaths().join(' '),
    );
  });
});
