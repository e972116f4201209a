// Compares Wharf with the CNCF Distribution registry on loopback: blob GET throughput, request rates
// and resident memory. Run `npm run build` first. Usage: node bench/run.mjs [--rounds N]
// [--blob-size SIZE] [--duration SECONDS]. Prints a table and writes docs/benchmarks.md.
import console from 'node:console';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { killRunningTools } from './processes.mjs';
import { distributionBinaryPath, registrySpecs, startRegistry } from './registries.mjs';
import { formatTextTable, writeMarkdownReport } from './report.mjs';
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
  sampleMaxResident,
  toolVersion,
  writeRandomFile,
  wrkPath,
} from './workloads.mjs';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));
const wharfMainPath = join(repositoryRoot, 'dist', 'src', 'main.js');
const reportPath = join(repositoryRoot, 'docs', 'benchmarks.md');

/** Upper bound of a whole run, after which the harness stops the registries and exits with code 1. */
const runTimeoutMs = 60 * 60 * 1000;
/** Time the registries get to settle after start before the idle memory reading. */
const idleSettleMs = 2_000;
const maxRounds = 100;
const maxDurationSeconds = 300;
const sizeUnits = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const maxBlobSize = 8 * sizeUnits.GiB;

const usage = `Usage: node bench/run.mjs [--rounds N] [--blob-size SIZE] [--duration SECONDS]

  --rounds N           rounds of each workload per registry, 1 to ${maxRounds} (default 5)
  --blob-size SIZE     size of the blob for the blob GET workload, such as 256MiB or 1GiB,
                       at most 8GiB (default 256MiB)
  --duration SECONDS   length of each wrk run in seconds, 1 to ${maxDurationSeconds} (default 10)

Needs dist/src/main.js from \`npm run build\` and /usr/bin/docker-registry (Debian package
docker-registry). Uses wrk (package wrk) and ab (package apache2-utils) when installed.
Prints a table and writes docs/benchmarks.md.`;

/** Parses a size such as `256MiB`, `1GiB` or `1048576` into bytes. */
function parseSize(text) {
  const match = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(text);

  if (!match) {
    return undefined;
  }

  return Number(match[1]) * sizeUnits[match[2] ?? 'B'];
}

function parseIntegerOption(name, text, min, max) {
  const value = Number(text);

  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`invalid --${name} ${text}: expected a whole number from ${min} to ${max}`);
  }

  return value;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      'blob-size': { type: 'string', default: '256MiB' },
      duration: { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
  });
  const blobSize = parseSize(values['blob-size']);

  if (blobSize === undefined || blobSize < 1 || blobSize > maxBlobSize) {
    throw new Error(
      `invalid --blob-size ${values['blob-size']}: expected a size from 1 byte to 8GiB, such as 256MiB or 1GiB`,
    );
  }

  return {
    help: values.help,
    rounds: parseIntegerOption('rounds', values.rounds, 1, maxRounds),
    durationSeconds: parseIntegerOption('duration', values.duration, 1, maxDurationSeconds),
    blobSize,
    blobSizeLabel: values['blob-size'],
  };
}

/** Returns registries in the order of this round, so that neither always goes first. */
function roundOrder(registries, round) {
  return round % 2 === 0 ? registries : [...registries].reverse();
}

/** Runs `measure(registry)` for every round on every registry and returns the figures by registry name. */
async function runRounds(registries, rounds, label, measure) {
  const values = Object.fromEntries(registries.map((registry) => [registry.name, []]));

  for (let round = 0; round < rounds; round++) {
    for (const registry of roundOrder(registries, round)) {
      const value = await measure(registry);

      values[registry.name].push(value);
      console.log(`${label}, round ${round + 1}, ${registry.name}: ${value.toFixed(1)}`);
    }
  }

  return values;
}

/**
 * Wraps `measure` so that the resident memory of the registry is sampled while it runs. The maximum
 * per registry accumulates in `peaks`, in KiB.
 */
function withMemorySampling(peaks, measure) {
  return async (registry) => {
    const stopSampling = sampleMaxResident(registry.pid);

    try {
      return await measure(registry);
    } finally {
      peaks[registry.name] = Math.max(peaks[registry.name] ?? 0, stopSampling());
    }
  };
}

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

/** Turns KiB figures by registry name into a table row in MiB. */
function memoryRow(label, kibByName) {
  const values = Object.fromEntries(Object.entries(kibByName).map(([name, kib]) => [name, [kib / 1024]]));

  return { label, unit: 'MiB', values };
}

async function collectVersions() {
  return [
    `node ${process.version}`,
    `docker-registry: ${await toolVersion(distributionBinaryPath, ['--version'])}`,
    `wrk: ${await toolVersion(wrkPath, ['-v'])}`,
    `ab: ${await toolVersion(abPath, ['-V'])}`,
    `curl: ${await toolVersion(curlPath, ['--version'])}`,
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

function checkPrerequisites() {
  const missing = [];

  if (!existsSync(wharfMainPath)) {
    missing.push(`${wharfMainPath} not found: run \`npm run build\` first.`);
  }

  if (!existsSync(distributionBinaryPath)) {
    missing.push(`${distributionBinaryPath} not found: install the Debian package docker-registry.`);
  }

  if (!existsSync(curlPath)) {
    missing.push(`${curlPath} not found: install the Debian package curl.`);
  }

  return missing;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));

  if (options.help) {
    console.log(usage);

    return;
  }

  const missing = checkPrerequisites();

  if (missing.length > 0) {
    console.error(missing.join('\n'));
    process.exitCode = 1;

    return;
  }

  resources.workDirectory = await mkdtemp(join(tmpdir(), 'wharf-bench-'));

  const blobPath = join(resources.workDirectory, 'blob.bin');

  console.log(`Writing ${options.blobSizeLabel} of random data to ${blobPath}`);

  const blobDigest = await writeRandomFile(blobPath, options.blobSize);

  for (const spec of registrySpecs(wharfMainPath)) {
    const registry = await startRegistry(spec);

    resources.registries.push(registry);
    console.log(`${registry.name} listens on ${registry.url} (pid ${registry.pid})`);
  }

  const registries = resources.registries;

  await sleep(idleSettleMs);

  const idleKiB = Object.fromEntries(
    registries.map((registry) => [registry.name, readResidentKiB(registry.pid)]),
  );
  const imageUrls = {};

  for (const registry of registries) {
    await pushFileBlob(registry, 'bench/large', blobPath, blobDigest, options.blobSize);
    imageUrls[registry.name] = await pushSmallImage(registry, 'bench/small', 'v1');
  }

  const blobGetPeaks = {};
  const blobGetValues = await runRounds(
    registries,
    options.rounds,
    'blob GET MB/s',
    withMemorySampling(blobGetPeaks, (registry) =>
      measureBlobGet(`${registry.url}/v2/bench/large/blobs/${blobDigest}`, options.blobSize),
    ),
  );
  const loadPeaks = {};
  const requestRows = await runRequestWorkloads(registries, imageUrls, options, loadPeaks);
  const rows = [
    { label: `blob GET (${options.blobSizeLabel}, curl)`, unit: 'MB/s', values: blobGetValues },
    ...requestRows,
    memoryRow('resident memory, idle after start', idleKiB),
    memoryRow('resident memory, max during blob GETs', blobGetPeaks),
  ];

  if (Object.keys(loadPeaks).length > 0) {
    rows.push(memoryRow('resident memory, max during request load', loadPeaks));
  }

  await cleanUp();

  const report = {
    date: new Date().toISOString(),
    cores: cpus().length,
    memoryGiB: (totalmem() / sizeUnits.GiB).toFixed(1),
    platform: `${type()} ${release()}`,
    command: ['node bench/run.mjs', ...process.argv.slice(2)].join(' '),
    versions: await collectVersions(),
    rounds: options.rounds,
    durationSeconds: options.durationSeconds,
    blobSizeLabel: `${options.blobSizeLabel} (${options.blobSize} bytes)`,
    rows,
  };

  console.log(`\n${formatTextTable(rows)}\n`);
  await writeMarkdownReport(reportPath, report);
  console.log(`Wrote ${reportPath}`);
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
