import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ociManifestMediaType, writeRandomFile } from './workloads.mjs';

/**
 * Media type of the layers. The layers are random bytes, not tar archives, because neither registry
 * reads layer contents. The type has no compression suffix because the bytes are not gzip data.
 */
export const layerMediaType = 'application/vnd.oci.image.layer.v1.tar';

const configMediaType = 'application/vnd.oci.image.config.v1+json';
const referenceAnnotation = 'org.opencontainers.image.ref.name';

function sha256Digest(bytes) {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blobPath(directory, digest) {
  return join(directory, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Splits `totalBytes` into `count` layer sizes that differ by at most one byte. */
export function splitLayerSizes(totalBytes, count) {
  const base = Math.floor(totalBytes / count);

  return Array.from({ length: count }, (_, index) => (index < totalBytes % count ? base + 1 : base));
}

/**
 * Writes an OCI image layout to `directory` with one image under `tag`: a config, an OCI image
 * manifest and one layer of random bytes per entry of `layerSizes`. Every call generates new layers,
 * so no registry has the blobs yet. Returns the manifest digest, the blob descriptors and `bytes`,
 * the sum of the layer, config and manifest sizes, which is what a copy of the image transfers.
 */
export async function writeRandomImageLayout(directory, tag, layerSizes) {
  const blobDirectory = join(directory, 'blobs', 'sha256');

  await mkdir(blobDirectory, { recursive: true });

  const layers = [];

  for (const [index, size] of layerSizes.entries()) {
    const temporaryPath = join(directory, `layer-${index}.partial`);
    const digest = await writeRandomFile(temporaryPath, size);

    await rename(temporaryPath, blobPath(directory, digest));
    layers.push({ mediaType: layerMediaType, digest, size });
  }

  // For an uncompressed layer type, the diff ID of a layer is the digest of the layer itself.
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      config: {},
    }),
  );
  const config = { mediaType: configMediaType, digest: sha256Digest(configBytes), size: configBytes.length };
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: ociManifestMediaType, config, layers }),
  );
  const manifest = {
    mediaType: ociManifestMediaType,
    digest: sha256Digest(manifestBytes),
    size: manifestBytes.length,
  };
  const index = {
    schemaVersion: 2,
    manifests: [{ ...manifest, annotations: { [referenceAnnotation]: tag } }],
  };

  await writeFile(blobPath(directory, config.digest), configBytes);
  await writeFile(blobPath(directory, manifest.digest), manifestBytes);
  await writeFile(join(directory, 'index.json'), JSON.stringify(index));
  await writeFile(join(directory, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const bytes = manifest.size + config.size + layers.reduce((sum, layer) => sum + layer.size, 0);

  return { tag, manifestDigest: manifest.digest, blobs: [config, ...layers], bytes };
}

/**
 * Throws unless the OCI layout in `directory` has `image.tag` pointing at `image.manifestDigest` and
 * every blob of the image with its expected size. skopeo verifies each blob's digest while it copies,
 * so sizes are checked here and digests are not computed again.
 */
export async function checkImageLayout(directory, image) {
  const index = JSON.parse(await readFile(join(directory, 'index.json'), 'utf8'));
  const entry = index.manifests?.find((item) => item.annotations?.[referenceAnnotation] === image.tag);

  if (entry?.digest !== image.manifestDigest) {
    throw new Error(
      `${directory}/index.json has ${String(entry?.digest)} for tag ${image.tag}; expected ${image.manifestDigest}`,
    );
  }

  for (const blob of image.blobs) {
    const path = blobPath(directory, blob.digest);
    const { size } = await stat(path).catch(() => ({ size: undefined }));

    if (size !== blob.size) {
      throw new Error(`${path} has ${String(size)} bytes; expected ${blob.size}`);
    }
  }
}
