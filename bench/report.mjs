import console from 'node:console';
import { readFile, writeFile } from 'node:fs/promises';
import { URL } from 'node:url';

import { wharfNodeFlags } from './registries.mjs';

/** Returns the median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);

  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Formats whole numbers such as counts as they are, and others with fewer decimals the larger they are. */
function formatNumber(value) {
  if (Number.isInteger(value) || value >= 100) {
    return value.toFixed(0);
  }

  if (value >= 10) {
    return value.toFixed(1);
  }

  return value.toFixed(2);
}

/** Formats the figures of one column as `median (min–max)`, or the single value when there is one. */
function formatFigures(values) {
  if (values === undefined || values.length === 0) {
    return '—';
  }

  if (values.length === 1) {
    return formatNumber(values[0]);
  }

  const min = Math.min(...values);
  const max = Math.max(...values);

  return `${formatNumber(median(values))} (${formatNumber(min)}–${formatNumber(max)})`;
}

/**
 * Formats the ratio of the medians of the table's ratio columns, such as Wharf ÷ Distribution, or a dash
 * when a column has no figures or the denominator's median is 0.
 */
function formatRatio(row, ratio) {
  const numerator = row.values[ratio.numerator];
  const denominator = row.values[ratio.denominator];

  if (!numerator?.length || !denominator?.length || median(denominator) === 0) {
    return '—';
  }

  return (median(numerator) / median(denominator)).toFixed(2);
}

/**
 * Builds a table of the Wharf and Distribution figures of each row, with the ratio of their medians. Rows
 * are `{ label, unit, values: { Wharf: [...], Distribution: [...] }, target?, skipped? }`.
 */
export function comparisonTable(heading, rows) {
  return {
    heading,
    columns: [
      { key: 'Wharf', title: 'Wharf' },
      { key: 'Distribution', title: 'Distribution' },
    ],
    ratio: { numerator: 'Wharf', denominator: 'Distribution', title: 'Wharf ÷ Distribution' },
    rows,
  };
}

/** Builds a table of one figure per row, which each row has in `values.value`. */
export function figureTable(heading, rows) {
  return { heading, columns: [{ key: 'value', title: 'Figure' }], rows };
}

function tableHeader(table) {
  const header = ['Workload', 'Unit', ...table.columns.map((column) => column.title)];

  if (table.ratio) {
    header.push(table.ratio.title);
  }

  if (table.rows.some((row) => row.target !== undefined)) {
    header.push('Target');
  }

  return header;
}

/** Turns a table's rows into cells. A skipped row carries its reason in the first figure column. */
function tableCells(table) {
  const hasTarget = table.rows.some((row) => row.target !== undefined);

  return table.rows.map((row) => {
    const cells = [row.label, row.unit];

    if (row.skipped) {
      cells.push(`skipped: ${row.skipped}`, ...table.columns.slice(1).map(() => ''));
    } else {
      cells.push(...table.columns.map((column) => formatFigures(row.values[column.key])));
    }

    if (table.ratio) {
      cells.push(row.skipped ? '' : formatRatio(row, table.ratio));
    }

    if (hasTarget) {
      cells.push(row.target ?? '');
    }

    return cells;
  });
}

/** Formats a table as plain text with aligned columns under its heading. */
export function formatTextTable(table) {
  const header = tableHeader(table);
  const lines = [header, ...tableCells(table)];
  const widths = header.map((_, column) => Math.max(...lines.map((cells) => cells[column].length)));
  const text = lines
    .map((cells) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');

  return `${table.heading}\n\n${text}`;
}

function formatMarkdownTable(table) {
  const header = tableHeader(table);
  const lines = [header, header.map(() => '---'), ...tableCells(table)];

  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Returns the method paragraphs of the workloads that ran, as Markdown list items. */
function methodItems(report) {
  const { parameters, workloads } = report;
  const items = [
    `Both registries run on 127.0.0.1 with fresh temporary storage on the same file system, started by
  the harness and stopped at the end. Wharf runs with the V8 flags of \`npm start\`
  (\`${wharfNodeFlags.join(' ')}\`), \`log.level: warn\` and no metrics listener,
  and with one pull-through upstream (prefix \`up\`) when a pull-through workload runs. Distribution
  runs with \`log.level: error\`, the access log off and \`storage.delete.enabled: true\`.`,
    `Each workload runs against the two registries in turn, and the registry that goes first
  alternates from round to round. MB/s is 10^6 bytes per second.`,
  ];

  if (workloads.includes('blob-get')) {
    items.push(`Blob GET: one blob of ${parameters.blobSizeLabel} of random data is pushed once to each
  registry (POST, then a monolithic PUT with \`curl -T\`). Each round downloads it once with
  \`curl -s -o /dev/null -w '%{time_total} %{size_download}'\` and checks the byte count.`);
  }

  if (workloads.includes('requests')) {
    items.push(`Request rates: a small image (config, one 4 KiB layer, OCI image manifest) is pushed
  under a tag. Manifest GETs by tag and by digest and the tags list use
  \`wrk -t2 -c32 -d${parameters.durationSeconds}s\`, with an \`Accept\` header for the OCI image
  manifest on manifest requests. Blob HEAD uses \`ab -k -i -n 20000 -c 32\`, whose 32 connections
  are kept alive like wrk's, so its rate is comparable with the wrk rows. Every URL is checked for a
  200 response first, and a run with error responses, socket errors or, for ab, no keep-alive
  requests fails the harness.`);
  }

  if (workloads.includes('skopeo')) {
    const images = parameters.skopeoImages
      .map((image) => `${image.label} (${image.size} bytes of layers)`)
      .join(' and ');

    items.push(`skopeo push and pull (${parameters.skopeoVersion}): images of ${images}. Each round
  and registry gets a new image, written as an OCI image layout on disk. Every layer is a blob of
  random bytes with the media type \`application/vnd.oci.image.layer.v1.tar\`, not a tar archive,
  because neither registry inspects layers. A small OCI config and an OCI image manifest complete
  the image. The
  new image goes to a new repository, so each push uploads every blob. The push is
  \`skopeo copy --dest-tls-verify=false --preserve-digests oci:DIR:v1 docker://127.0.0.1:PORT/REPO:v1\`
  and the pull is \`skopeo copy --src-tls-verify=false --preserve-digests
  --dest-oci-accept-uncompressed-layers docker://... oci:NEWDIR:v1\` into a new directory, with a
  trust policy file in the work directory. \`--preserve-digests\` and
  \`--dest-oci-accept-uncompressed-layers\` keep skopeo from compressing the layers, so the bytes
  sent are the image's. skopeo verifies every blob digest, and the harness checks the pulled layout's
  manifest digest and blob sizes. MB/s is the image's bytes (layers, config and manifest) divided by
  the wall-clock time of the skopeo process, whose start and, for pulls, writing the layout to disk
  count too.`);
  }

  if (workloads.includes('pull-through') || workloads.includes('concurrent-gets')) {
    items.push(`Pull-through caches: a second Distribution instance, the upstream, runs on 127.0.0.1
  with \`log.level: info\` and its access log on. Two caches run in front of it: Wharf, which has it
  as upstream \`up\` with the default options (\`tagTtl: 5m\`, \`timeout: 30s\`), and a third
  Distribution instance in proxy mode (\`proxy.remoteurl\` set to the upstream, \`log.level: error\`),
  its pull-through cache. The Distribution column of the pull-through table is that instance.`);
  }

  if (workloads.includes('pull-through')) {
    items.push(`Pull-through: each round pushes a new random ${parameters.pullThroughImageLabel} image
  of ${parameters.pullThroughLayers} layers of random bytes to a new upstream repository, so that
  neither cache has seen its blobs. Each pull is \`skopeo copy --preserve-digests\` into a new OCI
  image layout on disk. The round times a direct pull from the upstream and, for each cache, a cold
  pull (\`docker://127.0.0.1:WHARF/up/REPO:v1\` or \`docker://127.0.0.1:PROXY/REPO:v1\`). The warm
  pull of the same image follows 0.5 s after the cold one, once the harness has read the upstream's
  access log. The order of the direct pull and the two caches rotates by round. Last, the same image
  is pushed to a new Wharf repository and pulled from there (the plain pull); that push comes after
  the cold pull, because Wharf stores blobs by digest. The ratios are per round, of seconds: cold ÷
  the direct pull of the same round, and the plain pull's seconds ÷ Wharf's warm pull's, which is the
  warm pull's speed ÷ the plain pull's. The upstream blob GETs are the access log lines of GETs with
  status 200 or 206 of the image's config and layers during the cold and the warm pull. The CPU time
  of the machine is the busy time of all cores from the start to the end of a pull, which covers
  skopeo, the upstream, the caches and the harness. It comes from \`/proc/stat\`, in ticks of 10 ms,
  without idle, iowait and steal time. The cache's share is its own CPU time, summed over its threads
  from \`/proc/<pid>/task/<tid>/schedstat\`. The lower bound is the cold pull's CPU time ÷ the cores
  ÷ the direct pull's time, per round: a cold pull that needs that much CPU cannot take less time
  even with every core busy throughout. This bound divided by the measured cold ÷ direct is the share
  of the cold pull during which the cores were busy. Every row is a median over the rounds on its
  own, so a share and its total may come from different rounds.`);
  }

  if (workloads.includes('concurrent-gets')) {
    items.push(`Simultaneous cold GETs: each round takes the caches in an order that alternates by
  round. For each, it pushes a new random blob of ${parameters.sharedBlobSizeLabel} to a new upstream
  repository, then starts ${parameters.concurrentClients} GETs of the blob from the cache at once
  with Node's fetch. The harness hashes each body as it arrives and fails unless every one has the
  full size and the digest. The upstream GETs are the upstream's access log lines of GETs of that
  blob path with status 200 or 206, read 0.5 s after the last download. The time runs from the start of the GETs to
  the end of the last one, and includes the harness hashing 20 streams on the same cores.`);
  }

  if (workloads.includes('scale')) {
    const scale = parameters.scale;
    const catalogLastText =
      scale.repositories > scale.pageSize
        ? `a random repository with at least ${scale.pageSize} after it`
        : 'the first repository, because there are too few for a full page';

    items.push(`Scale: each registry is seeded through the registry API with ${scale.repositories}
  repositories of ${scale.tags} tags. One small config blob and one 1 KiB layer blob are uploaded
  once to \`bench/scale-source\`; each repository mounts both
  (\`POST /v2/REPO/blobs/uploads/?mount=DIGEST&from=bench/scale-source\`, 201 expected) and puts
  ${scale.tags} OCI image manifests that differ by one annotation, so every manifest is distinct.
  Seeding runs ${scale.concurrency} repositories at a time with Node's fetch, which keeps connections
  alive; its time is information, measured once per registry. Then each round sends
  ${scale.requests} catalog requests (\`GET /v2/_catalog?n=100&last=NAME\`, NAME ${catalogLastText}) and ${scale.requests} tags list requests
  (\`GET /v2/REPO/tags/list\`, REPO random) one after another on one keep-alive connection, the same
  random requests to both registries. Latency runs from sending a request to the end of its body.
  p50 and p99 are nearest-rank percentiles of one series, and the table shows their median over the
  rounds. Every response is checked: 200, the expected repository names in order, the 10 tags. A series
  stops after ${scale.timeLimitSeconds} s; the shortest series of this run had ${scale.minRequests}
  requests.`);
  }

  if (workloads.includes('blob-get') || workloads.includes('skopeo')) {
    items.push(`CPU time per GB is the time the registry process spent on a CPU, summed over its
  threads from \`/proc/<pid>/task/<tid>/schedstat\` before and after each blob GET, push or pull,
  divided by the bytes moved in units of 10^9. It shows how much of the machine's cores a registry
  takes from the client running beside it. Each request also has a fixed cost, so the figure is
  higher for small blobs and images, and rows of different sizes do not compare.`);
  }

  items.push(`Resident memory is VmRSS from \`/proc/<pid>/status\` of the registry process: once when
  idle after start, and sampled every 200 ms during each workload, of which the maximum is shown.
  The pull-through table's memory row is each cache's over the pull-through workloads that ran, image
  and blob generation included. Everywhere else, Distribution is the instance without proxy mode.`);

  return items;
}

/** Returns what this page does not show: workloads left out of this run, and what no workload covers. */
function notMeasuredItems(report) {
  return [
    ...report.skippedWorkloads,
    'Authentication: every workload runs with both registries open (no `auth` config).',
    'TLS: every request is plain HTTP on loopback.',
    'An upstream over a network with latency or limited bandwidth: the pull-through upstream runs on loopback.',
  ];
}

/**
 * Formats Markdown with Prettier and the repository's Prettier config, so that `npm run lint` accepts
 * the written page. Returns the text unchanged, with a warning, when Prettier cannot be loaded.
 */
async function formatMarkdown(path, text) {
  let prettier;

  try {
    prettier = await import('prettier');
  } catch (error) {
    console.warn(`Prettier could not be loaded (${error.message}), so ${path} is written unformatted.`);

    return text;
  }

  const config = await prettier.resolveConfig(path);

  // Wrapping prose here leaves a page that the repository's own `proseWrap` setting keeps as it is.
  return prettier.format(text, { ...config, filepath: path, proseWrap: 'always' });
}

function roundsSentence(rounds) {
  if (rounds === 1) {
    return 'Each figure is from one round.';
  }

  return `Each figure is the median of ${rounds} rounds, with the minimum and maximum in brackets.`;
}

/**
 * Returns bench/analysis.md, the hand-written reading of the last full run (what each target's figure
 * comes from, and what would close a missed one), as the page's last section, or nothing without it.
 */
async function analysisSection() {
  try {
    return `\n${await readFile(new URL('analysis.md', import.meta.url), 'utf8')}`;
  } catch (error) {
    if (error.code === 'ENOENT') {
      return '';
    }

    throw error;
  }
}

/**
 * Writes the benchmark page with the machine, tool versions, command, tables and method, and with
 * `withAnalysis` the analysis of bench/analysis.md, which describes the recorded full run.
 */
export async function writeMarkdownReport(path, report, { withAnalysis }) {
  const tables = report.tables
    .map((table) => `### ${table.heading}\n\n${formatMarkdownTable(table)}`)
    .join('\n\n');
  const text = `# Benchmarks: Wharf and the CNCF Distribution registry

These are figures from one run of \`bench/run.mjs\` on one machine, not a general result. ${roundsSentence(report.rounds)} Memory
rows and seeding times have one value per registry. For MB/s and requests/s, a ratio above 1 means
Wharf is faster. For seconds and milliseconds, a ratio below 1 means Wharf is faster. For CPU time
and memory, a ratio below 1 means Wharf uses less. On rows whose unit is a ratio or a count, the
Wharf ÷ Distribution column is only the quotient of the two medians, and a target names the column
it applies to.

## Run

- Date: ${report.date}
- Machine: ${report.cores} CPU cores (\`os.cpus().length\`), ${report.cpu}, ${report.memoryGiB} GiB memory (\`os.totalmem()\`), ${report.platform}
- Command: \`${report.command}\`
${report.versions.map((line) => `- ${line}`).join('\n')}

## Results

${tables}

## Method

${methodItems(report)
  .map((item) => `- ${item.replace(/\s*\n\s*/g, ' ')}`)
  .join('\n')}

## Not measured yet

${notMeasuredItems(report)
  .map((item) => `- ${item}`)
  .join('\n')}
${withAnalysis ? await analysisSection() : ''}`;

  await writeFile(path, await formatMarkdown(path, text));
}
