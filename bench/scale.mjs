// fetch and AbortSignal are Node 20 globals without a module to import them from, and eslint.config.js
// sets no Node globals for .mjs files.
/* global fetch, AbortSignal */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { randomBytes, randomInt } from 'node:crypto';
import { Agent, get as httpGet } from 'node:http';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';

import { percentile, roundOrder } from './rounds.mjs';
import { ociManifestMediaType, pushSmallBlob, sampleMaxResident } from './workloads.mjs';

export const scaleTagsPerRepository = 10;
/** Requests in flight at once while seeding: one repository per worker, its requests one after another. */
export const seedConcurrency = 16;
export const catalogPageSize = 100;
/** Upper bound of one latency series, which ends early when this time has passed. */
export const latencyTimeLimitMs = 120_000;

const requestTimeoutMs = 30_000;
const progressIntervalMs = 10_000;
/** Repository that the small blobs are uploaded to once, and that every scale repository mounts them from. */
const sourceRepository = 'bench/scale-source';
const tags = Array.from({ length: scaleTagsPerRepository }, (_, index) => `v${index}`);

/** Returns the name of scale repository `index`, zero-padded so that names sort like their indexes. */
function repositoryName(index) {
  return `scale/r${String(index).padStart(6, '0')}`;
}

/** Upper bound of seeding `repositories` repositories into one registry: 120 s plus 100 ms each. */
export function seedTimeoutMs(repositories) {
  return 120_000 + repositories * 100;
}

async function expectStatus(response, expected, description) {
  await response.arrayBuffer();

  if (response.status !== expected) {
    throw new Error(`${description} returned ${response.status}; expected ${expected}`);
  }
}

async function mountBlob(registry, repository, digest) {
  const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(sourceRepository)}`;
  const response = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/?${query}`, {
    method: 'POST',
    signal: AbortSignal.timeout(requestTimeoutMs),
  });

  await expectStatus(
    response,
    201,
    `POST /v2/${repository}/blobs/uploads/?${query} (mount) on ${registry.name}`,
  );
}

/**
 * Puts one OCI image manifest under `tag`. The annotation makes every manifest of every repository
 * different, so each PUT stores a new manifest rather than one that the registry already has.
 */
async function putManifest(registry, repository, tag, config, layer) {
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifestMediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      annotations: { 'org.example.wharf-bench.reference': `${repository}:${tag}` },
    }),
  );
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': ociManifestMediaType },
    body: manifestBytes,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });

  await expectStatus(response, 201, `PUT /v2/${repository}/manifests/${tag} on ${registry.name}`);
}

/**
 * Seeds `repositories` repositories of 10 tags each through the registry API: one small config blob
 * and one small layer blob are uploaded once, and each repository mounts both and puts 10 manifests.
 * Runs 16 repositories at a time over fetch's keep-alive connections, prints progress every 10 s
 * and throws when seeding takes longer than `seedTimeoutMs`. Returns the seeding time in seconds.
 */
export async function seedRepositories(registry, repositories) {
  const config = await pushSmallBlob(
    registry,
    sourceRepository,
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    ),
  );
  const layer = await pushSmallBlob(registry, sourceRepository, randomBytes(1024));
  const timeoutMs = seedTimeoutMs(repositories);
  const start = performance.now();
  let nextIndex = 0;
  let seeded = 0;

  let failed = false;

  // After the first failure, the other workers finish their current repository and stop.
  const seedNext = async () => {
    try {
      while (!failed && nextIndex < repositories) {
        if (performance.now() - start > timeoutMs) {
          throw new Error(
            `seeding ${registry.name} timed out after ${timeoutMs / 1000} s with ${seeded} of ${repositories} repositories`,
          );
        }

        const repository = repositoryName(nextIndex++);

        await mountBlob(registry, repository, config.digest);
        await mountBlob(registry, repository, layer.digest);

        for (const tag of tags) {
          await putManifest(registry, repository, tag, config, layer);
        }

        seeded++;
      }
    } catch (error) {
      failed = true;

      throw error;
    }
  };

  const progress = setInterval(() => {
    const seconds = ((performance.now() - start) / 1000).toFixed(0);

    console.log(`seeding ${registry.name}: ${seeded} of ${repositories} repositories after ${seconds} s`);
  }, progressIntervalMs);

  try {
    await Promise.all(Array.from({ length: Math.min(seedConcurrency, repositories) }, seedNext));
  } finally {
    clearInterval(progress);
  }

  return (performance.now() - start) / 1000;
}

/** Sends one GET on `agent` and resolves with the status, body and whether the socket was reused. */
function getOnce(agent, url) {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent, timeout: requestTimeoutMs }, (response) => {
      const chunks = [];

      response.on('data', (chunk) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () =>
        resolve({
          status: response.statusCode,
          body: Buffer.concat(chunks),
          reusedSocket: request.reusedSocket,
        }),
      );
    });

    request.once('timeout', () =>
      request.destroy(new Error(`GET ${url} timed out after ${requestTimeoutMs} ms`)),
    );
    request.once('error', reject);
  });
}

/**
 * Sends the GET requests of `paths` to `registry` one after another on one keep-alive connection and
 * returns the p50 and p99 latency in milliseconds, from sending a request to the end of its body.
 * `check(path, status, body)` throws on a wrong response. The series ends early after 120 s.
 */
async function measureLatencySeries(registry, label, paths, check) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  const start = performance.now();
  let newConnections = 0;

  try {
    for (const path of paths) {
      if (performance.now() - start > latencyTimeLimitMs) {
        console.log(`${label}, ${registry.name}: stopped after ${latencyTimeLimitMs / 1000} s`);
        break;
      }

      const requestStart = performance.now();
      const response = await getOnce(agent, `${registry.url}${path}`);

      latencies.push(performance.now() - requestStart);
      check(path, response.status, response.body);

      if (!response.reusedSocket) {
        newConnections++;
      }
    }
  } finally {
    agent.destroy();
  }

  if (newConnections > 1) {
    console.log(`${label}, ${registry.name}: ${newConnections} connections were opened; expected 1`);
  }

  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), requests: latencies.length };
}

function parseJson(path, body) {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error(`GET ${path} returned a body that is not JSON: ${body.toString('utf8').slice(0, 200)}`);
  }
}

/** Returns the catalog requests of one series and a check that each page lists the repositories after `last`. */
function catalogSeries(names, count) {
  // A `last` from all but the final page leaves a full page of scale repositories after it.
  const lastIndexes = Array.from({ length: count }, () =>
    randomInt(Math.max(1, names.length - catalogPageSize)),
  );
  const expectedPages = new Map();
  const paths = lastIndexes.map((index) => {
    const path = `/v2/_catalog?n=${catalogPageSize}&last=${encodeURIComponent(names[index])}`;

    expectedPages.set(path, names.slice(index + 1, index + 1 + catalogPageSize));

    return path;
  });

  const check = (path, status, body) => {
    if (status !== 200) {
      throw new Error(`GET ${path} returned ${status}; expected 200`);
    }

    const expected = expectedPages.get(path);
    const repositories = parseJson(path, body).repositories ?? [];

    // Repositories outside scale/ may follow the last scale repository on a short final page.
    if (repositories.slice(0, expected.length).join(',') !== expected.join(',')) {
      throw new Error(
        `GET ${path} listed ${repositories.length} repositories from ${String(repositories[0])}; expected ${expected.length} from ${String(expected[0])}`,
      );
    }
  };

  return { paths, check };
}

/** Returns the tags list requests of one series and a check that each lists the 10 tags. */
function tagsSeries(names, count) {
  const paths = Array.from({ length: count }, () => `/v2/${names[randomInt(names.length)]}/tags/list`);
  const expectedTags = [...tags].sort().join(',');

  const check = (path, status, body) => {
    if (status !== 200) {
      throw new Error(`GET ${path} returned ${status}; expected 200`);
    }

    const listed = parseJson(path, body).tags ?? [];

    if ([...listed].sort().join(',') !== expectedTags) {
      throw new Error(`GET ${path} listed tags ${listed.join(',')}; expected ${expectedTags}`);
    }
  };

  return { paths, check };
}

/**
 * Seeds both registries, then measures the latency of catalog pages and tags lists on each for
 * `rounds` rounds of `requests` requests. Both registries get the same random requests in a round.
 * Returns the table rows, the request count of the shortest series and the max resident memory in KiB.
 */
export async function runScaleWorkload(registries, { rounds, repositories, requests }) {
  const names = Array.from({ length: repositories }, (_, index) => repositoryName(index));
  const seedSeconds = {};
  const peaks = {};
  const figures = {};
  const requestCounts = [];

  for (const registry of registries) {
    figures[registry.name] = { catalogP50: [], catalogP99: [], tagsP50: [], tagsP99: [] };
  }

  const sampled = async (registry, work) => {
    const stopSampling = sampleMaxResident(registry.pid);

    try {
      return await work();
    } finally {
      peaks[registry.name] = Math.max(peaks[registry.name] ?? 0, stopSampling());
    }
  };

  for (const registry of registries) {
    console.log(
      `Seeding ${registry.name} with ${repositories} repositories of ${scaleTagsPerRepository} tags`,
    );
    seedSeconds[registry.name] = [await sampled(registry, () => seedRepositories(registry, repositories))];
    console.log(`seeding ${registry.name} took ${seedSeconds[registry.name][0].toFixed(1)} s`);
  }

  for (let round = 0; round < rounds; round++) {
    const catalog = catalogSeries(names, requests);
    const tagsList = tagsSeries(names, requests);

    for (const registry of roundOrder(registries, round)) {
      const catalogFigures = await sampled(registry, () =>
        measureLatencySeries(registry, 'catalog page', catalog.paths, catalog.check),
      );
      const tagsFigures = await sampled(registry, () =>
        measureLatencySeries(registry, 'tags list', tagsList.paths, tagsList.check),
      );
      const registryFigures = figures[registry.name];

      registryFigures.catalogP50.push(catalogFigures.p50);
      registryFigures.catalogP99.push(catalogFigures.p99);
      registryFigures.tagsP50.push(tagsFigures.p50);
      registryFigures.tagsP99.push(tagsFigures.p99);
      requestCounts.push(catalogFigures.requests, tagsFigures.requests);
      console.log(
        `scale latency, round ${round + 1}, ${registry.name}: catalog p50 ${catalogFigures.p50.toFixed(2)} ms, ` +
          `p99 ${catalogFigures.p99.toFixed(2)} ms; tags list p50 ${tagsFigures.p50.toFixed(2)} ms, ` +
          `p99 ${tagsFigures.p99.toFixed(2)} ms`,
      );
    }
  }

  const valuesOf = (key) => Object.fromEntries(registries.map((r) => [r.name, figures[r.name][key]]));
  const rows = [
    { label: 'seeding', unit: 's', values: seedSeconds },
    {
      label: `catalog page (n=${catalogPageSize}, random last) p50`,
      unit: 'ms',
      values: valuesOf('catalogP50'),
    },
    {
      label: `catalog page (n=${catalogPageSize}, random last) p99`,
      unit: 'ms',
      values: valuesOf('catalogP99'),
      target: 'Wharf < 20 ms',
    },
    { label: 'tags list (random repository) p50', unit: 'ms', values: valuesOf('tagsP50') },
    {
      label: 'tags list (random repository) p99',
      unit: 'ms',
      values: valuesOf('tagsP99'),
      target: 'Wharf < 20 ms',
    },
  ];

  return { rows, minRequests: Math.min(...requestCounts), peaks };
}
