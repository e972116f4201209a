import type { Readable } from 'node:stream';

import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';

import type { UpstreamRequestResult } from '../common/activity-observer.js';
import {
  UpstreamRateLimitedError,
  UpstreamUnavailableError,
  type UpstreamFailureKind,
} from '../common/domain-errors.js';
import { manifestMediaTypes } from '../common/media-types.js';
import { readLimited } from '../common/read-limited.js';
import type { Upstream } from './upstream-routes.js';
import { parseChallenge } from './www-authenticate.js';

export type { UpstreamRequestResult };

/** An upstream response that was not an error: its status, headers and body stream. */
export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Readable;
}

const maxRedirects = 5;
const maxAttempts = 3;
const retryBaseDelayMs = 200;
/** Tokens are refreshed this long before the expiry the token service announced. */
const tokenExpiryMarginMs = 10_000;
/** Lifetime assumed for a token whose response gives none, as the Docker token spec suggests. */
const defaultTokenLifetimeMs = 60_000;
const manifestAccept = manifestMediaTypes.join(', ');

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * HTTP client of one upstream registry. It authenticates with Docker token auth (tokens cached per
 * scope) or Basic credentials, follows redirects without carrying `Authorization` to another origin,
 * retries idempotent requests that failed before any byte of the body arrived, and turns failures
 * into UpstreamUnavailableError or UpstreamRateLimitedError. A 404 (or 401 after authenticating) is
 * returned to the caller, which decides what was not found.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly tokens = new Map<string, CachedToken>();

  /**
   * `observe` receives the result of every request, once per request whatever its retries.
   * `observeHeaders` gets the headers of each final response, 429 and 5xx included, so that quota
   * headers such as Docker Hub's `ratelimit-remaining` can be reported.
   */
  constructor(
    readonly upstream: Upstream,
    private readonly observe: (result: UpstreamRequestResult) => void = () => undefined,
    private readonly observeHeaders: (headers: Record<string, string | undefined>) => void = () => undefined,
  ) {
    this.agent = new Agent({
      connect: { timeout: upstream.timeoutMs, rejectUnauthorized: upstream.tlsVerify, ca: upstream.ca },
      headersTimeout: upstream.timeoutMs,
      bodyTimeout: upstream.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  /** Fetches `/v2/<name>/manifests/<reference>` with GET or HEAD. */
  manifest(method: 'GET' | 'HEAD', name: string, reference: string): Promise<UpstreamResponse> {
    return this.send(method, `/v2/${name}/manifests/${reference}`, name, { accept: manifestAccept });
  }

  blob(method: 'GET' | 'HEAD', name: string, digest: string): Promise<UpstreamResponse> {
    return this.send(method, `/v2/${name}/blobs/${digest}`, name);
  }

  /** Fetches a path under `/v2/<name>/` with its query, such as `tags/list?n=10`. */
  get(name: string, pathAndQuery: string): Promise<UpstreamResponse> {
    return this.send('GET', `/v2/${name}/${pathAndQuery}`, name);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send(
    method: 'GET' | 'HEAD',
    path: string,
    name: string,
    headers: Record<string, string> = {},
  ): Promise<UpstreamResponse> {
    try {
      const response = await this.sendUnobserved(method, path, name, headers);

      this.observe(resultOfStatus(response.status));

      return response;
    } catch (error) {
      this.observe(resultOfError(error));

      throw error;
    }
  }

  private async sendUnobserved(
    method: 'GET' | 'HEAD',
    path: string,
    name: string,
    headers: Record<string, string>,
  ): Promise<UpstreamResponse> {
    const scope = `repository:${name}:pull`;
    const deadline = Date.now() + this.upstream.timeoutMs;
    let response = await this.attempt(method, path, { ...headers, ...this.authorization(scope) }, deadline);

    if (response.status === 401) {
      const authorization = await this.authenticate(response, scope, deadline);

      if (authorization) {
        response.body.resume();
        response = await this.attempt(method, path, { ...headers, ...authorization }, deadline);
      }
    }

    this.observeHeaders(response.headers);

    if (response.status === 429) {
      response.body.resume();

      throw new UpstreamRateLimitedError(this.upstream.prefix, response.headers['retry-after']);
    }

    if (
      response.status >= 500 ||
      (response.status >= 300 && response.status < 400 && response.status !== 304)
    ) {
      response.body.resume();

      throw this.unavailable(
        'server-error',
        `${method} ${path} answered ${response.status}`,
        response.status,
      );
    }

    return response;
  }

  /** Sends one request, retrying connection failures and 5xx responses while time remains. */
  private async attempt(
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string>,
    deadline: number,
  ): Promise<UpstreamResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.followRedirects(method, new URL(this.upstream.url + path), headers);
        const retryable = response.status >= 500 && response.status !== 501;

        if (!retryable || attempt >= maxAttempts || !(await waitBeforeRetry(attempt, deadline))) {
          return response;
        }

        response.body.resume();
      } catch (error) {
        const failure = upstreamFailureKind(error);

        if (failure === 'timeout' || attempt >= maxAttempts || !(await waitBeforeRetry(attempt, deadline))) {
          throw this.unavailable(failure, `${method} ${path} failed: ${(error as Error).message}`);
        }
      }
    }
  }

  /** Follows 3xx redirects; `Authorization` goes only to the upstream's own origin. */
  private async followRedirects(
    method: 'GET' | 'HEAD',
    url: URL,
    headers: Record<string, string>,
  ): Promise<UpstreamResponse> {
    const origin = new URL(this.upstream.url).origin;
    let target = url;

    for (let hop = 0; hop <= maxRedirects; hop++) {
      const sameOrigin = target.origin === origin;
      const sent = sameOrigin ? headers : withoutAuthorization(headers);
      const response = await this.agent.request({
        origin: target.origin,
        path: target.pathname + target.search,
        method,
        headers: sent,
      });
      const location = header(response.headers, 'location');

      if (![301, 302, 303, 307, 308].includes(response.statusCode) || location === undefined) {
        return toResponse(response);
      }

      response.body.resume();
      target = new URL(location, target);
    }

    throw this.unavailable('invalid-response', `more than ${maxRedirects} redirects for ${url.pathname}`);
  }

  private authorization(scope: string): Record<string, string> {
    const cached = this.tokens.get(scope);

    if (cached && cached.expiresAt > Date.now()) {
      return { authorization: `Bearer ${cached.token}` };
    }

    return {};
  }

  /** Handles a 401 challenge: fetches a Bearer token, or uses Basic credentials when they are requested. */
  private async authenticate(
    response: UpstreamResponse,
    scope: string,
    deadline: number,
  ): Promise<Record<string, string> | undefined> {
    const challenge = parseChallenge(response.headers['www-authenticate']);
    const credentials = this.upstream.credentials;

    if (challenge?.scheme === 'basic' && credentials) {
      return { authorization: basicAuthorization(credentials) };
    }

    if (challenge?.scheme !== 'bearer' || challenge.parameters.realm === undefined) {
      return undefined;
    }

    const token = await this.fetchToken(challenge.parameters, scope, deadline);

    return token === undefined ? undefined : { authorization: `Bearer ${token}` };
  }

  private async fetchToken(
    parameters: Record<string, string>,
    scope: string,
    deadline: number,
  ): Promise<string | undefined> {
    const url = new URL(parameters.realm);

    if (parameters.service !== undefined) {
      url.searchParams.set('service', parameters.service);
    }

    url.searchParams.set('scope', parameters.scope ?? scope);

    const headers: Record<string, string> = this.upstream.credentials
      ? { authorization: basicAuthorization(this.upstream.credentials) }
      : {};
    const response = await this.attemptAbsolute(url, headers, deadline);

    if (response.status !== 200) {
      response.body.resume();

      // A token service that refuses (wrong credentials, unknown repository) leaves the 401 standing.
      return undefined;
    }

    const body = (await readJson(response.body)) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;

    if (typeof token !== 'string' || token.length === 0) {
      throw this.unavailable('invalid-response', 'token service returned no token');
    }

    const lifetimeMs = typeof body.expires_in === 'number' ? body.expires_in * 1000 : defaultTokenLifetimeMs;

    this.tokens.set(scope, { token, expiresAt: Date.now() + lifetimeMs - tokenExpiryMarginMs });

    return token;
  }

  private async attemptAbsolute(url: URL, headers: Record<string, string>, deadline: number) {
    for (let attempt = 1; ; attempt++) {
      try {
        return toResponse(
          await this.agent.request({
            origin: url.origin,
            path: url.pathname + url.search,
            method: 'GET',
            headers,
          }),
        );
      } catch (error) {
        const failure = upstreamFailureKind(error);

        if (failure === 'timeout' || attempt >= maxAttempts || !(await waitBeforeRetry(attempt, deadline))) {
          throw this.unavailable(failure, `token request failed: ${(error as Error).message}`);
        }
      }
    }
  }

  private unavailable(
    failure: UpstreamFailureKind,
    reason: string,
    status?: number,
  ): UpstreamUnavailableError {
    return new UpstreamUnavailableError(this.upstream.prefix, failure, reason, status);
  }
}

function resultOfStatus(status: number): UpstreamRequestResult {
  if ((status >= 200 && status < 300) || status === 304) {
    return 'success';
  }

  if (status === 404) {
    return 'not-found';
  }

  return status === 401 || status === 403 ? 'denied' : 'client-error';
}

function resultOfError(error: unknown): UpstreamRequestResult {
  if (error instanceof UpstreamRateLimitedError) {
    return 'rate-limited';
  }

  // Anything else thrown here (a token response that is not JSON, say) is an invalid response.
  return error instanceof UpstreamUnavailableError ? error.failure : 'invalid-response';
}

function toResponse(response: Dispatcher.ResponseData): UpstreamResponse {
  const headers: Record<string, string | undefined> = {};

  // Readers see a failed body through iteration, pipe or finished(). This listener keeps a body that
  // no one reads (discarded after a 404, say) from crashing the process when its connection breaks.
  response.body.on('error', () => undefined);

  for (const name of Object.keys(response.headers)) {
    headers[name.toLowerCase()] = header(response.headers, name);
  }

  return { status: response.statusCode, headers, body: response.body };
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];

  return Array.isArray(value) ? value[0] : value;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'),
  );
}

function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Waits before the next attempt; returns false when the deadline would pass first. */
async function waitBeforeRetry(attempt: number, deadline: number): Promise<boolean> {
  const delay = retryBaseDelayMs * 2 ** (attempt - 1);

  if (Date.now() + delay >= deadline) {
    return false;
  }

  await new Promise((resolve) => setTimeout(resolve, delay));

  return true;
}

/** Returns whether a failed request or body timed out or failed on the network. */
export function upstreamFailureKind(error: unknown): UpstreamFailureKind {
  if (
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  ) {
    return 'timeout';
  }

  return 'network';
}

/** Reads a small JSON body, at most 1 MiB. */
export async function readJson(body: Readable): Promise<unknown> {
  const bytes = await readSmallBody(body, 1024 * 1024);

  return JSON.parse(bytes.toString('utf8'));
}

/** Reads an upstream body whole, stopping the transfer once it passes `limit` bytes. */
export async function readSmallBody(body: Readable, limit: number): Promise<Buffer> {
  try {
    return await readLimited(body, limit);
  } catch (error) {
    body.destroy();

    throw error;
  }
}
