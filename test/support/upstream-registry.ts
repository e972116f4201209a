import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

import { stringify } from 'yaml';

/** The CNCF Distribution registry from the Debian package `docker-registry` (2.8 on Debian 12). */
export const registryBinaryPath = '/usr/bin/docker-registry';

const startTimeoutMs = 10_000;
const stopTimeoutMs = 10_000;
const markerTimeoutMs = 5_000;
const pollIntervalMs = 20;
/** Attempts to start on a free port, because another process may take the port between the probe and the bind. */
const startAttempts = 3;
/** Lines of the registry's own log kept for error messages. */
const keptLogLines = 200;
/** Query parameter of the requests that `requests()` sends to find the end of the access log. */
const markerParameter = 'wharf-test-marker';

/** What an access-log path addresses in the Distribution API. */
export type UpstreamRequestKind = 'base' | 'manifest' | 'blob' | 'upload' | 'tags' | 'other';

/** One request from the registry's access log. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path without the query string, such as `/v2/library/app/manifests/1.0`. */
  readonly path: string;
  /** Query string without the `?`, or an empty string. */
  readonly query: string;
  readonly status: number;
  readonly kind: UpstreamRequestKind;
  /** Repository name from the path, absent for `/v2/` and unknown paths. */
  readonly repository?: string;
  /** Tag or digest of a manifest request, digest of a blob request. */
  readonly reference?: string;
}

/** Conditions that `countRequests` matches. Absent fields match every request. */
export interface UpstreamRequestFilter {
  readonly method?: string;
  readonly kind?: UpstreamRequestKind;
  readonly repository?: string;
  readonly reference?: string;
}

/** A Distribution registry process started for a test, listening on a loopback port without auth. */
export interface UpstreamRegistry {
  /** Base URL without a trailing slash, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  /** `host:port`, the form skopeo expects in `docker://` references. */
  readonly hostPort: string;
  readonly rootDirectory: string;
  readonly process: ChildProcess;
  /** Returns `docker://HOST:PORT/<repositoryAndReference>` for skopeo. */
  dockerReference(repositoryAndReference: string): string;
  /**
   * Returns the requests logged since the start or the last `resetRequests()`. While the registry
   * runs, this first sends a marker request and waits until it is logged, so that every request
   * that the registry completed before the call is included. Marker requests are left out of the result.
   */
  requests(): Promise<UpstreamRequest[]>;
  /** Forgets the requests logged so far, after waiting for them as `requests()` does. */
  resetRequests(): Promise<void>;
  /** Stops the process by its id with SIGTERM, or SIGKILL after 10 s, and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops the process if it still runs and removes its temporary directory. */
  dispose(): Promise<void>;
}

/** Counts the requests that match every field of `filter`. */
export function countRequests(requests: readonly UpstreamRequest[], filter: UpstreamRequestFilter): number {
  return requests.filter(
    (request) =>
      (filter.method === undefined || request.method === filter.method) &&
      (filter.kind === undefined || request.kind === filter.kind) &&
      (filter.repository === undefined || request.repository === filter.repository) &&
      (filter.reference === undefined || request.reference === filter.reference),
  ).length;
}

/** Lists requests one per line as `METHOD /path?query STATUS`, for assertion messages. */
export function formatRequests(requests: readonly UpstreamRequest[]): string {
  if (requests.length === 0) {
    return '(no requests)';
  }

  return requests
    .map((request) => {
      const query = request.query === '' ? '' : `?${request.query}`;

      return `${request.method} ${request.path}${query} ${request.status}`;
    })
    .join('\n');
}

/**
 * Parses one access-log line. Distribution 2.8 writes the access log to standard output in the
 * Apache combined format: `127.0.0.1 - - [04/Dec/2026:22:18:46 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"`.
 * Returns undefined for any other line.
 */
export function parseAccessLogLine(line: string): UpstreamRequest | undefined {
  const match = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) /.exec(line);

  if (!match) {
    return undefined;
  }

  const [, method, target, status] = match as unknown as [string, string, string, string];
  const queryStart = target.indexOf('?');
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart + 1);

  return { method, path, query, status: Number(status), ...classifyPath(path) };
}

function classifyPath(path: string): Pick<UpstreamRequest, 'kind' | 'repository' | 'reference'> {
  if (path === '/v2/' || path === '/v2') {
    return { kind: 'base' };
  }

  const upload = /^\/v2\/(.+)\/blobs\/uploads\/.*$/.exec(path);

  if (upload) {
    return { kind: 'upload', repository: upload[1] };
  }

  const content = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);

  if (content) {
    return {
      kind: content[2] === 'manifests' ? 'manifest' : 'blob',
      repository: content[1],
      reference: decodePathSegment(content[3] ?? ''),
    };
  }

  const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);

  if (tags) {
    return { kind: 'tags', repository: tags[1] };
  }

  return { kind: 'other' };
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
async function findFreePort(): Promise<number> {
  const server = createServer();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  const address = server.address();

  await new Promise<void>((resolve) => server.close(() => resolve()));

  if (address === null || typeof address === 'string') {
    throw new Error(`unexpected address of a TCP server: ${String(address)}`);
  }

  return address.port;
}

/** Writes the registry config: filesystem storage in `rootDirectory`, deletes allowed, no auth, loopback only. */
async function writeRegistryConfig(rootDirectory: string, hostPort: string): Promise<string> {
  const configPath = join(rootDirectory, 'config.yml');
  const config = {
    version: '0.1',
    log: { level: 'info', formatter: 'json', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: join(rootDirectory, 'data') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: hostPort, secret: randomBytes(16).toString('hex') },
  };

  await writeFile(configPath, stringify(config));

  return configPath;
}

/**
 * Starts `docker-registry serve` on a free port of 127.0.0.1 with a config written to a new
 * temporary directory, and waits until `GET /v2/` returns 200.
 */
export async function startUpstreamRegistry(): Promise<UpstreamRegistry> {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'wharf-upstream-'));
  const failures: string[] = [];

  for (let attempt = 1; attempt <= startAttempts; attempt++) {
    const hostPort = `127.0.0.1:${await findFreePort()}`;
    const configPath = await writeRegistryConfig(rootDirectory, hostPort);

    try {
      return await startProcess(rootDirectory, configPath, hostPort);
    } catch (error) {
      failures.push(`attempt ${attempt} on ${hostPort}: ${(error as Error).message}`);
    }
  }

  await rm(rootDirectory, { recursive: true, force: true });

  throw new Error(`docker-registry did not start:\n${failures.join('\n')}`);
}

async function startProcess(
  rootDirectory: string,
  configPath: string,
  hostPort: string,
): Promise<UpstreamRegistry> {
  const url = `http://${hostPort}`;
  const child = spawn(registryBinaryPath, ['serve', configPath], {
    cwd: rootDirectory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logLines: string[] = [];
  let logged: UpstreamRequest[] = [];
  let markerCount = 0;

  const keepLogLine = (line: string): void => {
    logLines.push(line);

    if (logLines.length > keptLogLines) {
      logLines.shift();
    }
  };

  createInterface({ input: child.stderr }).on('line', keepLogLine);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const request = parseAccessLogLine(line);

    if (request) {
      logged.push(request);
    } else {
      keepLogLine(line);
    }
  });

  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  const describeExit = (): string =>
    `docker-registry exited with code ${String(child.exitCode)}, signal ${String(child.signalCode)}:\n${logLines.join('\n')}`;

  const stop = async (): Promise<void> => {
    if (isRunning()) {
      child.kill('SIGTERM');

      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);

      await exited;
      clearTimeout(timer);
    }
  };

  /** Sends a marker request and waits until the access log shows it. */
  const waitForLogEnd = async (): Promise<void> => {
    if (!isRunning()) {
      return;
    }

    markerCount += 1;

    const marker = `${markerParameter}=${markerCount}`;
    const response = await fetch(`${url}/v2/?${marker}`, { signal: AbortSignal.timeout(markerTimeoutMs) });

    await response.arrayBuffer();

    const deadline = Date.now() + markerTimeoutMs;

    while (!logged.some((request) => request.query === marker)) {
      if (Date.now() > deadline) {
        throw new Error(
          `docker-registry did not log the marker request ${marker} within ${markerTimeoutMs} ms`,
        );
      }

      await sleep(pollIntervalMs);
    }
  };

  try {
    await waitUntilReady(url, isRunning, describeExit);
    // The readiness probes are not requests of the test.
    await waitForLogEnd();
    logged = [];
  } catch (error) {
    await stop();
    throw error;
  }

  const isMarker = (request: UpstreamRequest): boolean => request.query.startsWith(`${markerParameter}=`);

  return {
    url,
    hostPort,
    rootDirectory,
    process: child,
    dockerReference: (repositoryAndReference) => `docker://${hostPort}/${repositoryAndReference}`,
    requests: async () => {
      await waitForLogEnd();

      return logged.filter((request) => !isMarker(request));
    },
    resetRequests: async () => {
      await waitForLogEnd();
      logged = [];
    },
    stop,
    dispose: async () => {
      await stop();
      await rm(rootDirectory, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(
  url: string,
  isRunning: () => boolean,
  describeExit: () => string,
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;

  while (Date.now() < deadline) {
    if (!isRunning()) {
      throw new Error(describeExit());
    }

    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });

      await response.arrayBuffer();

      if (response.status === 200) {
        return;
      }
    } catch {
      // The port does not accept connections yet.
    }

    await sleep(pollIntervalMs * 5);
  }

  throw new Error(`GET ${url}/v2/ did not return 200 within ${startTimeoutMs} ms`);
}
