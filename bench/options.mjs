import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const maxRounds = 100;
const maxDurationSeconds = 300;
const maxScaleRepositories = 100_000;
const maxScaleRequests = 100_000;
const sizeUnits = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const maxBlobSize = 8 * sizeUnits.GiB;

export const bytesPerGiB = sizeUnits.GiB;

/** Workloads in the order they run, of which `--workloads` selects some. */
export const workloadNames = ['blob-get', 'requests', 'skopeo', 'pull-through', 'concurrent-gets', 'scale'];

export function usage({ defaultWharfMainPath, defaultOutputPath }) {
  return `Usage: node bench/run.mjs [options]

  --rounds N                 rounds of each workload per registry, 1 to ${maxRounds} (default 5)
  --blob-size SIZE           size of the blob for the blob GET workload, such as 256MiB or 1GiB,
                             at most 8GiB (default 256MiB)
  --duration SECONDS         length of each wrk run in seconds, 1 to ${maxDurationSeconds} (default 10)
  --image-size SIZE          size of the three-layer image of the skopeo and pull-through
                             workloads, at most 8GiB (default 100MiB)
  --large-image-size SIZE    size of the one-layer image of the skopeo workload, at most 8GiB
                             (default 1GiB)
  --shared-blob-size SIZE    size of the blob of the simultaneous cold GETs, at most 8GiB
                             (default 200MiB)
  --scale-repositories N     repositories of 10 tags each that the scale workload seeds into each
                             registry, 1 to ${maxScaleRepositories} (default 10000)
  --scale-requests N         catalog and tags list requests per series of the scale workload,
                             1 to ${maxScaleRequests} (default 2000)
  --workloads LIST           comma-separated workloads to run (default: all of them):
                             ${workloadNames.join(', ')}
  --wharf-main PATH          Wharf's compiled main.js (default ${defaultWharfMainPath})
  --output PATH              where to write the Markdown page (default ${defaultOutputPath});
                             give another path for short or partial runs
  --help                     print this help

Needs Wharf built with \`npm run build\` (or the file given by --wharf-main), /usr/bin/docker-registry
(Debian package docker-registry) and curl. Uses wrk (package wrk), ab (package apache2-utils) and
skopeo (package skopeo) when installed, and skips the workloads of a missing tool. Prints the tables
and writes the page given by --output.`;
}

/** Parses a size such as `256MiB`, `1GiB` or `1048576` into bytes. */
function parseSize(text) {
  const match = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(text);

  if (!match) {
    return undefined;
  }

  return Number(match[1]) * sizeUnits[match[2] ?? 'B'];
}

function parseSizeOption(name, text, min) {
  const size = parseSize(text);

  if (size === undefined || size < min || size > maxBlobSize) {
    throw new Error(
      `invalid --${name} ${text}: expected a size from ${min}B to 8GiB, such as 256MiB or 1GiB`,
    );
  }

  return size;
}

function parseIntegerOption(name, text, min, max) {
  const value = Number(text);

  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`invalid --${name} ${text}: expected a whole number from ${min} to ${max}`);
  }

  return value;
}

function parseWorkloads(text) {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !workloadNames.includes(name));

  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `invalid --workloads ${text}: expected a comma-separated list of ${workloadNames.join(', ')}`,
    );
  }

  return workloadNames.filter((name) => names.includes(name));
}

/** Parses the command line into options, or throws an error that names the invalid option. */
export function parseOptions(argv, { defaultWharfMainPath, defaultOutputPath }) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      'blob-size': { type: 'string', default: '256MiB' },
      duration: { type: 'string', default: '10' },
      'image-size': { type: 'string', default: '100MiB' },
      'large-image-size': { type: 'string', default: '1GiB' },
      'shared-blob-size': { type: 'string', default: '200MiB' },
      'scale-repositories': { type: 'string', default: '10000' },
      'scale-requests': { type: 'string', default: '2000' },
      workloads: { type: 'string', default: workloadNames.join(',') },
      'wharf-main': { type: 'string', default: defaultWharfMainPath },
      output: { type: 'string', default: defaultOutputPath },
      help: { type: 'boolean', default: false },
    },
  });

  return {
    help: values.help,
    rounds: parseIntegerOption('rounds', values.rounds, 1, maxRounds),
    durationSeconds: parseIntegerOption('duration', values.duration, 1, maxDurationSeconds),
    blobSize: parseSizeOption('blob-size', values['blob-size'], 1),
    blobSizeLabel: values['blob-size'],
    // Three layers of at least one byte each.
    imageSize: parseSizeOption('image-size', values['image-size'], 3),
    imageSizeLabel: values['image-size'],
    largeImageSize: parseSizeOption('large-image-size', values['large-image-size'], 1),
    largeImageSizeLabel: values['large-image-size'],
    sharedBlobSize: parseSizeOption('shared-blob-size', values['shared-blob-size'], 1),
    sharedBlobSizeLabel: values['shared-blob-size'],
    scaleRepositories: parseIntegerOption(
      'scale-repositories',
      values['scale-repositories'],
      1,
      maxScaleRepositories,
    ),
    scaleRequests: parseIntegerOption('scale-requests', values['scale-requests'], 1, maxScaleRequests),
    workloads: parseWorkloads(values.workloads),
    wharfMainPath: resolve(values['wharf-main']),
    outputPath: resolve(values.output),
  };
}
