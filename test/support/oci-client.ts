import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** Media types from the OCI image spec and the Docker schema 2 manifest spec. */
export const mediaTypes = {
  imageManifest: 'application/vnd.oci.image.manifest.v1+json',
  imageIndex: 'application/vnd.oci.image.index.v1+json',
  imageConfig: 'application/vnd.oci.image.config.v1+json',
  imageLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  octetStream: 'application/octet-stream',
} as const;

const requestTimeoutMs = 30_000;

export type DigestAlgorithm = 'sha256' | 'sha512';

/** Bytes addressed by their digest: a blob or a manifest. */
export interface Content {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

/** An image: a config blob, layer blobs and the image manifest that lists them. */
export interface Image {
  readonly config: Content;
  readonly layers: readonly Content[];
  readonly manifest: Content;
}

export interface ImageOptions {
  /** Number of random layers to create when `layers` is not given. Defaults to 2. */
  layerCount?: number;
  layers?: readonly Content[];
  config?: Content;
  manifestMediaType?: string;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface IndexOptions {
  mediaType?: string;
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** One entry of the `errors` array that the spec defines for 4xx bodies. */
export interface OciError {
  code: string;
  message?: string;
  detail?: unknown;
}

/** An OCI image index as the referrers endpoint returns it. */
export interface ImageIndexBody {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface TagListBody {
  name: string;
  tags: string[];
}

/** A response read from a socket, for requests that `fetch` cannot send. */
export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Returns whether `digest` is the digest of `bytes`, hashed with the algorithm that `digest` names. */
export function digestMatches(digest: string, bytes: Uint8Array): boolean {
  const algorithm = digest.slice(0, digest.indexOf(':'));

  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    return false;
  }

  return computeDigest(bytes, algorithm) === digest;
}

export function createBlob(
  data: string | Uint8Array,
  mediaType: string = mediaTypes.octetStream,
  algorithm: DigestAlgorithm = 'sha256',
): Content {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);

  return { bytes, digest: computeDigest(bytes, algorithm), size: bytes.length, mediaType };
}

export function createRandomBlob(size: number, mediaType: string = mediaTypes.imageLayer): Content {
  return createBlob(randomBytes(size), mediaType);
}

/** Creates the two-byte `{}` blob, which the image spec defines as the content of the empty descriptor. */
export function createEmptyConfig(): Content {
  return createBlob('{}', mediaTypes.empty);
}

export function descriptorOf(content: Content, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: content.mediaType, digest: content.digest, size: content.size, ...extra };
}

/** Serializes `document` to JSON and addresses the bytes with a sha256 digest. */
export function createManifest(document: object, mediaType: string): Content {
  return createBlob(JSON.stringify(document), mediaType);
}

/** Creates an image config that differs from every other one, so each image gets its own digest. */
export function createImageConfig(mediaType: string = mediaTypes.imageConfig): Content {
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'test.nonce': randomBytes(8).toString('hex') } },
    rootfs: { type: 'layers', diff_ids: [] },
  };

  return createBlob(JSON.stringify(config), mediaType);
}

export function createImage(options: ImageOptions = {}): Image {
  const manifestMediaType = options.manifestMediaType ?? mediaTypes.imageManifest;
  const isDocker = manifestMediaType === mediaTypes.dockerManifest;
  const config =
    options.config ?? createImageConfig(isDocker ? mediaTypes.dockerConfig : mediaTypes.imageConfig);
  const layerMediaType = isDocker ? mediaTypes.dockerLayer : mediaTypes.imageLayer;
  const layers =
    options.layers ??
    Array.from({ length: options.layerCount ?? 2 }, () =>
      createRandomBlob(64 + Math.floor(Math.random() * 64), layerMediaType),
    );
  const document: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: descriptorOf(config),
    layers: layers.map((layer) => descriptorOf(layer)),
  };

  if (options.artifactType !== undefined) {
    document['artifactType'] = options.artifactType;
  }

  if (options.subject !== undefined) {
    document['subject'] = options.subject;
  }

  if (options.annotations !== undefined) {
    document['annotations'] = options.annotations;
  }

  return { config, layers, manifest: createManifest(document, manifestMediaType) };
}

export function createIndex(manifests: readonly Content[], options: IndexOptions = {}): Content {
  const mediaType = options.mediaType ?? mediaTypes.imageIndex;
  const platforms = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux' },
  ];
  const document: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    manifests: manifests.map((manifest, index) =>
      descriptorOf(manifest, { platform: platforms[index % platforms.length] }),
    ),
  };

  if (options.artifactType !== undefined) {
    document['artifactType'] = options.artifactType;
  }

  if (options.subject !== undefined) {
    document['subject'] = options.subject;
  }

  if (options.annotations !== undefined) {
    document['annotations'] = options.annotations;
  }

  return createManifest(document, mediaType);
}

/** Appends query parameters to an upload `Location`, keeping the parameters that it already has. */
export function withQuery(location: string, parameters: ReadonlyArray<readonly [string, string]>): string {
  const query = parameters
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');

  if (query === '') {
    return location;
  }

  return location.includes('?') ? `${location}&${query}` : `${location}?${query}`;
}

/** Parses `Range: 0-<end>` from an upload response and returns `end`. */
export function parseUploadRangeEnd(response: Response): number {
  const range = response.headers.get('range');

  assert.ok(range !== null, 'the response has no Range header');

  const match = /^0-(\d+)$/.exec(range);

  assert.ok(match, `Range header "${range}" does not have the form 0-<end>`);

  return Number(match[1]);
}

/** A small client for the OCI Distribution API of one registry. */
export class OciClient {
  /** `headers` go with every request, such as an `Authorization` header for a registry with access rules. */
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** Resolves a path or a (possibly relative) `Location` header against the base URL. */
  url(pathOrLocation: string): string {
    return new URL(pathOrLocation, this.baseUrl).toString();
  }

  /** Sends a request, and fails with the method and URL in the message when no response arrives in 30 s. */
  async fetch(pathOrLocation: string, init: RequestInit = {}): Promise<Response> {
    const url = this.url(pathOrLocation);

    try {
      const headers = new Headers(init.headers);

      for (const [name, value] of Object.entries(this.headers)) {
        if (!headers.has(name)) {
          headers.set(name, value);
        }
      }

      return await fetch(url, {
        ...init,
        headers,
        signal: init.signal ?? AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new Error(
          `${init.method ?? 'GET'} ${url} timed out after ${requestTimeoutMs} ms without a response`,
          { cause: error },
        );
      }

      throw error;
    }
  }

  /** Sends `POST /v2/<name>/blobs/uploads/` and returns the absolute upload location. */
  async startUpload(repository: string): Promise<string> {
    const response = await this.fetch(`/v2/${repository}/blobs/uploads/`, { method: 'POST' });

    await response.arrayBuffer();
    assert.equal(response.status, 202, `POST upload for ${repository} returned ${response.status}`);

    return this.locationOf(response);
  }

  /** Pushes a blob with POST then PUT, the upload flow that every registry supports. */
  async pushBlob(repository: string, blob: Content): Promise<void> {
    const location = await this.startUpload(repository);
    const response = await this.fetch(withQuery(location, [['digest', blob.digest]]), {
      method: 'PUT',
      headers: { 'content-type': mediaTypes.octetStream },
      body: blob.bytes,
    });

    await response.arrayBuffer();
    assert.equal(
      response.status,
      201,
      `PUT blob ${blob.digest} to ${repository} returned ${response.status}`,
    );
  }

  /** Uploads a whole blob in one POST with `?digest=`, and returns the response unread. */
  postBlob(repository: string, blob: Content): Promise<Response> {
    return this.fetch(`/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, {
      method: 'POST',
      headers: { 'content-type': mediaTypes.octetStream },
      body: blob.bytes,
    });
  }

  putManifest(repository: string, reference: string, manifest: Content, query = ''): Promise<Response> {
    return this.fetch(`/v2/${repository}/manifests/${reference}${query}`, {
      method: 'PUT',
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
  }

  /** Pushes a manifest and asserts 201. */
  async pushManifest(repository: string, reference: string, manifest: Content): Promise<Response> {
    const response = await this.putManifest(repository, reference, manifest);

    if (response.status !== 201) {
      const text = await response.text();

      assert.fail(`PUT manifest ${repository}:${reference} returned ${response.status}: ${text}`);
    }

    await response.arrayBuffer();

    return response;
  }

  /** Pushes the config, the layers and then the manifest of an image. */
  async pushImage(repository: string, reference: string, image: Image): Promise<void> {
    await this.pushBlob(repository, image.config);

    for (const layer of image.layers) {
      await this.pushBlob(repository, layer);
    }

    await this.pushManifest(repository, reference, image.manifest);
  }

  async getJson<T>(pathOrLocation: string): Promise<{ response: Response; body: T }> {
    const response = await this.fetch(pathOrLocation);
    const text = await response.text();

    assert.equal(response.status, 200, `GET ${pathOrLocation} returned ${response.status}: ${text}`);

    return { response, body: JSON.parse(text) as T };
  }

  /** Returns the absolute URL in the response's `Location` header. */
  locationOf(response: Response): string {
    const location = response.headers.get('location');

    assert.ok(location, `response ${response.status} has no Location header`);

    return this.url(location);
  }
}

/**
 * Asserts that a response is an error with the spec's JSON body: `{"errors":[{"code","message","detail"?}]}`.
 * Returns the parsed errors. `codes` lists the codes that the first error may have.
 */
export async function assertOciError(
  response: Response,
  status: number,
  codes: string | readonly string[],
): Promise<OciError[]> {
  const text = await response.text();

  assert.equal(response.status, status, `expected status ${status}, got ${response.status}: ${text}`);

  return assertOciErrorBody(text, codes);
}

/** Asserts a 4xx status with an error body in the spec's format, whatever the code. */
export async function assertClientError(response: Response): Promise<OciError[]> {
  const text = await response.text();

  assert.ok(
    response.status >= 400 && response.status < 500,
    `expected a 4xx status, got ${response.status}: ${text}`,
  );

  return assertOciErrorBody(text, []);
}

/** Asserts the status and error body of a response read with `requestVerbatim` or `sendRawRequest`. */
export function assertRawOciError(
  response: RawResponse,
  status: number,
  codes: string | readonly string[],
): OciError[] {
  const text = response.body.toString('utf8');

  assert.equal(response.status, status, `expected status ${status}, got ${response.status}: ${text}`);

  return assertOciErrorBody(text, codes);
}

/** Asserts a 4xx status and an error body in the spec's format for a raw response, whatever the code. */
export function assertRawClientError(response: RawResponse): OciError[] {
  const text = response.body.toString('utf8');

  assert.ok(
    response.status >= 400 && response.status < 500,
    `expected a 4xx status, got ${response.status}: ${text}`,
  );

  return assertOciErrorBody(text, []);
}

/** Checks the format of an error body. With a non-empty `codes`, also checks the code of the first error. */
export function assertOciErrorBody(text: string, codes: string | readonly string[]): OciError[] {
  const expectedCodes = typeof codes === 'string' ? [codes] : codes;
  let body: unknown;

  assert.doesNotThrow(() => {
    body = JSON.parse(text);
  }, `error body is not JSON: ${text}`);

  const errors = (body as { errors?: unknown }).errors;

  assert.ok(Array.isArray(errors), `error body has no "errors" array: ${text}`);
  assert.ok(errors.length > 0, `error body has an empty "errors" array: ${text}`);

  for (const error of errors as OciError[]) {
    assert.equal(typeof error.code, 'string', `error without a string "code": ${text}`);
    assert.match(error.code, /^[A-Z_]+$/, `error code is not upper case with underscores: ${text}`);
    assert.equal(typeof error.message, 'string', `error without a string "message": ${text}`);
  }

  const first = (errors as OciError[])[0];

  if (expectedCodes.length > 0) {
    assert.ok(
      first !== undefined && expectedCodes.includes(first.code),
      `expected code ${expectedCodes.join(' or ')}, got ${first?.code}: ${text}`,
    );
  }

  return errors as OciError[];
}

/** Sends a request through `node:http`, which keeps `..` and percent-encodings in the path as written. */
export function requestVerbatim(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<RawResponse> {
  const base = new URL(baseUrl);

  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: base.hostname,
        port: Number(base.port),
        method,
        path,
        headers: { ...options.headers, 'content-length': String(options.body?.length ?? 0) },
        agent: false,
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];

        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers = new Map<string, string>();

          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) {
              headers.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
          }

          resolve({ status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
        });
        response.on('error', reject);
      },
    );

    request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/**
 * Writes `head` and `body` to a new TCP connection and returns the first HTTP response, or undefined when
 * the server closes the connection without one. With `halfClose`, the write side is closed after `body`,
 * which is how a client that sends fewer bytes than its `Content-Length` stops.
 */
export function sendRawRequest(
  baseUrl: string,
  head: string,
  body: Buffer,
  options: { halfClose: boolean; timeoutMs?: number },
): Promise<RawResponse | undefined> {
  const base = new URL(baseUrl);

  return new Promise((resolve) => {
    const socket = connect({ host: base.hostname, port: Number(base.port) });
    const chunks: Buffer[] = [];
    let settled = false;

    const finish = (): void => {
      if (settled) {
        return;
      }

      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawResponse(Buffer.concat(chunks)));
    };

    const timer = setTimeout(finish, options.timeoutMs ?? 10_000);

    socket.on('connect', () => {
      socket.write(head);
      socket.write(body);

      if (options.halfClose) {
        socket.end();
      }
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);

      if (parseRawResponse(Buffer.concat(chunks)) !== undefined) {
        finish();
      }
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

/** Parses one complete HTTP/1.1 response from `data`, or returns undefined when it is incomplete. */
function parseRawResponse(data: Buffer): RawResponse | undefined {
  const headerEnd = data.indexOf('\r\n\r\n');

  if (headerEnd < 0) {
    return undefined;
  }

  const lines = data.subarray(0, headerEnd).toString('latin1').split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');

  if (!statusMatch) {
    return undefined;
  }

  const headers = new Map<string, string>();

  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');

    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }

  const rest = data.subarray(headerEnd + 4);
  const status = Number(statusMatch[1]);
  const contentLength = headers.get('content-length');

  if (contentLength !== undefined) {
    const length = Number(contentLength);

    return rest.length >= length ? { status, headers, body: rest.subarray(0, length) } : undefined;
  }

  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const body = decodeChunked(rest);

    return body === undefined ? undefined : { status, headers, body };
  }

  return { status, headers, body: rest };
}

function decodeChunked(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;

  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);

    if (lineEnd < 0) {
      return undefined;
    }

    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);

    if (Number.isNaN(size)) {
      return undefined;
    }

    if (size === 0) {
      return Buffer.concat(parts);
    }

    const start = lineEnd + 2;

    if (data.length < start + size + 2) {
      return undefined;
    }

    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** Parses the JSON body of a raw response. */
export function rawJson<T>(response: RawResponse): T {
  return JSON.parse(response.body.toString('utf8')) as T;
}

/** Returns the URL in a `Link: <url>; rel="next"` header, or undefined without one. */
export function nextLink(response: Response): string | undefined {
  const link = response.headers.get('link');

  if (link === null) {
    return undefined;
  }

  const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link);

  assert.ok(match, `Link header "${link}" has no rel="next" target`);

  return match[1];
}
