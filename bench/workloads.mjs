// fetch and AbortSignal are Node 20 globals without a module to import them from, and eslint.config.js
// sets no Node globals for .mjs files.
/* global fetch, AbortSignal */
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';
import { URL } from 'node:url';

import { runTool, runToolChecked } from './processes.mjs';

export const wrkPath = '/usr/bin/wrk';
export const abPath = '/usr/bin/ab';
export const curlPath = '/usr/bin/curl';

export const ociManifestMediaType = 'application/vnd.oci.image.manifest.v1+json';

const requestTimeoutMs = 30_000;
/** Bytes of random data generated per write, which bounds the memory that generating a large blob takes. */
const chunkBytes = 4 * 1024 * 1024;
const memorySampleIntervalMs = 200;
/** Number of HEAD requests that ab sends per run. */
const abRequests = 20_000;
const loadConnections = 32;

/** Writes `size` bytes of random data to `path` and returns its `sha256:` digest. */
export async function writeRandomFile(path, size) {
  const hash = createHash('sha256');
  const stream = createWriteStream(path);

  for (let written = 0; written < size; written += chunkBytes) {
    const chunk = randomBytes(Math.min(chunkBytes, size - written));

    hash.update(chunk);

    if (!stream.write(chunk)) {
      await once(stream, 'drain');
    }
  }

  stream.end();
  await once(stream, 'finish');

  return `sha256:${hash.digest('hex')}`;
}

/** Starts an upload session with POST and returns the absolute upload URL from its Location header. */
async function startUpload(registry, repository) {
  const response = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    signal: AbortSignal.timeout(requestTimeoutMs),
  });

  await response.arrayBuffer();

  const location = response.headers.get('location');

  if (response.status !== 202 || location === null) {
    throw new Error(
      `POST /v2/${repository}/blobs/uploads/ on ${registry.name} returned ${response.status} with Location ${String(location)}; expected 202 with a Location`,
    );
  }

  return new URL(location, registry.url);
}

/** Pushes a small blob from memory with POST and a monolithic PUT. Returns its digest and size. */
export async function pushSmallBlob(registry, repository, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const uploadUrl = await startUpload(registry, repository);

  uploadUrl.searchParams.set('digest', digest);

  const response = await fetch(uploadUrl, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });

  await response.arrayBuffer();

  if (response.status !== 201) {
    throw new Error(`PUT of blob ${digest} to ${registry.name} returned ${response.status}; expected 201`);
  }

  return { digest, size: bytes.length };
}

/**
 * Pushes a file as one blob with POST and a monolithic PUT that `curl -T` sends with a Content-Length.
 * The timeout allows for an upload at 10 MB/s.
 */
export async function pushFileBlob(registry, repository, path, digest, size) {
  const uploadUrl = await startUpload(registry, repository);

  uploadUrl.searchParams.set('digest', digest);

  const timeoutMs = requestTimeoutMs + Math.ceil(size / 10_000);
  const status = await runToolChecked(
    curlPath,
    [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/octet-stream',
      '-T',
      path,
      uploadUrl.href,
    ],
    timeoutMs,
  );

  if (status.trim() !== '201') {
    throw new Error(`PUT of blob ${digest} to ${registry.name} returned ${status.trim()}; expected 201`);
  }
}

/**
 * Pushes an image of one config blob, one 4 KiB random layer and an OCI image manifest under `tag`.
 * Returns the URLs that the request workloads fetch.
 */
export async function pushSmallImage(registry, repository, tag) {
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: {},
    }),
  );
  const config = await pushSmallBlob(registry, repository, configBytes);
  const layer = await pushSmallBlob(registry, repository, randomBytes(4096));
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestMediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': ociManifestMediaType },
    body: manifestBytes,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });

  await response.arrayBuffer();

  if (response.status !== 201) {
    throw new Error(`PUT of manifest ${repository}:${tag} to ${registry.name} returned ${response.status}`);
  }

  const base = `${registry.url}/v2/${repository}`;

  return {
    manifestByTag: `${base}/manifests/${tag}`,
    manifestByDigest: `${base}/manifests/${manifestDigest}`,
    tagsList: `${base}/tags/list`,
    blob: `${base}/blobs/${layer.digest}`,
  };
}

/**
 * Sends one request with curl and throws unless it returns 200. Each load URL is checked this way
 * first, because wrk and ab count error responses as requests too.
 */
export async function checkUrl(url, method, headers = []) {
  const headerArgs = headers.flatMap((header) => ['-H', header]);
  const methodArgs = method === 'HEAD' ? ['-I'] : [];
  const status = await runToolChecked(
    curlPath,
    ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...methodArgs, ...headerArgs, url],
    requestTimeoutMs,
  );

  if (status.trim() !== '200') {
    throw new Error(`${method} ${url} returned ${status.trim()}; expected 200`);
  }
}

/** Downloads a blob once with curl and returns the throughput in MB/s (10^6 bytes per second). */
export async function measureBlobGet(url, expectedSize) {
  const timeoutMs = requestTimeoutMs + Math.ceil(expectedSize / 10_000);
  const output = await runToolChecked(
    curlPath,
    ['-s', '-f', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', url],
    timeoutMs,
  );
  const [seconds, bytes] = output.trim().split(' ').map(Number);

  if (bytes !== expectedSize) {
    throw new Error(`GET ${url} downloaded ${bytes} bytes; expected ${expectedSize}`);
  }

  return bytes / seconds / 1e6;
}

/** Runs `wrk -t2 -c32` for `durationSeconds` and returns Requests/sec, or throws on error responses. */
export async function measureWrk(url, headers, durationSeconds) {
  const headerArgs = headers.flatMap((header) => ['-H', header]);
  const args = ['-t2', `-c${loadConnections}`, `-d${durationSeconds}s`, ...headerArgs, url];
  const output = await runToolChecked(wrkPath, args, (durationSeconds + 30) * 1000);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const errorResponses = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socketErrors = /Socket errors: (.*)/.exec(output);

  if (errorResponses || socketErrors || !rate) {
    throw new Error(`wrk ${args.join(' ')} reported errors or no rate:\n${output}`);
  }

  return Number(rate[1]);
}

/**
 * Runs `ab -k -i -n 20000 -c 32` (HEAD requests on keep-alive connections) and returns Requests per
 * second. Throws on failed or non-2xx requests, and when no request reused a connection, because the
 * rate would then be one of new connections.
 */
export async function measureAbHead(url) {
  const args = ['-k', '-i', '-n', String(abRequests), '-c', String(loadConnections), url];
  const output = await runToolChecked(abPath, args, 120_000);
  const rate = /Requests per second:\s+([\d.]+)/.exec(output);
  const failed = /Failed requests:\s+(\d+)/.exec(output);
  const errorResponses = /Non-2xx responses:\s+(\d+)/.exec(output);
  const keepAliveRequests = /Keep-Alive requests:\s+(\d+)/.exec(output);

  if (!rate || (failed && failed[1] !== '0') || errorResponses) {
    throw new Error(`ab ${args.join(' ')} reported errors or no rate:\n${output}`);
  }

  if (!keepAliveRequests || keepAliveRequests[1] === '0') {
    throw new Error(`ab ${args.join(' ')} reported no keep-alive requests:\n${output}`);
  }

  return Number(rate[1]);
}

/** Returns the resident set size of a process in KiB from VmRSS in /proc/<pid>/status. */
export function readResidentKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);

  if (!match) {
    throw new Error(`/proc/${pid}/status has no VmRSS line`);
  }

  return Number(match[1]);
}

/** Clock ticks per second of the CPU times in /proc/stat (USER_HZ): 100 on x86 Linux, as `getconf CLK_TCK` prints. */
const clockTicksPerSecond = 100;

/**
 * Returns the CPU time that process `pid` has used so far over its current threads, in seconds. It
 * sums the first field of /proc/<pid>/task/<tid>/schedstat, nanoseconds on a CPU, which is finer than
 * the 10 ms ticks of /proc/<pid>/stat. A thread that ends between two readings takes its time with it,
 * which a registry's long-lived worker threads do not.
 */
export function readProcessCpuSeconds(pid) {
  let nanoseconds = 0;

  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch (error) {
      // A thread that ended after the directory was listed has no file any more.
      if (error.code !== 'ENOENT' && error.code !== 'ESRCH') {
        throw error;
      }
    }
  }

  return nanoseconds / 1e9;
}

/**
 * Returns the CPU time that every process of the machine has used so far, in seconds: the first line
 * of /proc/stat, summed over all cores, without idle, iowait and the time the hypervisor gave to other
 * virtual machines (steal). /proc/stat counts in ticks of 10 ms.
 */
export function readMachineBusySeconds() {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);

  return (user + nice + system + irq + softirq) / clockTicksPerSecond;
}

/**
 * Samples the resident memory of `pid` every 200 ms until the returned function is called, which
 * returns the maximum in KiB. A process that has exited stops the sampling.
 */
export function sampleMaxResident(pid) {
  let maxKiB = readResidentKiB(pid);

  const timer = setInterval(() => {
    try {
      maxKiB = Math.max(maxKiB, readResidentKiB(pid));
    } catch {
      clearInterval(timer);
    }
  }, memorySampleIntervalMs);

  return () => {
    clearInterval(timer);

    return maxKiB;
  };
}

/** Returns the first line of `command args`, or a note when the tool is missing or fails. */
export async function toolVersion(command, args) {
  try {
    const { stdout, stderr } = await runTool(command, args, 10_000);
    const firstLine = `${stdout}${stderr}`.split('\n').find((line) => line.trim() !== '');

    return firstLine?.trim() ?? `${command}: no version output`;
  } catch (error) {
    return `not available (${error.message})`;
  }
}
