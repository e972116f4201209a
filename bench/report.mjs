import { writeFile } from 'node:fs/promises';

/** Returns the median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);

  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function formatNumber(value) {
  if (value >= 100) {
    return value.toFixed(0);
  }

  return value.toFixed(1);
}

/** Formats the figures of one registry as `median (min–max)`, or the single value when there is one. */
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

function formatRatio(row) {
  const wharf = row.values.Wharf;
  const distribution = row.values.Distribution;

  if (!wharf?.length || !distribution?.length) {
    return '—';
  }

  return (median(wharf) / median(distribution)).toFixed(2);
}

const tableHeader = ['Workload', 'Unit', 'Wharf', 'Distribution', 'Wharf ÷ Distribution'];

/** Turns result rows into table cells. A skipped row carries its reason in the Wharf and Distribution columns. */
function tableCells(rows) {
  return rows.map((row) => {
    if (row.skipped) {
      return [row.label, row.unit, `skipped: ${row.skipped}`, '', ''];
    }

    return [
      row.label,
      row.unit,
      formatFigures(row.values.Wharf),
      formatFigures(row.values.Distribution),
      formatRatio(row),
    ];
  });
}

/** Formats the result rows as a plain-text table with aligned columns. */
export function formatTextTable(rows) {
  const lines = [tableHeader, ...tableCells(rows)];
  const widths = tableHeader.map((_, column) => Math.max(...lines.map((cells) => cells[column].length)));

  return lines
    .map((cells) =>
      cells
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function formatMarkdownTable(rows) {
  const lines = [tableHeader, tableHeader.map(() => '---'), ...tableCells(rows)];

  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Writes the benchmark page with the machine, tool versions, command, table and method. */
export async function writeMarkdownReport(path, report) {
  const text = `# Benchmarks: Wharf and the CNCF Distribution registry

These are figures from one run of \`bench/run.mjs\` on one machine, not a general result. Each
figure is the median of ${report.rounds} rounds, with the minimum and maximum in brackets. Memory
rows have one value per registry. For throughput, a ratio above 1 means Wharf is faster. For memory,
a ratio below 1 means Wharf uses less.

## Run

- Date: ${report.date}
- Machine: ${report.cores} CPU cores (\`os.cpus().length\`), ${report.memoryGiB} GiB memory (\`os.totalmem()\`), ${report.platform}
- Command: \`${report.command}\`
${report.versions.map((line) => `- ${line}`).join('\n')}

## Results

${formatMarkdownTable(report.rows)}

## Method

- Both registries run on 127.0.0.1 with fresh temporary storage on the same file system, started by
  the harness and stopped at the end. Wharf runs with \`log.level: warn\`, no upstreams and no
  metrics listener. Distribution runs with \`log.level: error\`, the access log off and
  \`storage.delete.enabled: true\`.
- Each workload runs against the two registries in turn, and the registry that goes first
  alternates from round to round.
- Blob GET: one blob of ${report.blobSizeLabel} of random data is pushed once to each registry
  (POST, then a monolithic PUT with \`curl -T\`). Each round downloads it once with
  \`curl -s -o /dev/null -w '%{time_total} %{size_download}'\`. MB/s is 10^6 bytes per second.
- Request rates: a small image (config, one 4 KiB layer, OCI image manifest) is pushed under a tag.
  Manifest GETs by tag and by digest and the tags list use \`wrk -t2 -c32 -d${report.durationSeconds}s\`, with
  an \`Accept\` header for the OCI image manifest on manifest requests. Blob HEAD uses
  \`ab -i -n 20000 -c 32\`, which opens a new connection per request (no keep-alive), so its rate
  is not comparable with the wrk rows. Every URL is checked for a 200 response first, and a run
  with error responses or socket errors fails the harness.
- Resident memory is VmRSS from \`/proc/<pid>/status\` of the registry process: once when idle
  after start, and sampled every 200 ms during the blob GETs and during the request workloads, of
  which the maximum is shown.

## Not measured yet

- skopeo push and pull of 100 MiB and 1 GiB images.
- Pull-through caching, cold and warm.
- 20 simultaneous cold GETs of the same blob through pull-through.
- Behaviour with 10,000 repositories.
`;

  await writeFile(path, text);
}
