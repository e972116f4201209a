/**
 * Typed client for Wharf's admin API (`/api/v1`) and browser sign-in endpoints (`/auth`). Every request
 * stays on the page's origin and sends the session cookie; state-changing ones also send the CSRF token.
 */

export interface Session {
  authEnabled: boolean;
  oidcEnabled: boolean;
  passwordLoginEnabled: boolean;
  /** Host for pull commands; null means the host the UI was loaded from. */
  registryHost: string | null;
  authenticated: boolean;
  username?: string;
  groups?: string[];
  method?: string;
  admin?: boolean;
  csrfToken?: string;
}

export interface LoginResult {
  username: string;
  groups: string[];
  csrfToken: string;
}

export type RepositoryKind = 'local' | 'cached';
export type RepositorySort = 'name' | 'lastPush' | 'lastPull';
export type SortOrder = 'asc' | 'desc';

export interface Repository {
  name: string;
  kind: RepositoryKind;
  upstream: string | null;
  size: number;
  tagCount: number;
  manifestCount: number;
  createdAt: string;
  lastPushAt: string | null;
  lastPullAt: string | null;
  /** Findings of the tagged images added up, or null when none of them was scanned. */
  vulnerabilities: VulnerabilitySummary | null;
}

export interface Page<T> {
  total: number;
  page: number;
  pageSize: number;
  items: T[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
}

export interface Tag {
  name: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  sizeComplete: boolean;
  platforms: Platform[];
  lastPushAt: string;
  lastPullAt: string | null;
  /** Findings of the tagged image or of the images of a tagged index, or null when none was scanned. */
  vulnerabilities: VulnerabilitySummary | null;
  signature: SignatureSummary;
}

/**
 * Config media types of container images. For an image manifest, the tag listing reports its config
 * type as `artifactType`.
 */
const imageConfigMediaTypes: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/**
 * Cosign's tags for what it attaches to an image, named after the image digest: `sha256-<hex>.sig`
 * for signatures, `.att` for attestations and `.sbom` for SBOMs. Their manifests use an image config.
 */
const cosignAttachmentTag = /^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/;

/**
 * Tells whether an artifact type marks an artifact, such as an SBOM or a signature, rather than a
 * container image. Null, as for an image manifest without the field or for an index, is not one.
 */
export function isArtifactType(artifactType: string | null): boolean {
  return artifactType !== null && !imageConfigMediaTypes.has(artifactType);
}

/** Tells whether a tag names an artifact, including cosign's signature, attestation and SBOM tags. */
export function isArtifactTag(tag: Pick<Tag, 'name' | 'artifactType'>): boolean {
  return isArtifactType(tag.artifactType) || cosignAttachmentTag.test(tag.name);
}

export interface TagPage extends Page<Tag> {
  repository: string;
  canDelete: boolean;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ChildManifest extends Descriptor {
  platform: Platform | null;
}

export interface HistoryEntry {
  created: string | null;
  createdBy: string | null;
  comment: string | null;
  author: string | null;
  emptyLayer: boolean;
}

export interface ImageConfig extends Descriptor {
  parsed: boolean;
  os: string | null;
  architecture: string | null;
  variant: string | null;
  created: string | null;
  author: string | null;
  env: string[];
  labels: Record<string, string>;
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  user: string | null;
  exposedPorts: string[];
  history: HistoryEntry[];
}

export interface Referrer {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string> | null;
}

export interface ManifestDetails {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string> | null;
  subject: Descriptor | null;
  manifests: ChildManifest[];
  config: ImageConfig | null;
  layers: Descriptor[];
  referrers: Referrer[];
}

export interface CacheStatistics {
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  errors: number;
  errorsByKind: Record<string, number>;
}

export interface Upstream {
  prefix: string;
  url: string;
  dockerHub: boolean;
  cachedRepositories: number;
  /** Bytes stored for this prefix; absent from servers older than the field. */
  storageBytes?: number;
  statistics: CacheStatistics;
  status: {
    reachable: boolean | null;
    lastResult: string | null;
    lastRequestAt: string | null;
    lastResponseAt: string | null;
    lastError: { kind: string; at: string } | null;
  };
  rateLimit: {
    limit: number | null;
    remaining: number;
    windowSeconds: number | null;
    observedAt: string;
  } | null;
}

export type HistoryRange = '1h' | '24h' | '7d';

/** Cumulative counters of one upstream at one time. */
export interface HistorySample {
  at: string;
  hits: number;
  misses: number;
  bytesFetched: number;
  bytesServed: number;
  notFound: number;
  errors: number;
  storageBytes: number;
}

export interface UpstreamHistory {
  from: string;
  to: string;
  intervalSeconds: number;
  upstreams: { prefix: string; samples: HistorySample[] }[];
}

export interface ApiKey {
  id: string;
  label: string;
  state: 'active' | 'expired' | 'revoked';
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface NewApiKey extends ApiKey {
  /** The key itself, returned only by the request that created it. */
  secret: string;
}

/** Severity levels of findings, most severe first. UNKNOWN is for advisories without a usable rating. */
export const severityLevels = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'] as const;

export type Severity = (typeof severityLevels)[number];

/** Findings of one or more scanned images added up, as the badges of tag and repository lists show them. */
export interface VulnerabilitySummary {
  /** Images with a finished scan. */
  scanned: number;
  /** Images whose scan failed. */
  failed: number;
  /** Scanned images with a layer that could not be read, whose findings may be incomplete. */
  incomplete: number;
  /** The most severe level with a finding, or null when there is none. */
  highest: Severity | null;
  counts: Record<Severity, number>;
  scannedAt: string | null;
}

export type ScanStatus = 'not-scanned' | 'queued' | 'scanning' | 'matching' | 'done' | 'failed' | 'skipped';

/** A scan that is queued or running, or that ended a moment ago. */
export interface ScanProgress {
  repository: string;
  digest: string;
  reason: 'push' | 'cache' | 'database' | 'request' | 'backfill';
  state: Exclude<ScanStatus, 'not-scanned'>;
  layers: number;
  layersRead: number;
  bytes: number;
  bytesRead: number;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
}

/** The scan of one image, that is, of one platform of an index. */
export interface ImageScan {
  digest: string;
  status: ScanStatus;
  /** False when a layer could not be read, so that findings may be missing. */
  complete: boolean;
  platform: Platform | null;
  os: { id: string; versionId: string | null; prettyName: string | null } | null;
  packageCount: number;
  scannedAt: string | null;
  /** The vulnerability database generation the scan matched against. */
  databaseGeneration: number | null;
  error: string | null;
  /** Parts of the image that the scan could not read or judge, each with its reason. */
  warnings: string[];
  progress: ScanProgress | null;
}

export interface FindingPackage {
  /** The package database the package was listed in, such as `dpkg` or `npm`. */
  type: string;
  name: string;
  /** The OSV ecosystem, such as `Debian:12` or `npm`. */
  ecosystem: string;
  purl: string;
  /** The file in the image that lists the package. */
  location: string;
  /** Digest of the layer that wrote that file. */
  layer: string;
  /** The source package that the advisory names, when it differs from the binary package. */
  sourceName?: string;
}

/** One advisory that affects one installed package. */
export interface Finding {
  id: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  /** CVSS base score, when a CVSS vector gave the severity. */
  score: number | null;
  package: FindingPackage;
  installedVersion: string;
  /** The lowest version above the installed one that fixes it, or null when no fix is known. */
  fixedVersion: string | null;
  /** Digest of the image (platform) the package is in. */
  image: string;
}

export interface ImageVulnerabilities {
  repository: string;
  digest: string;
  /** The image, or each child of an index. */
  images: ImageScan[];
  summary: VulnerabilitySummary;
  findings: Finding[];
}

export interface ScanStarted {
  repository: string;
  /** The digest the reference resolved to. */
  digest: string;
  images: ScanProgress[];
}

export type SbomFormat = 'spdx' | 'cyclonedx';

/**
 * The verdict on a manifest's signatures. `verified`: at least one signature verified against the
 * configured trust. `unverified`: signatures are stored, but none verified. `unsigned`: none is stored.
 */
export type SignatureState = 'verified' | 'unverified' | 'unsigned';

/** The short form of a verdict in tag listings, for badges. */
export interface SignatureSummary {
  state: SignatureState;
  /** The key name or certificate identity of the first verified signature. */
  signer?: string;
}

export type SignatureKind = 'cosign' | 'sigstore-bundle' | 'notation';

/** One stored signature of an image and the outcome of checking it. */
export interface Signature {
  kind: SignatureKind;
  /** Digest of the manifest that carries the signature. */
  manifest: string;
  /** The cosign signature tag, `sha256-<hex>.sig`. */
  tag?: string;
  /** Digest of the layer that contains the signature, envelope or bundle. */
  layer?: string;
  verified: boolean;
  /** The reason the signature is not verified. */
  reason?: string;
  /** The key name or certificate identity that verified it. */
  signer?: string;
  signingTime?: string;
  /** Checks that offline verification did not make, such as certificate revocation. */
  notes: string[];
}

export interface SignatureVerdict {
  repository: string;
  digest: string;
  state: SignatureState;
  /** True when an index of the repository that lists this image has a verified signature. */
  verifiedThroughIndex: boolean;
  /** Whether pulls of this manifest need a verified signature; never for an artifact. */
  required: boolean;
  /** True for a signature or another artifact about an image, which is never refused and needs no signature. */
  artifact: boolean;
  /** False while the signatures wait to be checked again after a change of trust. */
  current: boolean;
  evaluatedAt: string | null;
  signatures: Signature[];
}

/** A failed request: the HTTP status (0 when the server could not be reached) and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | undefined;
let unauthorizedHandler: (() => void) | undefined;

/** Stores the token that POST and DELETE requests send in `X-CSRF-Token`. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Registers what happens when the API returns 401: the app goes to the sign-in page. */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Set for the sign-in request, whose 401 means a wrong password, not an expired session. */
  unauthorizedIsError?: boolean;
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };

  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }

  if (method !== 'GET' && csrfToken !== undefined) {
    headers['X-CSRF-Token'] = csrfToken;
  }

  const response = await send(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });

  if (!response.ok) {
    throw await errorOf(response, options.unauthorizedIsError === true);
  }

  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') {
      throw error;
    }

    throw new ApiError(0, 'NETWORK', 'Could not reach Wharf. Check your connection and try again.');
  }
}

async function errorOf(response: Response, unauthorizedIsError: boolean): Promise<ApiError> {
  const entry = await firstErrorEntry(response);
  const error = new ApiError(
    response.status,
    entry?.code ?? `HTTP_${response.status}`,
    entry?.message ?? `The request failed with HTTP status ${response.status} ${response.statusText}.`.trim(),
  );

  if (response.status === 401 && !unauthorizedIsError) {
    unauthorizedHandler?.();
  }

  return error;
}

/** Reads the first entry of `{"errors":[{"code","message"}]}`, the error body of Wharf's APIs. */
async function firstErrorEntry(response: Response): Promise<{ code: string; message: string } | undefined> {
  try {
    const body = (await response.json()) as { errors?: { code?: unknown; message?: unknown }[] };
    const entry = body.errors?.[0];

    if (typeof entry?.message === 'string') {
      return { code: typeof entry.code === 'string' ? entry.code : '', message: entry.message };
    }
  } catch {
    // Not JSON, such as a proxy's HTML error page: the caller falls back to the status line.
  }

  return undefined;
}

function query(parameters: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();

  for (const [key, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== '') {
      search.set(key, String(value));
    }
  }

  const text = search.toString();

  return text === '' ? '' : `?${text}`;
}

/** Builds the API path of a repository: the whole name, `/` included, is one encoded segment. */
function repositoryPath(name: string): string {
  return `/api/v1/repositories/${encodeURIComponent(name)}`;
}

function manifestPath(repository: string, digest: string): string {
  return `${repositoryPath(repository)}/manifests/${encodeURIComponent(digest)}`;
}

export function getSession(signal?: AbortSignal): Promise<Session> {
  return request('/auth/session', { signal });
}

export function login(username: string, password: string): Promise<LoginResult> {
  return request('/auth/login', {
    method: 'POST',
    body: { username, password },
    unauthorizedIsError: true,
  });
}

export function logout(): Promise<{ redirectTo: string }> {
  return request('/auth/logout', { method: 'POST', unauthorizedIsError: true });
}

export interface RepositoryQuery {
  q?: string;
  kind?: RepositoryKind;
  upstream?: string;
  sort?: RepositorySort;
  order?: SortOrder;
  page?: number;
  pageSize?: number;
}

export function listRepositories(filter: RepositoryQuery, signal?: AbortSignal): Promise<Page<Repository>> {
  return request(`/api/v1/repositories${query({ ...filter })}`, { signal });
}

export function getRepository(name: string, signal?: AbortSignal): Promise<Repository> {
  return request(repositoryPath(name), { signal });
}

export function listTags(
  repository: string,
  page: number,
  pageSize: number,
  signal?: AbortSignal,
): Promise<TagPage> {
  return request(`${repositoryPath(repository)}/tags${query({ page, pageSize })}`, { signal });
}

export function getManifest(
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<ManifestDetails> {
  return request(manifestPath(repository, digest), { signal });
}

export function getVulnerabilities(
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<ImageVulnerabilities> {
  return request(`${manifestPath(repository, digest)}/vulnerabilities`, { signal });
}

export function getSignatures(
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<SignatureVerdict> {
  return request(`${manifestPath(repository, digest)}/signatures`, { signal });
}

/**
 * Queues a scan of a tag or digest ahead of other queued scans. Its progress appears in the image's
 * vulnerabilities.
 */
export function startScan(repository: string, reference: string): Promise<ScanStarted> {
  return request('/api/v1/scans', { method: 'POST', body: { repository, reference } });
}

/** Builds the download URL of an image's SBOM. An index has none, but each of its images has one. */
export function sbomHref(repository: string, digest: string, format: SbomFormat): string {
  return `${manifestPath(repository, digest)}/sbom${query({ format })}`;
}

export function deleteTag(repository: string, tag: string): Promise<void> {
  return request(`${repositoryPath(repository)}/tags/${encodeURIComponent(tag)}`, { method: 'DELETE' });
}

export async function listUpstreams(signal?: AbortSignal): Promise<Upstream[]> {
  const body = await request<{ upstreams: Upstream[] }>('/api/v1/upstreams', { signal });

  return body.upstreams;
}

export function getUpstreamHistory(range: HistoryRange, signal?: AbortSignal): Promise<UpstreamHistory> {
  return request(`/api/v1/upstreams/history${query({ range })}`, { signal });
}

export async function listApiKeys(signal?: AbortSignal): Promise<ApiKey[]> {
  const body = await request<{ keys: ApiKey[] }>('/api/v1/apikeys', { signal });

  return body.keys;
}

export function createApiKey(label: string, expiresAt: string | undefined): Promise<NewApiKey> {
  return request('/api/v1/apikeys', { method: 'POST', body: { label, expiresAt } });
}

export function revokeApiKey(id: string): Promise<void> {
  return request(`/api/v1/apikeys/${encodeURIComponent(id)}`, { method: 'DELETE' });
}
