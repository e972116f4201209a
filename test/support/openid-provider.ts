/**
 * A real OpenID Provider (oidc-provider 9) for sign-in tests, and a scripted browser that signs in
 * through its built-in development login and consent pages. The provider listens on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error -- oidc-provider 9 ships no type declarations and @types/oidc-provider is not installed.
import UntypedProvider from 'oidc-provider';

/** The parts of oidc-provider's Provider class that this file uses. */
interface ProviderInstance {
  callback(): (request: IncomingMessage, response: ServerResponse) => void;
}

type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

const Provider = UntypedProvider as ProviderClass;

export interface OpenIdClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface StartOpenIdProviderOptions {
  /** Issuer path with its trailing slash, such as Authentik's `/application/o/<slug>/`. */
  issuerPath: string;
  client: OpenIdClient;
  /** Claims of each account by account id (the login name on the development login page). */
  accounts: Record<string, Record<string, unknown>>;
  /** TCP port on 127.0.0.1. The default, 0, picks a free one. */
  port?: number;
  /**
   * Put the claims of the granted scopes into the ID token too. By default oidc-provider 9 puts them
   * only into the userinfo response when it also issues an access token.
   */
  claimsInIdToken?: boolean;
}

export interface OpenIdProvider {
  /** Issuer identifier, such as `http://127.0.0.1:40123/application/o/wharf/`. */
  readonly issuer: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Paths below the issuer path (such as `/me`, the userinfo endpoint) of the requests so far. */
  requestPaths(): string[];
  /** Closes the server and its open connections. */
  stop(): Promise<void>;
}

/**
 * Starts oidc-provider under `issuerPath`, with one confidential client that must use PKCE, the
 * scopes `openid`, `profile` (`preferred_username`, `name`) and `groups` (`groups`), the development
 * login and consent pages (any password is accepted) and RP-initiated logout.
 */
export async function startOpenIdProvider(options: StartOpenIdProviderOptions): Promise<OpenIdProvider> {
  const server = createServer();

  await listen(server, options.port ?? 0);

  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = new URL(options.issuerPath, origin).href;
  const provider = new Provider(issuer, await providerConfiguration(options));
  const providerCallback = provider.callback();
  const mountPath = options.issuerPath.replace(/\/$/, '');
  const requestPaths: string[] = [];

  // Attached once the issuer is known. Nothing requests the provider before this function returns.
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? '/';

    if (url !== mountPath && !url.startsWith(`${mountPath}/`) && !url.startsWith(`${mountPath}?`)) {
      response.writeHead(404).end();

      return;
    }

    // oidc-provider derives its mount path from originalUrl, as it does under Express or Connect.
    Object.assign(request, { originalUrl: url });
    request.url = url.slice(mountPath.length) || '/';
    requestPaths.push(request.url.split('?')[0]);
    providerCallback(request, response);
  });

  return {
    issuer,
    origin,
    requestPaths: () => [...requestPaths],
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function providerConfiguration(options: StartOpenIdProviderOptions): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-signing-key' };

  return {
    clients: [
      {
        client_id: options.client.clientId,
        client_secret: options.client.clientSecret,
        redirect_uris: options.client.redirectUris,
        post_logout_redirect_uris: options.client.postLogoutRedirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'groups'],
    findAccount: (_context: unknown, accountId: string) => {
      const claims = options.accounts[accountId];

      return claims === undefined
        ? undefined
        : { accountId, claims: () => Promise.resolve({ sub: accountId, ...claims }) };
    },
    conformIdTokenClaims: !options.claimsInIdToken,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey] },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Cookies by origin, enough for one scripted browser: names and values, no paths or expiry times. */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  /** Returns the `Cookie` header for a URL, or undefined when the jar has none for its origin. */
  headerFor(url: string): string | undefined {
    const cookies = this.cookies.get(new URL(url).origin);

    return cookies && cookies.size > 0
      ? [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
      : undefined;
  }

  /** Stores the `Set-Cookie` headers of a response. A cookie with `Max-Age=0` or an empty value is removed. */
  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const cookies = this.cookies.get(origin) ?? new Map<string, string>();

    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute));

      if (expired || value === '') {
        cookies.delete(name);
      } else {
        cookies.set(name, value);
      }
    }

    this.cookies.set(origin, cookies);
  }
}

/** Bounds every redirect chain, so a redirect loop fails the test instead of hanging it. */
const maxRedirects = 20;

/** Fetches a URL with the jar's cookies and stores the cookies set, without following redirects. */
export async function browserFetch(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.headerFor(url);

  if (cookie !== undefined) {
    headers.set('Cookie', cookie);
  }

  const response = await fetch(url, { ...init, headers, redirect: 'manual' });

  jar.store(url, response);

  return response;
}

/**
 * Follows redirects from `url` until a response is not a redirect, or until the next URL starts with
 * `stopAt`, which is returned without being requested. Returns the last URL and its response.
 */
export async function followRedirects(
  jar: CookieJar,
  url: string,
  stopAt: string,
): Promise<{ url: string; response?: Response }> {
  let current = url;

  for (let redirect = 0; redirect <= maxRedirects; redirect++) {
    if (current.startsWith(stopAt)) {
      return { url: current };
    }

    const response = await browserFetch(jar, current);
    const location = response.headers.get('location');

    if (response.status < 300 || response.status >= 400 || location === null) {
      return { url: current, response };
    }

    await response.body?.cancel();
    current = new URL(location, current).href;
  }

  throw new Error(`more than ${maxRedirects} redirects, starting at ${url}`);
}

/** Finds the `action` of the first form in an HTML page and resolves it against the page's URL. */
export function formAction(html: string, pageUrl: string): string {
  const match = /<form[^>]*\saction="([^"]*)"/i.exec(html);

  if (!match) {
    throw new Error(`no form on ${pageUrl}:\n${html.slice(0, 2000)}`);
  }

  return new URL(match[1].replaceAll('&amp;', '&'), pageUrl).href;
}

/**
 * Signs in on the provider's development pages: from the authorization URL, submits the login form with
 * `login` (any password is accepted) and confirms consent, until the provider redirects to a URL that
 * starts with `callbackPrefix`. Returns that callback URL without requesting it.
 */
export async function signInAtProvider(
  jar: CookieJar,
  authorizationUrl: string,
  login: string,
  callbackPrefix: string,
): Promise<string> {
  let step = await followRedirects(jar, authorizationUrl, callbackPrefix);

  // Two pages at most: login, then consent. A provider session in the jar skips the login page.
  for (let page = 0; page < 2 && step.response !== undefined; page++) {
    const html = await step.response.text();

    if (step.response.status !== 200) {
      throw new Error(`provider page ${step.url} returned ${step.response.status}:\n${html.slice(0, 2000)}`);
    }

    const prompt = /name="prompt" value="login"/.test(html) ? 'login' : 'consent';
    const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
    const submitted = await browserFetch(jar, formAction(html, step.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const location = submitted.headers.get('location');

    await submitted.body?.cancel();

    if (location === null) {
      throw new Error(`the ${prompt} form at ${step.url} returned ${submitted.status} without a redirect`);
    }

    step = await followRedirects(jar, new URL(location, step.url).href, callbackPrefix);
  }

  if (step.response !== undefined) {
    throw new Error(`sign-in at the provider did not reach ${callbackPrefix}; it stopped at ${step.url}`);
  }

  return step.url;
}
