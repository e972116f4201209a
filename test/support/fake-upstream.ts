/**
 * A scriptable upstream registry for pull-through tests. It serves the read side of the Distribution
 * API (manifests, blobs, tag lists) from content registered in memory and records every request.
 * Scripted faults make it fail in ways that a real registry cannot: hang, cut or corrupt a body,
 * return 429 or 5xx, demand Bearer tokens, or redirect blob downloads to a second server.
 *
 * Both servers listen on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Content, Image } from './oci-client.js';

/** A scripted misbehaviour for one path. Faults apply after the Bearer check passes. */
export type Fault =
  /** `headers`: accept the request and never respond. `body`: send the headers and part of the body, then stall. */
  | { readonly kind: 'hang'; readonly stage: 'headers' | 'body' }
  /** Send the full `Content-Length` but only the first `bytes` bytes of the body, then close the connection. */
  | { readonly kind: 'truncate'; readonly bytes: number }
  /** Send a body of the correct length whose bytes do not match the digest. */
  | { readonly kind: 'corrupt' }
  /** Respond with this status and an OCI error body, and a `Retry-After` header in seconds when given. */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: number }
  /** Send the body with chunked transfer encoding and no `Content-Length`. */
  | { readonly kind: 'noContentLength' }
  /** Send the body in chunks of `chunkSize` bytes (64 KiB by default) with `delayMs` between them. */
  | { readonly kind: 'slow'; readonly delayMs: number; readonly chunkSize?: number };

export interface FaultOptions {
  /** Apply the fault to this many requests, then respond normally. Unlimited by default. */
  readonly times?: number;
}

/** One request that reached a fake server. */
export interface RecordedRequest {
  readonly method: string;
  /** Path with the query string, as received. */
  readonly url: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly hasAuthorization: boolean;
  /** The fault applied to this request, if any. A request rejected for a missing token gets none. */
  fault: Fault | undefined;
  /** Status sent, or undefined while no headers went out. */
  status: number | undefined;
  /** True once the whole response went out. */
  completed: boolean;
  /** True once the response completed or its connection closed. */
  ended: boolean;
}

/** One request to the token endpoint. */
export interface TokenRequest {
  readonly service: string | null;
  readonly scopes: readonly string[];
  /** User name from the Basic `Authorization` header, or undefined without one. */
  readonly basicUsername: string | undefined;
  readonly status: number;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** The response of the fake to a request for a repository that has no content. */
export type UnknownRepositoryAnswer =
  /** 404 with `NAME_UNKNOWN`, as the Distribution registry does. */
  | 'notFound'
  /**
   * 401 with `UNAUTHORIZED`, the status Docker Hub returns for a repository that does not exist. The
   * fake sends no `WWW-Authenticate` challenge, so no token can turn the 401 into a 200.
   */
  | 'unauthorized';

export interface RequestFilter {
  readonly method?: string;
  /** Exact path without the query string. */
  readonly path?: string;
  /** Path prefix, such as `/v2/team/app/blobs/`. */
  readonly pathPrefix?: string;
  readonly status?: number;
  readonly completed?: boolean;
}

export interface FakeUpstream {
  /** Base URL of the registry, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Base URL of the server that blob redirects point to. */
  readonly redirectTargetUrl: string;
  /** Requests to `/v2/...` on the registry, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests to the token endpoint. */
  readonly tokenRequests: readonly TokenRequest[];
  /** Requests to the redirect target. */
  readonly redirectRequests: readonly RecordedRequest[];

  /** Adds the config, the layers and the manifest of `image`, and points `tag` at the manifest. */
  addImage(repository: string, tag: string, image: Image): void;
  /** Adds a manifest under its digest and, when `tag` is given, under that tag too. */
  addManifest(repository: string, manifest: Content, tag?: string): void;
  addBlob(repository: string, blob: Content): void;

  /**
   * Applies `fault` to manifest, blob and tag list requests for `path` (exact, without the query
   * string) until cleared.
   */
  setFault(path: string, fault: Fault, options?: FaultOptions): void;
  clearFault(path: string): void;
  clearFaults(): void;

  /**
   * Demands a Bearer token for `repository`. With `credentials`, the token endpoint grants pull
   * access to it only when the request carries those credentials as Basic auth.
   */
  requireBearer(repository: string, credentials?: Credentials): void;
  /** Makes blob GETs return a 307 to the redirect target, which rejects requests with `Authorization`. */
  setRedirectBlobs(enabled: boolean): void;
  setUnknownRepositoryAnswer(answer: UnknownRepositoryAnswer): void;
  /** Adds headers to every manifest and blob response, such as Docker Hub's `ratelimit-remaining`. */
  setResponseHeaders(headers: Record<string, string>): void;

  blobPath(repository: string, digest: string): string;
  manifestPath(repository: string, reference: string): string;
  /** Counts the recorded registry requests that match every field of `filter`. */
  count(filter?: RequestFilter): number;
  /**
   * Resolves when no registry or redirect request for `repository` is still in progress, or rejects
   * after `timeoutMs` (10 s by default).
   */
  waitUntilIdle(repository: string, timeoutMs?: number): Promise<void>;

  /** Closes both servers and every connection they hold, including hung ones. */
  close(): Promise<void>;
}

interface Repository {
  readonly manifests: Map<string, Content>;
  readonly tags: Map<string, string>;
  readonly blobs: Map<string, Content>;
}

interface ActiveFault {
  readonly fault: Fault;
  remaining: number;
}

const tokenService = 'fake';
const defaultChunkSize = 64 * 1024;
const routePattern = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/([^/]+)$/;

/** Starts the fake registry and its redirect target on ephemeral ports of 127.0.0.1. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const repositories = new Map<string, Repository>();
  const faults = new Map<string, ActiveFault>();
  const bearerRepositories = new Map<string, Credentials | undefined>();
  const issuedTokens = new Map<string, Set<string>>();
  const requests: RecordedRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const redirectRequests: RecordedRequest[] = [];
  const stalledResponses = new Set<ServerResponse>();
  let redirectBlobs = false;
  let unknownRepositoryAnswer: UnknownRepositoryAnswer = 'notFound';
  let extraHeaders: Record<string, string> = {};

  const registry = createServer((request, response) => {
    const path = pathOf(request);

    if (path === '/token') {
      handleToken(request, response);

      return;
    }

    handleRegistry(request, response, recordRequest(requests, request, response));
  });
  const redirectTarget = createServer((request, response) => {
    const record = recordRequest(redirectRequests, request, response);

    handleRedirectTarget(request, response, record);
  });

  const registryUrl = await listen(registry);
  const redirectTargetUrl = await listen(redirectTarget);

  function repositoryOf(name: string): Repository {
    let repository = repositories.get(name);

    if (repository === undefined) {
      repository = { manifests: new Map(), tags: new Map(), blobs: new Map() };
      repositories.set(name, repository);
    }

    return repository;
  }

  function addManifest(repository: string, manifest: Content, tag?: string): void {
    const entry = repositoryOf(repository);

    entry.manifests.set(manifest.digest, manifest);

    if (tag !== undefined) {
      entry.tags.set(tag, manifest.digest);
    }
  }

  function addBlob(repository: string, blob: Content): void {
    repositoryOf(repository).blobs.set(blob.digest, blob);
  }

  function takeFault(path: string): Fault | undefined {
    const active = faults.get(path);

    if (active === undefined) {
      return undefined;
    }

    active.remaining -= 1;

    if (active.remaining <= 0) {
      faults.delete(path);
    }

    return active.fault;
  }

  function recordRequest(
    list: RecordedRequest[],
    request: IncomingMessage,
    response: ServerResponse,
  ): RecordedRequest {
    const record: RecordedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      path: pathOf(request),
      headers: { ...request.headers },
      hasAuthorization: request.headers.authorization !== undefined,
      fault: undefined,
      status: undefined,
      completed: false,
      ended: false,
    };

    list.push(record);
    response.on('finish', () => {
      record.status = response.statusCode;
      record.completed = true;
      record.ended = true;
    });
    response.on('close', () => {
      record.status = response.headersSent ? response.statusCode : undefined;
      record.ended = true;
      stalledResponses.delete(response);
    });

    return record;
  }

  function handleToken(request: IncomingMessage, response: ServerResponse): void {
    const query = new URL(request.url ?? '/', registryUrl).searchParams;
    const scopes = query.getAll('scope').flatMap((scope) => scope.split(' ').filter((part) => part !== ''));
    const basic = parseBasic(request.headers.authorization);

    const recordTokenRequest = (status: number): void => {
      tokenRequests.push({
        service: query.get('service'),
        scopes,
        basicUsername: basic?.username,
        status,
      });
    };

    if (basic !== undefined && !credentialsMatchAny(basic)) {
      recordTokenRequest(401);
      sendJson(response, 401, ociErrors('UNAUTHORIZED', 'invalid username or password'));

      return;
    }

    const granted = new Set<string>();

    for (const scope of scopes) {
      const match = /^repository:(.+):([a-z,*]+)$/.exec(scope);

      if (match === null || !(match[2] ?? '').split(',').includes('pull')) {
        continue;
      }

      const repository = match[1] ?? '';
      const required = bearerRepositories.get(repository);

      if (required === undefined || sameCredentials(required, basic)) {
        granted.add(repository);
      }
    }

    const token = randomBytes(16).toString('hex');

    issuedTokens.set(token, granted);
    recordTokenRequest(200);
    sendJson(response, 200, { token, expires_in: 300 });
  }

  function credentialsMatchAny(basic: Credentials): boolean {
    for (const credentials of bearerRepositories.values()) {
      if (credentials !== undefined && sameCredentials(credentials, basic)) {
        return true;
      }
    }

    return false;
  }

  function challenge(repository: string | undefined): string {
    const scope = repository === undefined ? '' : `,scope="repository:${repository}:pull"`;

    return `Bearer realm="${registryUrl}/token",service="${tokenService}"${scope}`;
  }

  /** Returns whether the request may go on, and sends 401 with a challenge when it may not. */
  function authorize(request: IncomingMessage, response: ServerResponse, repository: string): boolean {
    if (!bearerRepositories.has(repository)) {
      return true;
    }

    const header = request.headers.authorization ?? '';
    const token = /^Bearer (.+)$/i.exec(header)?.[1];

    if (token !== undefined && issuedTokens.get(token)?.has(repository) === true) {
      return true;
    }

    response.setHeader('www-authenticate', challenge(repository));
    sendJson(response, 401, ociErrors('UNAUTHORIZED', 'authentication required'));

    return false;
  }

  function handleRegistry(request: IncomingMessage, response: ServerResponse, record: RecordedRequest): void {
    const method = request.method ?? '';
    const path = record.path;

    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(
        response,
        405,
        ociErrors('UNSUPPORTED', `${method} is not supported by this read-only registry`),
      );

      return;
    }

    if (path === '/v2/' || path === '/v2') {
      if (bearerRepositories.size > 0 && !/^Bearer /i.test(request.headers.authorization ?? '')) {
        response.setHeader('www-authenticate', challenge(undefined));
        sendJson(response, 401, ociErrors('UNAUTHORIZED', 'authentication required'));

        return;
      }

      sendJson(response, 200, {});

      return;
    }

    const match = routePattern.exec(path);

    if (match === null) {
      sendJson(response, 404, ociErrors('NOT_FOUND', `no route for ${path}`));

      return;
    }

    const name = match[1] ?? '';
    const kind = match[2] ?? '';
    const reference = decodeURIComponent(match[3] ?? '');

    if (!authorize(request, response, name)) {
      return;
    }

    record.fault = takeFault(path);

    if (record.fault !== undefined && applyAnswerFault(request, response, record.fault)) {
      return;
    }

    const repository = repositories.get(name);

    if (repository === undefined) {
      if (unknownRepositoryAnswer === 'unauthorized') {
        sendJson(response, 401, ociErrors('UNAUTHORIZED', 'authentication required'));
      } else {
        sendJson(response, 404, ociErrors('NAME_UNKNOWN', `repository ${name} not found`));
      }

      return;
    }

    switch (kind) {
      case 'manifests':
        serveManifest(request, response, repository, reference, record.fault);
        break;
      case 'blobs':
        serveBlob(request, response, name, repository, reference, record.fault);
        break;
      case 'tags':
        sendJson(response, 200, { name, tags: [...repository.tags.keys()].sort() });
        break;
      default:
        sendJson(response, 404, ociErrors('NOT_FOUND', `${kind} is not served by this fake`));
    }
  }

  /** Applies the faults that replace the whole response, and returns whether the response was handled. */
  function applyAnswerFault(request: IncomingMessage, response: ServerResponse, fault: Fault): boolean {
    if (fault.kind === 'status') {
      if (fault.retryAfter !== undefined) {
        response.setHeader('retry-after', String(fault.retryAfter));
      }

      const code = fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';

      sendJson(response, fault.status, ociErrors(code, `scripted status ${fault.status}`));

      return true;
    }

    if (fault.kind === 'hang' && (fault.stage === 'headers' || request.method === 'HEAD')) {
      stalledResponses.add(response);

      return true;
    }

    return false;
  }

  function serveManifest(
    request: IncomingMessage,
    response: ServerResponse,
    repository: Repository,
    reference: string,
    fault: Fault | undefined,
  ): void {
    const digest = reference.includes(':') ? reference : repository.tags.get(reference);
    const manifest = digest === undefined ? undefined : repository.manifests.get(digest);

    if (manifest === undefined) {
      sendJson(response, 404, ociErrors('MANIFEST_UNKNOWN', `manifest ${reference} not found`));

      return;
    }

    const headers = {
      'content-type': manifest.mediaType,
      'docker-content-digest': manifest.digest,
    };

    sendBody(request, response, 200, headers, manifest.bytes, fault);
  }

  function serveBlob(
    request: IncomingMessage,
    response: ServerResponse,
    name: string,
    repository: Repository,
    digest: string,
    fault: Fault | undefined,
  ): void {
    const blob = repository.blobs.get(digest);

    if (blob === undefined) {
      sendJson(response, 404, ociErrors('BLOB_UNKNOWN', `blob ${digest} not found`));

      return;
    }

    if (redirectBlobs && request.method === 'GET') {
      const location = `${redirectTargetUrl}/content/${encodeURIComponent(name)}/${digest}?expires=300`;

      response.writeHead(307, { location, 'content-length': '0' });
      response.end();

      return;
    }

    sendBlob(request, response, blob, fault);
  }

  function handleRedirectTarget(
    request: IncomingMessage,
    response: ServerResponse,
    record: RecordedRequest,
  ): void {
    if (record.hasAuthorization) {
      response.writeHead(400, { 'content-type': 'text/plain' });
      response.end('requests with an Authorization header are rejected here\n');

      return;
    }

    const match = /^\/content\/([^/]+)\/([^/]+)$/.exec(record.path);
    const blob =
      match === null
        ? undefined
        : repositories.get(decodeURIComponent(match[1] ?? ''))?.blobs.get(decodeURIComponent(match[2] ?? ''));

    if (blob === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found\n');

      return;
    }

    sendBlob(request, response, blob, undefined);
  }

  function sendBlob(
    request: IncomingMessage,
    response: ServerResponse,
    blob: Content,
    fault: Fault | undefined,
  ): void {
    const headers = {
      'content-type': 'application/octet-stream',
      'docker-content-digest': blob.digest,
      'accept-ranges': 'bytes',
    };
    const range = parseRange(request.headers.range, blob.size);

    if (range === 'unsatisfiable') {
      response.writeHead(416, { 'content-range': `bytes */${blob.size}`, 'content-length': '0' });
      response.end();

      return;
    }

    if (range !== undefined) {
      const [start, end] = range;

      sendBody(
        request,
        response,
        206,
        { ...headers, 'content-range': `bytes ${start}-${end}/${blob.size}` },
        blob.bytes.subarray(start, end + 1),
        fault,
      );

      return;
    }

    sendBody(request, response, 200, headers, blob.bytes, fault);
  }

  /** Sends `body` with `fault` applied. HEAD gets the same headers and no body. */
  function sendBody(
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer,
    fault: Fault | undefined,
  ): void {
    const lengthHeader = { 'content-length': String(body.length) };

    headers = { ...headers, ...extraHeaders };

    if (request.method === 'HEAD') {
      response.writeHead(
        status,
        fault?.kind === 'noContentLength' ? headers : { ...headers, ...lengthHeader },
      );
      response.end();

      return;
    }

    switch (fault?.kind) {
      case undefined:
      case 'status':
        response.writeHead(status, { ...headers, ...lengthHeader });
        response.end(body);
        break;
      case 'hang':
        // Only the body stage reaches here, because applyAnswerFault took the header stage.
        stalledResponses.add(response);
        response.writeHead(status, { ...headers, ...lengthHeader });
        response.write(body.subarray(0, Math.min(body.length - 1, defaultChunkSize)));
        break;
      case 'truncate':
        response.writeHead(status, { ...headers, ...lengthHeader });
        response.write(body.subarray(0, Math.min(fault.bytes, body.length - 1)), () => response.destroy());
        break;
      case 'corrupt':
        response.writeHead(status, { ...headers, ...lengthHeader });
        response.end(corrupted(body));
        break;
      case 'noContentLength':
        response.writeHead(status, headers);
        writeChunks(response, body, defaultChunkSize, 0);
        break;
      case 'slow':
        response.writeHead(status, { ...headers, ...lengthHeader });
        writeChunks(response, body, fault.chunkSize ?? defaultChunkSize, fault.delayMs);
        break;
    }
  }

  function count(filter: RequestFilter = {}): number {
    return requests.filter(
      (request) =>
        (filter.method === undefined || request.method === filter.method) &&
        (filter.path === undefined || request.path === filter.path) &&
        (filter.pathPrefix === undefined || request.path.startsWith(filter.pathPrefix)) &&
        (filter.status === undefined || request.status === filter.status) &&
        (filter.completed === undefined || request.completed === filter.completed),
    ).length;
  }

  async function waitUntilIdle(repository: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const registryPrefix = `/v2/${repository}/`;
    const redirectPrefix = `/content/${encodeURIComponent(repository)}/`;
    const inProgress = (): boolean =>
      requests.some((request) => !request.ended && request.path.startsWith(registryPrefix)) ||
      redirectRequests.some((request) => !request.ended && request.path.startsWith(redirectPrefix));

    while (inProgress()) {
      if (Date.now() > deadline) {
        throw new Error(`requests for ${repository} were still in progress after ${timeoutMs} ms`);
      }

      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    url: registryUrl,
    redirectTargetUrl,
    requests,
    tokenRequests,
    redirectRequests,
    addImage(repository, tag, image) {
      addBlob(repository, image.config);

      for (const layer of image.layers) {
        addBlob(repository, layer);
      }

      addManifest(repository, image.manifest, tag);
    },
    addManifest,
    addBlob,
    setFault(path, fault, options = {}) {
      faults.set(path, { fault, remaining: options.times ?? Number.POSITIVE_INFINITY });
    },
    clearFault(path) {
      faults.delete(path);
    },
    clearFaults() {
      faults.clear();
    },
    requireBearer(repository, credentials) {
      bearerRepositories.set(repository, credentials);
    },
    setRedirectBlobs(enabled) {
      redirectBlobs = enabled;
    },
    setResponseHeaders(headers) {
      extraHeaders = { ...headers };
    },
    setUnknownRepositoryAnswer(answer) {
      unknownRepositoryAnswer = answer;
    },
    blobPath: (repository, digest) => `/v2/${repository}/blobs/${digest}`,
    manifestPath: (repository, reference) => `/v2/${repository}/manifests/${reference}`,
    count,
    waitUntilIdle,
    async close() {
      for (const response of stalledResponses) {
        response.destroy();
      }

      stalledResponses.clear();
      await Promise.all([closeServer(registry), closeServer(redirectTarget)]);
    },
  };
}

/** Writes `body` in chunks with `delayMs` between them, and stops if the connection closes. */
function writeChunks(response: ServerResponse, body: Buffer, chunkSize: number, delayMs: number): void {
  let offset = 0;

  const writeNext = (): void => {
    if (response.destroyed) {
      return;
    }

    if (offset >= body.length) {
      response.end();

      return;
    }

    const chunk = body.subarray(offset, offset + chunkSize);

    offset += chunk.length;
    response.write(chunk);
    setTimeout(writeNext, delayMs);
  };

  writeNext();
}

/** Returns a copy of `body` with its middle byte changed, so the length stays and the digest does not. */
function corrupted(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const middle = Math.floor(copy.length / 2);

  copy[middle] = (copy[middle] ?? 0) ^ 0xff;

  return copy;
}

/** Parses a single `bytes=` range. Returns undefined for no or an unsupported header, as RFC 9110 allows. */
function parseRange(
  header: string | undefined,
  size: number,
): [number, number] | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());

  if (match === null || (match[1] === '' && match[2] === '')) {
    return undefined;
  }

  let start: number;
  let end: number;

  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }

  if (start >= size || start > end) {
    return 'unsatisfiable';
  }

  return [start, end];
}

function parseBasic(header: string | undefined): Credentials | undefined {
  const encoded = header === undefined ? undefined : /^Basic (.+)$/i.exec(header)?.[1];

  if (encoded === undefined) {
    return undefined;
  }

  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');

  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameCredentials(expected: Credentials, actual: Credentials | undefined): boolean {
  return (
    actual !== undefined && actual.username === expected.username && actual.password === expected.password
  );
}

function ociErrors(code: string, message: string): object {
  return { errors: [{ code, message }] };
}

/** Sends a JSON body. Node's server leaves the body out of a HEAD response by itself. */
function sendJson(response: ServerResponse, status: number, body: object): void {
  const bytes = Buffer.from(JSON.stringify(body));

  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  response.end(bytes);
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');

  return query < 0 ? url : url.slice(0, query);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;

  return `http://127.0.0.1:${port}`;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));

  server.closeAllConnections();
  await closed;
}
