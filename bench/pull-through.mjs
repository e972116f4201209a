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
 * and Wharf used meanwhile. The machine's figure includes skopeo, the upstream and the harness.
 */
async function measurePull(context, pull) {
  const machineStart = readMachineBusySeconds();
  const wharfStart = readProcessCpuSeconds(context.wharf.pid);
  const seconds = await pull();

  return {
    seconds,
    machineCpu: readMachineBusySeconds() - machineStart,
    wharfCpu: readProcessCpuSeconds(context.wharf.pid) - wharfStart,
  };
}

/**
 * Runs one round of the pull-through comparison on a new random image pushed to the upstream. It
 * times a direct pull from the upstream, a cold pull through Wharf and the warm pull right after, in
 * an order that alternates by round. Then it pushes the same image to Wharf and times a plain pull.
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

  await pushImage(skopeoOptions, layoutDirectory, image, upstream, repository);

  const pullDirect = async () => {
    const direct = await measurePull(context, () => timePull(context, upstream, repository, image));

    figures.direct.push(direct.seconds);
    figures.directCpu.push(direct.machineCpu);
    await sleep(accessLogSettleMs);
  };

  const pullColdAndWarm = async () => {
    accessLog.mark();

    const cold = await measurePull(context, () =>
      timePull(context, wharf, `${pullThroughPrefix}/${repository}`, image),
    );

    figures.cold.push(cold.seconds);
    figures.coldCpu.push(cold.machineCpu);
    figures.coldWharfCpu.push(cold.wharfCpu);
    figures.coldBlobGets.push(await accessLog.countBlobGets(repository, blobDigests));
    accessLog.mark();
    figures.warm.push(await timePull(context, wharf, `${pullThroughPrefix}/${repository}`, image));
    figures.warmBlobGets.push(await accessLog.countBlobGets(repository, blobDigests));
  };

  if (round % 2 === 0) {
    await pullDirect();
    await pullColdAndWarm();
  } else {
    await pullColdAndWarm();
    await pullDirect();
  }

  // Pushed only now, because Wharf stores blobs by digest and would otherwise have them before the cold pull.
  await pushImage(skopeoOptions, layoutDirectory, image, wharf, `bench/plain-pull-${round + 1}`);
  figures.plain.push(await timePull(context, wharf, `bench/plain-pull-${round + 1}`, image));
  await rm(layoutDirectory, { recursive: true, force: true });

  figures.coldRatio.push(figures.cold.at(-1) / figures.direct.at(-1));
  figures.coldRatioFloor.push(figures.coldCpu.at(-1) / context.cores / figures.direct.at(-1));
  figures.plainWarmRatio.push(figures.plain.at(-1) / figures.warm.at(-1));
  console.log(
    `pull-through, round ${round + 1}: direct ${figures.direct.at(-1).toFixed(2)} s, cold ` +
      `${figures.cold.at(-1).toFixed(2)} s, warm ${figures.warm.at(-1).toFixed(2)} s, plain ` +
      `${figures.plain.at(-1).toFixed(2)} s; CPU s of the machine: direct ${figures.directCpu.at(-1).toFixed(2)}, ` +
      `cold ${figures.coldCpu.at(-1).toFixed(2)} (Wharf ${figures.coldWharfCpu.at(-1).toFixed(2)}); ` +
      `upstream blob GETs: cold ${figures.coldBlobGets.at(-1)}, ` +
      `warm ${figures.warmBlobGets.at(-1)}`,
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
 * Runs one round of simultaneous cold GETs: pushes a new random blob to the upstream, starts 20 GETs of it
 * through Wharf at once, checks every body against the digest and counts the upstream's GETs of the blob.
 */
async function runConcurrentGetRound(context, accessLog, round, figures) {
  const { wharf, upstream, workDirectory } = context;
  const size = context.sharedBlobSize;
  const repository = `bench/concurrent-${round + 1}`;
  const blobPath = join(workDirectory, 'concurrent-blob.bin');
  const digest = await writeRandomFile(blobPath, size);

  await pushFileBlob(upstream, repository, blobPath, digest, size);
  await rm(blobPath, { force: true });

  const url = `${wharf.url}/v2/${pullThroughPrefix}/${repository}/blobs/${digest}`;
  // 60 s plus the time that the 20 downloads take at 10 MB/s in total.
  const timeoutMs = 60_000 + Math.ceil((concurrentClients * size) / 10_000);

  accessLog.mark();

  const start = performance.now();

  await Promise.all(
    Array.from({ length: concurrentClients }, () => downloadBlob(url, size, digest, timeoutMs)),
  );
  figures.seconds.push((performance.now() - start) / 1000);
  figures.transfers.push(await accessLog.countBlobGets(repository, [digest]));
  console.log(
    `${concurrentClients} simultaneous cold GETs, round ${round + 1}: ${figures.seconds.at(-1).toFixed(2)} s, ` +
      `${figures.transfers.at(-1)} upstream GETs of the blob`,
  );
}

/**
 * Runs the pull-through comparison and the simultaneous cold GETs for `context.rounds` rounds, as
 * selected by `context.pullThrough` and `context.concurrentGets`. Returns the rows of the pull-through
 * table, whose figures are in the `value` column.
 */
export async function runPullThroughWorkloads(context) {
  const accessLog = recordAccessLog(context.upstream);
  const pulls = {
    direct: [],
    cold: [],
    warm: [],
    plain: [],
    coldRatio: [],
    plainWarmRatio: [],
    directCpu: [],
    coldCpu: [],
    coldWharfCpu: [],
    coldRatioFloor: [],
    coldBlobGets: [],
    warmBlobGets: [],
  };
  const concurrent = { seconds: [], transfers: [] };
  const stopSampling = sampleMaxResident(context.wharf.pid);
  let peakKiB;

  try {
    for (let round = 0; context.pullThrough && round < context.rounds; round++) {
      await runPullThroughRound(context, accessLog, round, pulls);
    }

    for (let round = 0; context.concurrentGets && round < context.rounds; round++) {
      await runConcurrentGetRound(context, accessLog, round, concurrent);
    }
  } finally {
    peakKiB = stopSampling();
    accessLog.stop();
  }

  const rows = [];
  const imageLabel = `${context.imageSizeLabel} image`;

  if (context.pullThrough) {
    rows.push(
      { label: `direct pull from the upstream (${imageLabel})`, unit: 's', values: { value: pulls.direct } },
      { label: 'cold pull through Wharf', unit: 's', values: { value: pulls.cold } },
      { label: 'warm pull through Wharf, right after', unit: 's', values: { value: pulls.warm } },
      { label: 'plain pull of the image pushed to Wharf', unit: 's', values: { value: pulls.plain } },
      {
        label: 'cold ÷ direct',
        unit: 'ratio',
        values: { value: pulls.coldRatio },
        target: '≤ 1.15',
      },
      {
        label: 'CPU time of the machine during the direct pull',
        unit: 's',
        values: { value: pulls.directCpu },
      },
      {
        label: 'CPU time of the machine during the cold pull',
        unit: 's',
        values: { value: pulls.coldCpu },
      },
      { label: "Wharf's share of it", unit: 's', values: { value: pulls.coldWharfCpu } },
      {
        label: `lower bound of cold ÷ direct: cold pull's CPU time ÷ ${context.cores} cores ÷ direct pull time`,
        unit: 'ratio',
        values: { value: pulls.coldRatioFloor },
      },
      {
        label: 'plain ÷ warm (warm speed ÷ plain speed)',
        unit: 'ratio',
        values: { value: pulls.plainWarmRatio },
        target: '≥ 1.0',
      },
      {
        label: 'upstream blob GETs during the cold pull',
        unit: 'count',
        values: { value: pulls.coldBlobGets },
        target: `${pullThroughImageLayers + 1} (config and layers)`,
      },
      {
        label: 'upstream blob GETs during the warm pull',
        unit: 'count',
        values: { value: pulls.warmBlobGets },
        target: '0',
      },
    );
  }

  if (context.concurrentGets) {
    rows.push(
      {
        label: `${concurrentClients} simultaneous cold GETs of one ${context.sharedBlobSizeLabel} blob: upstream GETs`,
        unit: 'count',
        values: { value: concurrent.transfers },
        target: '1',
      },
      {
        label: `${concurrentClients} simultaneous cold GETs: time until the last one ends`,
        unit: 's',
        values: { value: concurrent.seconds },
      },
    );
  }

  rows.push({
    label: 'Wharf resident memory, max during these workloads',
    unit: 'MiB',
    values: { value: [peakKiB / 1024] },
  });

  return rows;
}
