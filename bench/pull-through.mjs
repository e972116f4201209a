// fetch and AbortSignal are Node 20 globals without a module to import them from, and eslint.config.js
// sets no Node globals for .mjs files.
/* global fetch, AbortSignal */
import console from 'node:console';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { splitLayerSizes, writeRandomImageLayout } from './oci-images.mjs';
import { pullThroughPrefix } from './registries.mjs';
import { pullImage, pushImage } from './skopeo.mjs';
import {
  pushFileBlob,
  readMachineBusySeconds,
  readProcessCpuSeconds,
  sampleMaxResident,
  writeRandomFile,
} from './workloads.mjs';

/** Number of clients that request the same cold blob at once. */
export const concurrentClients = 20;
export const pullThroughImageLayers = 3;

/**
 * Time that the harness waits after a copy before it reads the upstream's access log, because
 * Distribution writes a line when a response ends and the harness reads it from a pipe.
 */
const accessLogSettleMs = 500;
/** Matches the request line and status of a line in Distribution's access log (combined log format). */
const accessLogPattern = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /;

/**
 * Records the requests of the upstream's access log from now on. `countBlobGets(repository, digests)`
 * counts the GETs with status 200 or 206 of those blobs since the last `mark()`.
 */
function recordAccessLog(upstream) {
  const entries = [];
  let markIndex = 0;

  const stop = upstream.onStdoutLine((line) => {
    const match = accessLogPattern.exec(line);

    if (match) {
      entries.push({ method: match[1], path: match[2].split('?')[0], status: Number(match[3]) });
    }
  });

  return {
    stop,
    mark: () => {
      markIndex = entries.length;
    },
    countBlobGets: async (repository, digests) => {
      await sleep(accessLogSettleMs);

      const paths = new Set(digests.map((digest) => `/v2/${repository}/blobs/${digest}`));

      return entries
        .slice(markIndex)
        .filter((entry) => entry.method === 'GET' && paths.has(entry.path))
        .filter((entry) => entry.status === 200 || entry.status === 206).length;
    },
  };
}

/** Pulls an image into a new directory under `workDirectory`, removes it and returns the seconds. */
async function timePull(context, registry, repository, image) {
  const layoutDirectory = join(context.workDirectory, `pulled-${registry.name}`);

  try {
    return await pullImage(context.skopeoOptions, registry, repository, image, layoutDirectory);
  } finally {
    await rm(layoutDirectory, { recursive: true, force: true });
  }
}

/**
 * Runs `pull()`, which returns seconds, and returns them with the CPU seconds that the whole machine
 * and `registry` used meanwhile. The machine's figure includes skopeo, the upstream, both caches and the
 * harness.
 */
async function measurePull(registry, pull) {
  const machineStart = readMachineBusySeconds();
  const registryStart = readProcessCpuSeconds(registry.pid);
  const seconds = await pull();

  return {
    seconds,
    machineCpu: readMachineBusySeconds() - machineStart,
    registryCpu: readProcessCpuSeconds(registry.pid) - registryStart,
  };
}

/**
 * Returns the two compared caches in front of the upstream: Wharf, which serves it under its prefix,
 * and Distribution in proxy mode, which serves its repositories under their own names.
 */
function pullThroughCaches(context) {
  return [
    { registry: context.wharf, repositoryPrefix: `${pullThroughPrefix}/` },
    { registry: context.distributionProxy, repositoryPrefix: '' },
  ];
}

/** Returns an empty list of figures for each key, per cache name. */
function figuresByCache(context, keys) {
  return Object.fromEntries(
    pullThroughCaches(context).map((cache) => [
      cache.registry.name,
      Object.fromEntries(keys.map((key) => [key, []])),
    ]),
  );
}

/**
 * Runs one round of the pull-through comparison on a new random image pushed to the upstream. It
 * times a direct pull from the upstream, and for each cache a cold pull and the warm pull right after,
 * in an order that rotates by round. Then it pushes the same image to Wharf and times a plain pull.
 */
async function runPullThroughRound(context, accessLog, round, figures) {
  const { wharf, upstream, workDirectory, skopeoOptions } = context;
  const repository = `bench/pull-through-${round + 1}`;
  const layoutDirectory = join(workDirectory, 'pull-through-image');
  const image = await writeRandomImageLayout(
    layoutDirectory,
    'v1',
    splitLayerSizes(context.imageSize, pullThroughImageLayers),
  );
  const blobDigests = image.blobs.map((blob) => blob.digest);
  let direct;

  await pushImage(skopeoOptions, layoutDirectory, image, upstream, repository);

  const pullDirect = async () => {
    direct = await measurePull(upstream, () => timePull(context, upstream, repository, image));
    figures.direct.push(direct.seconds);
    figures.directCpu.push(direct.machineCpu);
    await sleep(accessLogSettleMs);
  };

  const pullColdAndWarm = async ({ registry, repositoryPrefix }) => {
    const cacheFigures = figures.caches[registry.name];
    const cachedRepository = `${repositoryPrefix}${repository}`;

    accessLog.mark();

    const cold = await measurePull(registry, () => timePull(context, registry, cachedRepository, image));

    cacheFigures.cold.push(cold.seconds);
    cacheFigures.machineCpu.push(cold.machineCpu);
    cacheFigures.cacheCpu.push(cold.registryCpu);
    cacheFigures.coldBlobGets.push(await accessLog.countBlobGets(repository, blobDigests));
    accessLog.mark();
    cacheFigures.warm.push(await timePull(context, registry, cachedRepository, image));
    cacheFigures.warmBlobGets.push(await accessLog.countBlobGets(repository, blobDigests));
  };

  const steps = [pullDirect, ...pullThroughCaches(context).map((cache) => () => pullColdAndWarm(cache))];

  for (let step = 0; step < steps.length; step++) {
    await steps[(step + round) % steps.length]();
  }

  // Pushed only now, because Wharf stores blobs by digest and would otherwise have them before the cold pull.
  await pushImage(skopeoOptions, layoutDirectory, image, wharf, `bench/plain-pull-${round + 1}`);
  figures.plain.push(await timePull(context, wharf, `bench/plain-pull-${round + 1}`, image));
  figures.plainWarmRatio.push(figures.plain.at(-1) / figures.caches[wharf.name].warm.at(-1));
  await rm(layoutDirectory, { recursive: true, force: true });

  for (const cacheFigures of Object.values(figures.caches)) {
    cacheFigures.coldRatio.push(cacheFigures.cold.at(-1) / direct.seconds);
    cacheFigures.coldRatioFloor.push(cacheFigures.machineCpu.at(-1) / context.cores / direct.seconds);
  }

  const summaries = Object.entries(figures.caches).map(
    ([name, cacheFigures]) =>
      `${name}: cold ${cacheFigures.cold.at(-1).toFixed(2)} s, warm ${cacheFigures.warm.at(-1).toFixed(2)} s, ` +
      `CPU s of the machine ${cacheFigures.machineCpu.at(-1).toFixed(2)} (${name} ` +
      `${cacheFigures.cacheCpu.at(-1).toFixed(2)}), upstream blob GETs cold ${cacheFigures.coldBlobGets.at(-1)}, ` +
      `warm ${cacheFigures.warmBlobGets.at(-1)}`,
  );

  console.log(
    `pull-through, round ${round + 1}: direct ${direct.seconds.toFixed(2)} s (CPU s of the machine ` +
      `${direct.machineCpu.toFixed(2)}), plain ${figures.plain.at(-1).toFixed(2)} s; ${summaries.join('; ')}`,
  );
}

/** Downloads `url` with fetch, hashing the body as it arrives, and throws unless it is the expected blob. */
async function downloadBlob(url, size, digest, timeoutMs) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });

  if (response.status !== 200) {
    await response.arrayBuffer();

    throw new Error(`GET ${url} returned ${response.status}; expected 200`);
  }

  const hash = createHash('sha256');
  let bytes = 0;

  for await (const chunk of response.body) {
    hash.update(chunk);
    bytes += chunk.length;
  }

  const received = `sha256:${hash.digest('hex')}`;

  if (bytes !== size || received !== digest) {
    throw new Error(`GET ${url} returned ${bytes} bytes with digest ${received}; expected ${size} bytes`);
  }
}

/**
 * Runs one round of simultaneous cold GETs through each cache, in an order that alternates by round. For
 * each, it pushes a new random blob to the upstream and starts 20 GETs of it through the cache at once.
 * Then it checks every body against the digest and counts the upstream's GETs of the blob.
 */
async function runConcurrentGetRound(context, accessLog, round, figures) {
  const { upstream, workDirectory } = context;
  const size = context.sharedBlobSize;
  const caches = pullThroughCaches(context);

  for (let index = 0; index < caches.length; index++) {
    const { registry, repositoryPrefix } = caches[(index + round) % caches.length];
    const cacheFigures = figures[registry.name];
    const repository = `bench/concurrent-${round + 1}-${registry.name.toLowerCase()}`;
    const blobPath = join(workDirectory, 'concurrent-blob.bin');
    const digest = await writeRandomFile(blobPath, size);

    await pushFileBlob(upstream, repository, blobPath, digest, size);
    await rm(blobPath, { force: true });

    const url = `${registry.url}/v2/${repositoryPrefix}${repository}/blobs/${digest}`;
    // 60 s plus the time that the 20 downloads take at 10 MB/s in total.
    const timeoutMs = 60_000 + Math.ceil((concurrentClients * size) / 10_000);

    accessLog.mark();

    const start = performance.now();

    await Promise.all(
      Array.from({ length: concurrentClients }, () => downloadBlob(url, size, digest, timeoutMs)),
    );
    cacheFigures.seconds.push((performance.now() - start) / 1000);
    cacheFigures.transfers.push(await accessLog.countBlobGets(repository, [digest]));
    console.log(
      `${concurrentClients} simultaneous cold GETs through ${registry.name}, round ${round + 1}: ` +
        `${cacheFigures.seconds.at(-1).toFixed(2)} s, upstream GETs of the blob: ${cacheFigures.transfers.at(-1)}`,
    );
  }
}

/** Returns the values of `key` of each cache's figures, keyed by cache name, for a comparison row. */
function byCache(figures, key) {
  return Object.fromEntries(Object.entries(figures).map(([name, cacheFigures]) => [name, cacheFigures[key]]));
}

/**
 * Runs the pull-through comparison and the simultaneous cold GETs for `context.rounds` rounds, as
 * selected by `context.pullThrough` and `context.concurrentGets`. Returns the rows that compare the two
 * caches, whose figures are keyed by registry name, and the rows of the direct and plain pulls, whose
 * figures are in `value`.
 */
export async function runPullThroughWorkloads(context) {
  const accessLog = recordAccessLog(context.upstream);
  const pulls = {
    direct: [],
    directCpu: [],
    plain: [],
    plainWarmRatio: [],
    caches: figuresByCache(context, [
      'cold',
      'warm',
      'coldRatio',
      'machineCpu',
      'cacheCpu',
      'coldRatioFloor',
      'coldBlobGets',
      'warmBlobGets',
    ]),
  };
  const concurrent = figuresByCache(context, ['seconds', 'transfers']);
  const stopSampling = pullThroughCaches(context).map(({ registry }) => [
    registry.name,
    sampleMaxResident(registry.pid),
  ]);
  const peaks = {};

  try {
    for (let round = 0; context.pullThrough && round < context.rounds; round++) {
      await runPullThroughRound(context, accessLog, round, pulls);
    }

    for (let round = 0; context.concurrentGets && round < context.rounds; round++) {
      await runConcurrentGetRound(context, accessLog, round, concurrent);
    }
  } finally {
    for (const [name, stop] of stopSampling) {
      peaks[name] = [stop() / 1024];
    }

    accessLog.stop();
  }

  const cacheRows = [];
  const referenceRows = [];

  if (context.pullThrough) {
    const cache = (key) => byCache(pulls.caches, key);

    cacheRows.push(
      { label: `cold pull (${context.imageSizeLabel} image)`, unit: 's', values: cache('cold') },
      {
        label: 'cold ÷ direct pull from the upstream',
        unit: 'ratio',
        values: cache('coldRatio'),
        target: 'Wharf ≤ 1.15',
      },
      { label: 'CPU time of the machine during the cold pull', unit: 's', values: cache('machineCpu') },
      { label: "the cache's share of it", unit: 's', values: cache('cacheCpu') },
      {
        label: `lower bound of cold ÷ direct: cold pull's CPU time ÷ ${context.cores} cores ÷ direct pull time`,
        unit: 'ratio',
        values: cache('coldRatioFloor'),
      },
      { label: 'warm pull, right after', unit: 's', values: cache('warm') },
      {
        label: 'upstream blob GETs during the cold pull',
        unit: 'count',
        values: cache('coldBlobGets'),
        target: `Wharf = ${pullThroughImageLayers + 1} (config and layers)`,
      },
      {
        label: 'upstream blob GETs during the warm pull',
        unit: 'count',
        values: cache('warmBlobGets'),
        target: 'Wharf = 0',
      },
    );
    referenceRows.push(
      {
        label: `direct pull from the upstream (${context.imageSizeLabel} image)`,
        unit: 's',
        values: { value: pulls.direct },
      },
      {
        label: 'CPU time of the machine during the direct pull',
        unit: 's',
        values: { value: pulls.directCpu },
      },
      { label: 'plain pull of the image pushed to Wharf', unit: 's', values: { value: pulls.plain } },
      {
        label: "Wharf's warm pull-through speed ÷ its plain pull speed (plain s ÷ warm s)",
        unit: 'ratio',
        values: { value: pulls.plainWarmRatio },
        target: '≥ 1.0',
      },
    );
  }

  if (context.concurrentGets) {
    cacheRows.push(
      {
        label: `${concurrentClients} simultaneous cold GETs of one ${context.sharedBlobSizeLabel} blob: upstream GETs`,
        unit: 'count',
        values: byCache(concurrent, 'transfers'),
        target: 'Wharf = 1',
      },
      {
        label: `${concurrentClients} simultaneous cold GETs: time until the last one ends`,
        unit: 's',
        values: byCache(concurrent, 'seconds'),
      },
    );
  }

  cacheRows.push({ label: 'resident memory, max during these workloads', unit: 'MiB', values: peaks });

  return { cacheRows, referenceRows };
}
