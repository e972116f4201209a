import console from 'node:console';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';

import { checkImageLayout, splitLayerSizes, writeRandomImageLayout } from './oci-images.mjs';
import { runToolChecked } from './processes.mjs';
import { cpuUnit, measureCpuPerGB, roundOrder } from './rounds.mjs';
import { sampleMaxResident } from './workloads.mjs';

export const skopeoPath = '/usr/bin/skopeo';

/** Returns the time limit of a copy of `bytes`: 60 s plus the time it takes at 10 MB/s. */
function copyTimeoutMs(bytes) {
  return 60_000 + Math.ceil(bytes / 10_000);
}

/**
 * Writes a trust policy that accepts any image and creates a directory for skopeo's temporary files,
 * both in `workDirectory`, so that skopeo reads nothing from /etc/containers/policy.json. Returns the
 * global options that every skopeo call gets.
 */
export async function prepareSkopeo(workDirectory) {
  const policyPath = join(workDirectory, 'skopeo-policy.json');
  const temporaryDirectory = join(workDirectory, 'skopeo-tmp');

  await writeFile(policyPath, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await mkdir(temporaryDirectory, { recursive: true });

  return ['--policy', policyPath, '--tmpdir', temporaryDirectory];
}

/**
 * Runs one `skopeo copy` and returns its wall-clock time in seconds, the start of the skopeo process
 * included. `--preserve-digests` makes skopeo fail rather than recompress or rewrite the image, so
 * that the registry receives and serves exactly the bytes of the layout.
 */
async function timeCopy(globalOptions, copyOptions, source, destination, bytes) {
  const timeoutMs = copyTimeoutMs(bytes);
  const args = [
    ...globalOptions,
    '--command-timeout',
    `${Math.ceil(timeoutMs / 1000)}s`,
    'copy',
    '--quiet',
    '--preserve-digests',
    ...copyOptions,
    source,
    destination,
  ];
  const start = performance.now();

  await runToolChecked(skopeoPath, args, timeoutMs + 5_000);

  return (performance.now() - start) / 1000;
}

/** Pushes the image of the OCI layout `layoutDirectory` to `<registry>/<repository>:<image.tag>`. */
export function pushImage(globalOptions, layoutDirectory, image, registry, repository) {
  return timeCopy(
    globalOptions,
    ['--dest-tls-verify=false'],
    `oci:${layoutDirectory}:${image.tag}`,
    `docker://${new URL(registry.url).host}/${repository}:${image.tag}`,
    image.bytes,
  );
}

/**
 * Pulls `<registry>/<repository>:<image.tag>` into a new OCI layout at `layoutDirectory`, checks it
 * against `image` and returns the copy time in seconds. The layers are uncompressed, which skopeo
 * would compress on the way into an OCI layout without `--dest-oci-accept-uncompressed-layers`.
 */
export async function pullImage(globalOptions, registry, repository, image, layoutDirectory) {
  const seconds = await timeCopy(
    globalOptions,
    ['--src-tls-verify=false', '--dest-oci-accept-uncompressed-layers'],
    `docker://${new URL(registry.url).host}/${repository}:${image.tag}`,
    `oci:${layoutDirectory}:${image.tag}`,
    image.bytes,
  );

  await checkImageLayout(layoutDirectory, image);

  return seconds;
}

/**
 * Runs `copy()`, which returns seconds, and records the copy's MB/s (`bytes` ÷ seconds ÷ 10^6) in
 * `rates` and the registry's CPU seconds per 10^9 bytes in `cpu`.
 */
async function measureCopy(registry, bytes, rates, cpu, copy) {
  const { value: seconds, cpuPerGB } = await measureCpuPerGB(registry.pid, bytes, copy);

  cpu.push(cpuPerGB);
  rates.push(bytes / seconds / 1e6);
}

/**
 * Pushes and pulls new random images with skopeo on every registry for `rounds` rounds: each round
 * and registry gets a new image, so that no registry has any of its blobs yet, and pulls it back into
 * a new directory. `images` lists `{ label, size, layers }`. Returns one push row and one pull row per
 * image in MB/s (image bytes ÷ copy seconds ÷ 10^6), the matching rows of the registries' CPU time
 * per 10^9 bytes, and the max resident memory per registry in KiB.
 */
export async function runSkopeoWorkloads(registries, { rounds, workDirectory, skopeoOptions, images }) {
  const rows = [];
  const cpuRows = [];
  const peaks = {};
  const byRegistry = () => Object.fromEntries(registries.map((registry) => [registry.name, []]));

  for (const [imageIndex, imageSpec] of images.entries()) {
    const pushValues = byRegistry();
    const pullValues = byRegistry();
    const pushCpu = byRegistry();
    const pullCpu = byRegistry();

    for (let round = 0; round < rounds; round++) {
      for (const registry of roundOrder(registries, round)) {
        const layoutDirectory = join(workDirectory, 'skopeo-image');
        const pulledDirectory = join(workDirectory, 'skopeo-pulled');
        const repository = `bench/skopeo-${imageIndex + 1}-${round + 1}`;

        try {
          const image = await writeRandomImageLayout(
            layoutDirectory,
            'v1',
            splitLayerSizes(imageSpec.size, imageSpec.layers),
          );
          const stopSampling = sampleMaxResident(registry.pid);

          try {
            await measureCopy(registry, image.bytes, pushValues[registry.name], pushCpu[registry.name], () =>
              pushImage(skopeoOptions, layoutDirectory, image, registry, repository),
            );
            await measureCopy(registry, image.bytes, pullValues[registry.name], pullCpu[registry.name], () =>
              pullImage(skopeoOptions, registry, repository, image, pulledDirectory),
            );
          } finally {
            peaks[registry.name] = Math.max(peaks[registry.name] ?? 0, stopSampling());
          }
        } finally {
          await rm(layoutDirectory, { recursive: true, force: true });
          await rm(pulledDirectory, { recursive: true, force: true });
        }

        console.log(
          `skopeo ${imageSpec.label}, round ${round + 1}, ${registry.name}: push ` +
            `${pushValues[registry.name].at(-1).toFixed(1)} MB/s (${pushCpu[registry.name].at(-1).toFixed(2)} CPU s/GB), ` +
            `pull ${pullValues[registry.name].at(-1).toFixed(1)} MB/s (${pullCpu[registry.name].at(-1).toFixed(2)} CPU s/GB)`,
        );
      }
    }

    rows.push(
      { label: `skopeo push (${imageSpec.label})`, unit: 'MB/s', values: pushValues },
      { label: `skopeo pull (${imageSpec.label})`, unit: 'MB/s', values: pullValues },
    );
    cpuRows.push(
      { label: `skopeo push (${imageSpec.label})`, unit: cpuUnit, values: pushCpu },
      { label: `skopeo pull (${imageSpec.label})`, unit: cpuUnit, values: pullCpu },
    );
  }

  return { rows, cpuRows, peaks };
}
