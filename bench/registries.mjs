// fetch and AbortSignal are Node 20 globals without a module to import them from, and eslint.config.js
// sets no Node globals for .mjs files.
/* global fetch, AbortSignal */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

import { findFreePort } from './processes.mjs';

/** The CNCF Distribution registry from the Debian package `docker-registry` (2.8 on Debian 12). */
export const distributionBinaryPath = '/usr/bin/docker-registry';

const startTimeoutMs = 20_000;
/** Wharf waits up to `http.shutdownGracePeriod` (10 s by default) for requests in flight after SIGTERM. */
const stopTimeoutMs = 15_000;
/** Attempts to start on a free port, because another process may take the port between the probe and the bind. */
const startAttempts = 3;
const keptLogLines = 50;

/** Path prefix under which Wharf serves its pull-through upstream: `/v2/up/<name>/...`. */
export const pullThroughPrefix = 'up';

/**
 * Writes the Wharf config: loopback only, fresh storage, the pull-through `upstreams` given (none by
 * default), no metrics listener, and warnings only so that request logging does not cost time. The
 * file is JSON, which Wharf accepts like YAML.
 */
async function writeWharfConfig(directory, port, upstreams = []) {
  const rootDirectory = join(directory, 'storage');
  const configPath = join(directory, 'wharf.json');
  const config = {
    http: { address: '127.0.0.1', port },
    storage: { rootDirectory },
    upstreams,
    log: { level: 'warn' },
    metrics: { port: 0 },
  };

  await mkdir(rootDirectory, { recursive: true });
  await writeFile(configPath, JSON.stringify(config, null, 2));

  return configPath;
}

/**
 * Writes the Distribution config: loopback only, filesystem storage in `directory` and deletes
 * allowed. Without `accessLog`, it logs errors only and has no access log, which matches Wharf's
 * `log.level: warn`. With it, it logs at info and writes an access log line per request to standard
 * output. With `proxyUrl`, it is a pull-through cache of the registry at that URL (proxy mode). JSON
 * is valid YAML.
 */
async function writeDistributionConfig(directory, port, { accessLog = false, proxyUrl } = {}) {
  const configPath = join(directory, 'config.yml');
  const config = {
    version: '0.1',
    log: accessLog
      ? { level: 'info', accesslog: { disabled: false } }
      : { level: 'error', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: join(directory, 'storage') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
    ...(proxyUrl === undefined ? {} : { proxy: { remoteurl: proxyUrl } }),
  };

  await writeFile(configPath, JSON.stringify(config, null, 2));

  return configPath;
}

/**
 * V8 flags Wharf runs with in production: `npm start`, the Dockerfile and the `wharf` bin pass the
 * same ones (test/deploy/launch.spec.ts checks that), so the benchmark measures what users run.
 */
export const wharfNodeFlags = ['--max-semi-space-size=2', '--heap-growing-percent=100'];

/**
 * Describes how to start each compared registry: its name in reports, command line and config writer.
 * Wharf gets one pull-through upstream with the prefix `up` when `upstreamUrl` is set.
 */
export function registrySpecs(wharfMainPath, upstreamUrl) {
  const upstreams = upstreamUrl === undefined ? [] : [{ prefix: pullThroughPrefix, url: upstreamUrl }];

  return [
    {
      name: 'Wharf',
      command: process.execPath,
      args: (configPath) => [...wharfNodeFlags, wharfMainPath, 'serve', '--config', configPath],
      writeConfig: (directory, port) => writeWharfConfig(directory, port, upstreams),
    },
    {
      name: 'Distribution',
      command: distributionBinaryPath,
      args: (configPath) => ['serve', configPath],
      writeConfig: (directory, port) => writeDistributionConfig(directory, port),
    },
  ];
}

/** Describes the Distribution instance that is Wharf's pull-through upstream, with its access log on. */
export function upstreamSpec() {
  return {
    name: 'upstream',
    command: distributionBinaryPath,
    args: (configPath) => ['serve', configPath],
    writeConfig: (directory, port) => writeDistributionConfig(directory, port, { accessLog: true }),
  };
}

/**
 * Describes Distribution as a pull-through cache in front of the upstream at `upstreamUrl`, compared
 * with Wharf in the pull-through workloads. In proxy mode it serves the upstream's repositories under
 * their own names and accepts no pushes.
 */
export function distributionProxySpec(upstreamUrl) {
  return {
    name: 'Distribution',
    command: distributionBinaryPath,
    args: (configPath) => ['serve', configPath],
    writeConfig: (directory, port) => writeDistributionConfig(directory, port, { proxyUrl: upstreamUrl }),
  };
}

/**
 * Starts one registry on a free port of 127.0.0.1 with a config in a new temporary directory, and
 * waits until `GET /v2/` returns 200. The directory is removed when every start attempt fails.
 */
export async function startRegistry(spec) {
  const directory = await mkdtemp(join(tmpdir(), `wharf-bench-${spec.name.toLowerCase()}-`));
  const failures = [];

  for (let attempt = 1; attempt <= startAttempts; attempt++) {
    const port = await findFreePort();
    const configPath = await spec.writeConfig(directory, port);
    const registry = spawnRegistry(spec, configPath, directory, port);

    try {
      await waitUntilReady(registry);

      return registry;
    } catch (error) {
      failures.push(`attempt ${attempt} on port ${port}: ${error.message}`);
      await registry.stop();
    }
  }

  await rm(directory, { recursive: true, force: true });

  throw new Error(`${spec.name} did not start:\n${failures.join('\n')}`);
}

function spawnRegistry(spec, configPath, directory, port) {
  const child = spawn(spec.command, spec.args(configPath), {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const logLines = [];
  const stdoutListeners = new Set();

  const keepLogLine = (line) => {
    logLines.push(line);

    if (logLines.length > keptLogLines) {
      logLines.shift();
    }
  };

  createInterface({ input: child.stdout }).on('line', (line) => {
    keepLogLine(line);

    for (const listener of stdoutListeners) {
      listener(line);
    }
  });
  createInterface({ input: child.stderr }).on('line', keepLogLine);

  const isRunning = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (isRunning()) {
      child.kill('SIGTERM');

      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);

      await exited;
      clearTimeout(timer);
    }
  };

  return {
    name: spec.name,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    directory,
    isRunning,
    describeExit: () =>
      `${spec.name} exited with code ${String(child.exitCode)}, signal ${String(child.signalCode)}:\n${logLines.join('\n')}`,
    /** Calls `listener` with each later line of standard output until the returned function is called. */
    onStdoutLine: (listener) => {
      stdoutListeners.add(listener);

      return () => stdoutListeners.delete(listener);
    },
    stop,
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(registry) {
  const deadline = Date.now() + startTimeoutMs;

  while (Date.now() < deadline) {
    if (!registry.isRunning()) {
      throw new Error(registry.describeExit());
    }

    try {
      const response = await fetch(`${registry.url}/v2/`, { signal: AbortSignal.timeout(1_000) });

      await response.arrayBuffer();

      if (response.status === 200) {
        return;
      }
    } catch {
      // The port does not accept connections yet.
    }

    await sleep(100);
  }

  throw new Error(`GET ${registry.url}/v2/ did not return 200 within ${startTimeoutMs} ms`);
}
