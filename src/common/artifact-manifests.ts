/** The media type of cosign signature layers: the simple-signing payload that was signed. */
export const cosignLayerMediaType = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** Config media types of images a container runtime runs. */
const imageConfigTypes = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** Layer media types that hold statements about an image, never file systems: cosign signatures and attestations. */
const statementLayerTypes = new Set([cosignLayerMediaType, 'application/vnd.dsse.envelope.v1+json']);

/**
 * Tells whether manifest bytes describe an artifact about an image rather than an image to run. One
 * kind is a referrer (it has a `subject`) whose artifact or config type is not an image config, such
 * as a notation signature, a sigstore bundle or an SBOM. The other is a manifest whose layers are all
 * signatures or attestations, as cosign's `.sig` and `.att` manifests. Policies let these through, so that clients
 * can verify the images they protect. An image with a `subject` is still an image.
 */
export function isArtifactManifest(bytes: Buffer | undefined): boolean {
  const body = parseObject(bytes);

  if (body === undefined) {
    return false;
  }

  const config =
    typeof body.config === 'object' && body.config !== null ? (body.config as Record<string, unknown>) : {};
  const type = typeof body.artifactType === 'string' ? body.artifactType : config.mediaType;

  if (body.subject !== undefined && typeof type === 'string' && !imageConfigTypes.has(type)) {
    return true;
  }

  const layers: unknown[] = Array.isArray(body.layers) ? body.layers : [];

  return (
    layers.length > 0 &&
    layers.every(
      (layer) =>
        typeof layer === 'object' &&
        layer !== null &&
        statementLayerTypes.has(String((layer as { mediaType?: unknown }).mediaType)),
    )
  );
}

/** Tags cosign and the OCI referrers tag schema write next to an image: `sha256-<hex>`, with a suffix or none. */
const companionTagPattern = /^sha256-([0-9a-f]{64})(?:\.sig|\.att|\.sbom)?$/;

/** Returns the digest of the image a companion tag names, or undefined for any other tag. */
export function companionSubject(tag: string): string | undefined {
  const match = companionTagPattern.exec(tag);

  return match === null ? undefined : `sha256:${match[1]}`;
}

/** Parses JSON bytes into an object; undefined for anything else. */
export function parseObject(bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (bytes === undefined) {
    return undefined;
  }

  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;

    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
