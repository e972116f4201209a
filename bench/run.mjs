// Compares Wharf with the CNCF Distribution registry on loopback: blob GET throughput, request rates,
// skopeo push and pull, pull-through caching, catalog and tags list latency with many repositories,
// and resident memory. Run `npm run build` first. Usage: node bench/run.mjs [options]; --help lists
// them. Prints the tables and writes docs/benchmarks.md.
import console from 'node:console';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath } from 'node:url';

import { bytesPerGiB, parseOptions, usage, workloadNames } from './options.mjs';
import { killRunningTools } from './processes.mjs';
import { concurrentClients, pullThroughImageLayers, runPullThroughWorkloads } from './pull-through.mjs';
import {
  distributionBinaryPath,
  distributionProxySpec,
  registrySpecs,
  startRegistry,
  upstreamSpec,
} from './registries.mjs';
import { comparisonTable, figureTable, formatTextTable, writeMarkdownReport } from './report.mjs';
import { cpuUnit, memoryRow, runRounds, withCpuMeasurement, withMemorySampling } from './rounds.mjs';
import {
  catalogPageSize,
  latencyTimeLimitMs,
  runScaleWorkload,
  scaleTagsPerRepository,
  seedConcurrency,
} from './scale.mjs';
import { prepareSkopeo, runSkopeoWorkloads, skopeoPath } from './skopeo.mjs';
import {
  abPath,
  checkUrl,
  curlPath,
  measureAbHead,
  measureBlobGet,
  measureWrk,
  ociManifestMediaType,
  pushFileBlob,
  pushSmallImage,
  readResidentKiB,
  toolVersion,
  writeRandomFile,
  wrkPath,
} from './workloads.mjs';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));
const defaultWharfMainPath = join(repositoryRoot, 'dist', 'src', 'main.js');
const defaultOutputPath = join(repositoryRoot, 'docs', 'benchmarks.md');

/** Upper bound of a whole run, after which the harness stops the registries and exits with code 1. */
const runTimeoutMs = 2 * 60 * 60 * 1000;
/** Time the registries get to settle after start before the idle memory reading. */
const idleSettleMs = 2_000;

const requestWorkloads = [
  {
    label: 'manifest GET by tag',
    url: (urls) => urls.manifestByTag,
    method: 'GET',
    headers: [`Accept: ${ociManifestMediaType}`],
  },
  {
    label: 'manifest GET by digest',
    url: (urls) => urls.manifestByDigest,
    method: 'GET',
    headers: [`Accept: ${ociManifestMediaType}`],
  },
  { label: 'tags list GET', url: (urls) => urls.tagsList, method: 'GET', headers: [] },
  { label: 'blob HEAD', url: (urls) => urls.blob, method: 'HEAD', headers: [] },
];

/** Runs the wrk and ab workloads, or returns skipped rows naming the Debian package of a missing tool. */
async function runRequestWorkloads(registries, imageUrls, options, peaks) {
  const rows = [];

  for (const workload of requestWorkloads) {
    const isHead = workload.method === 'HEAD';
    const toolPath = isHead ? abPath : wrkPath;
    const debianPackage = isHead ? 'apache2-utils' : 'wrk';
    const row = { label: `${workload.label} (32 connections)`, unit: 'requests/s', values: {} };

    if (!existsSync(toolPath)) {
      row.skipped = `${toolPath} not found; install the Debian package ${debianPackage}`;
      console.log(`${workload.label}: skipped, ${row.skipped}`);
      rows.push(row);
      continue;
    }

    for (const registry of registries) {
      await checkUrl(workload.url(imageUrls[registry.name]), workload.method, workload.headers);
    }

    const measure = withMemorySampling(peaks, (registry) => {
      const url = workload.url(imageUrls[registry.name]);

      return isHead ? measureAbHead(url) : measureWrk(url, workload.headers, options.durationSeconds);
    });

    row.values = await runRounds(registries, options.rounds, workload.label, measure);
    rows.push(row);
  }

  return rows;
}

async function collectVersions() {
  return [
    `node ${process.version}`,
    `docker-registry: ${await toolVersion(distributionBinaryPath, ['--version'])}`,
    `wrk: ${await toolVersion(wrkPath, ['-v'])}`,
    `ab: ${await toolVersion(abPath, ['-V'])}`,
    `curl: ${await toolVersion(curlPath, ['--version'])}`,
    `skopeo: ${await toolVersion(skopeoPath, ['--version'])}`,
  ];
}

/** Processes and directories that `cleanUp` removes, filled in as the run creates them. */
const resources = { registries: [], workDirectory: undefined };
let cleanUpPromise;

/** Kills running tools, stops the registries by pid and removes every temporary directory. Safe to call twice. */
function cleanUp() {
  cleanUpPromise ??= (async () => {
    killRunningTools();
    await Promise.all(resources.registries.map((registry) => registry.dispose()));

    if (resources.workDirectory !== undefined) {
      await rm(resources.workDirectory, { recursive: true, force: true });
    }
  })();

  return cleanUpPromise;
}

function checkPrerequisites(options) {
  const missing = [];

  if (!existsSync(options.wharfMainPath)) {
    missing.push(`${options.wharfMainPath} not found: run \`npm run build\` first or pass --wharf-main.`);
  }

  if (!existsSync(distributionBinaryPath)) {
    missing.push(`${distributionBinaryPath} not found: install the Debian package docker-registry.`);
  }

  if (!existsSync(curlPath)) {
    missing.push(`${curlPath} not found: install the Debian package curl.`);
  }

  return missing;
}

/**
 * Removes the skopeo-based workloads from `options.workloads` when skopeo is missing, and returns a
 * line for each workload that this run leaves out, for the report.
 */
function selectWorkloads(options) {
  const skipped = workloadNames
    .filter((name) => !options.workloads.includes(name))
    .map((name) => `The ${name} workload: not selected by --workloads in this run.`);
  const needsSkopeo = ['skopeo', 'pull-through'];

  if (!existsSync(skopeoPath)) {
    for (const name of needsSkopeo.filter((workload) => options.workloads.includes(workload))) {
      skipped.push(`The ${name} workload: ${skopeoPath} not found; install the Debian package skopeo.`);
    }

    options.workloads = options.workloads.filter((workload) => !needsSkopeo.includes(workload));
  }

  return skipped;
}

/**
 * Returns the CPU's model as Node reports it and, on Linux, the first core's clock from /proc/cpuinfo.
 * Results depend on both, so the page names them.
 */
function describeCpu() {
  const model = cpus()[0]?.model ?? 'unknown model';

  try {
    const megahertz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];

    return megahertz === undefined ? model : `${model} at ${Math.round(Number(megahertz))} MHz`;
  } catch {
    return model;
  }
}

/**
 * Starts Wharf and Distribution, and when a pull-through workload runs, first the upstream and
 * Distribution as a pull-through cache in front of it.
 */
async function startRegistries(options) {
  let upstream;
  let distributionProxy;

  if (options.workloads.includes('pull-through') || options.workloads.includes('concurrent-gets')) {
    upstream = await startRegistry(upstreamSpec());
    resources.registries.push(upstream);
    console.log(`upstream Distribution listens on ${upstream.url} (pid ${upstream.pid})`);
    distributionProxy = await startRegistry(distributionProxySpec(upstream.url));
    resources.registries.push(distributionProxy);
    console.log(
      `Distribution as a pull-through cache listens on ${distributionProxy.url} (pid ${distributionProxy.pid})`,
    );
  }

  const registries = [];

  for (const spec of registrySpecs(options.wharfMainPath, upstream?.url)) {
    const registry = await startRegistry(spec);

    resources.registries.push(registry);
    registries.push(registry);
    console.log(`${registry.name} listens on ${registry.url} (pid ${registry.pid})`);
  }

  return { registries, upstream, distributionProxy };
}

/**
 * Runs the blob GET rounds and returns the throughput row, the registries' CPU time row and the max
 * resident memory by registry name.
 */
async function runBlobGetWorkload(registries, options) {
  const blobPath = join(resources.workDirectory, 'blob.bin');

  console.log(`Writing ${options.blobSizeLabel} of random data to ${blobPath}`);

  const blobDigest = await writeRandomFile(blobPath, options.blobSize);

  for (const registry of registries) {
    await pushFileBlob(registry, 'bench/large', blobPath, blobDigest, options.blobSize);
  }

  await rm(blobPath);

  const peaks = {};
  const cpu = {};
  const values = await runRounds(
    registries,
    options.rounds,
    'blob GET MB/s',
    withMemorySampling(
      peaks,
      withCpuMeasurement(cpu, options.blobSize, (registry) =>
        measureBlobGet(`${registry.url}/v2/bench/large/blobs/${blobDigest}`, options.blobSize),
      ),
    ),
  );
  const label = `blob GET (${options.blobSizeLabel}, curl)`;

  return {
    row: { label, unit: 'MB/s', values },
    cpuRow: { label, unit: cpuUnit, values: cpu },
    peaks,
  };
}

/** Runs every selected workload and returns the report's tables and the shortest scale series. */
async function runWorkloads(options, { registries, upstream, distributionProxy }) {
  const selected = (name) => options.workloads.includes(name);
  const throughputRows = [];
  const cpuRows = [];
  const memoryRows = [];
  const tables = [];
  let scaleMinRequests;

  await sleep(idleSettleMs);

  const idleKiB = Object.fromEntries(
    registries.map((registry) => [registry.name, readResidentKiB(registry.pid)]),
  );

  memoryRows.push(memoryRow('resident memory, idle after start', idleKiB));

  if (selected('blob-get')) {
    const { row, cpuRow, peaks } = await runBlobGetWorkload(registries, options);

    throughputRows.push(row);
    cpuRows.push(cpuRow);
    memoryRows.push(memoryRow('resident memory, max during blob GETs', peaks));
  }

  if (selected('requests')) {
    const imageUrls = {};
    const peaks = {};

    for (const registry of registries) {
      imageUrls[registry.name] = await pushSmallImage(registry, 'bench/small', 'v1');
    }

    throughputRows.push(...(await runRequestWorkloads(registries, imageUrls, options, peaks)));

    if (Object.keys(peaks).length > 0) {
      memoryRows.push(memoryRow('resident memory, max during request load', peaks));
    }
  }

  const skopeoOptions = await prepareSkopeo(resources.workDirectory);

  if (selected('skopeo')) {
    const {
      rows,
      cpuRows: skopeoCpuRows,
      peaks,
    } = await runSkopeoWorkloads(registries, {
      rounds: options.rounds,
      workDirectory: resources.workDirectory,
      skopeoOptions,
      images: skopeoImages(options),
    });

    throughputRows.push(...rows);
    cpuRows.push(...skopeoCpuRows);
    memoryRows.push(memoryRow('resident memory, max during skopeo push and pull', peaks));
  }

  if (throughputRows.length > 0) {
    tables.push(comparisonTable('Throughput and request rates', throughputRows));
  }

  if (cpuRows.length > 0) {
    tables.push(comparisonTable('Registry CPU time per GB moved', cpuRows));
  }

  if (selected('pull-through') || selected('concurrent-gets')) {
    const { cacheRows, referenceRows } = await runPullThroughWorkloads({
      wharf: registries.find((registry) => registry.name === 'Wharf'),
      upstream,
      distributionProxy,
      workDirectory: resources.workDirectory,
      skopeoOptions,
      rounds: options.rounds,
      cores: cpus().length,
      pullThrough: selected('pull-through'),
      concurrentGets: selected('concurrent-gets'),
      imageSize: options.imageSize,
      imageSizeLabel: options.imageSizeLabel,
      sharedBlobSize: options.sharedBlobSize,
      sharedBlobSizeLabel: options.sharedBlobSizeLabel,
    });

    tables.push(
      comparisonTable(
        'Pull-through caches (Wharf, and Distribution in proxy mode, each in front of the upstream Distribution)',
        cacheRows,
      ),
    );

    if (referenceRows.length > 0) {
      tables.push(figureTable('Direct and plain pulls, for the pull-through ratios', referenceRows));
    }
  }

  if (selected('scale')) {
    const { rows, minRequests, peaks } = await runScaleWorkload(registries, {
      rounds: options.rounds,
      repositories: options.scaleRepositories,
      requests: options.scaleRequests,
    });

    scaleMinRequests = minRequests;
    tables.push(
      comparisonTable(
        `Scale (${options.scaleRepositories} repositories × ${scaleTagsPerRepository} tags)`,
        rows,
      ),
    );
    memoryRows.push(memoryRow('resident memory, max during scale seeding and requests', peaks));
  }

  tables.push(comparisonTable('Resident memory', memoryRows));

  return { tables, scaleMinRequests };
}

function skopeoImages(options) {
  return [
    { label: `${options.imageSizeLabel}, 3 layers`, size: options.imageSize, layers: 3 },
    { label: `${options.largeImageSizeLabel}, 1 layer`, size: options.largeImageSize, layers: 1 },
  ];
}

async function main() {
  const options = parseOptions(process.argv.slice(2), { defaultWharfMainPath, defaultOutputPath });

  if (options.help) {
    console.log(usage({ defaultWharfMainPath, defaultOutputPath }));

    return;
  }

  const missing = checkPrerequisites(options);

  if (missing.length > 0) {
    console.error(missing.join('\n'));
    process.exitCode = 1;

    return;
  }

  const skippedWorkloads = selectWorkloads(options);

  resources.workDirectory = await mkdtemp(join(tmpdir(), 'wharf-bench-'));

  const started = await startRegistries(options);
  const { tables, scaleMinRequests } = await runWorkloads(options, started);

  await cleanUp();

  const report = {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: describeCpu(),
    memoryGiB: (totalmem() / bytesPerGiB).toFixed(1),
    platform: `${type()} ${release()}`,
    command: ['node bench/run.mjs', ...process.argv.slice(2)].join(' '),
    versions: await collectVersions(),
    rounds: options.rounds,
    workloads: options.workloads,
    skippedWorkloads,
    parameters: {
      durationSeconds: options.durationSeconds,
      blobSizeLabel: `${options.blobSizeLabel} (${options.blobSize} bytes)`,
      skopeoVersion: await toolVersion(skopeoPath, ['--version']),
      skopeoImages: skopeoImages(options),
      pullThroughImageLabel: options.imageSizeLabel,
      pullThroughLayers: pullThroughImageLayers,
      sharedBlobSizeLabel: options.sharedBlobSizeLabel,
      concurrentClients,
      scale: {
        repositories: options.scaleRepositories,
        tags: scaleTagsPerRepository,
        concurrency: seedConcurrency,
        requests: options.scaleRequests,
        pageSize: catalogPageSize,
        timeLimitSeconds: latencyTimeLimitMs / 1000,
        minRequests: scaleMinRequests,
      },
    },
    tables,
  };

  console.log(`\n${tables.map((table) => formatTextTable(table)).join('\n\n')}\n`);
  // The analysis describes the page in the repository, so only that page gets it.
  await writeMarkdownReport(options.outputPath, report, {
    withAnalysis: options.outputPath === defaultOutputPath,
  });
  console.log(`Wrote ${options.outputPath}`);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`Received ${signal}; stopping the registries and removing temporary directories.`);
    void cleanUp().finally(() => process.exit(130));
  });
}

setTimeout(() => {
  console.error(`The run did not finish within ${runTimeoutMs / 60_000} minutes; stopping.`);
  void cleanUp().finally(() => process.exit(1));
}, runTimeoutMs).unref();

try {
  await main();
} catch (error) {
  console.error(`Benchmark failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
