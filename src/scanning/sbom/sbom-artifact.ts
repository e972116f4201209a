import { createHash } from 'node:crypto';

/** The image an SBOM describes, and the Wharf instance that writes the SBOM. */
export interface ImageDescription {
  /** Repository name, such as `library/debian`. */
  repository: string;
  /** Digest of the image manifest, such as `sha256:…`. */
  digest: string;
  /** Media type of the image manifest. */
  mediaType: string;
  /** Operating system and architecture that the image config names, when it names them. */
  platform?: { os: string; architecture: string; variant?: string };
  /** Host (and port) clients reach the registry at, such as `registry.example.com:5000`. */
  registryHost: string;
  /** Wharf's version, recorded as the tool that wrote the SBOM. */
  toolVersion: string;
}

/** A descriptor of content in a registry: what an artifact's `subject` names. */
export interface ContentDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A blob to upload before the artifact's manifest. */
export interface ArtifactBlob {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/** An OCI referrer artifact: its manifest and the blobs it references. */
export interface SbomArtifact {
  manifest: Buffer;
  blobs: ArtifactBlob[];
}

/** The `artifactType` of each SBOM format, which is also the media type of the document. */
export const sbomArtifactTypes = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
} as const;

/** The OCI empty descriptor's media type, for artifacts that have no config. */
export const emptyConfigMediaType = 'application/vnd.oci.empty.v1+json';

const emptyConfigBytes = Buffer.from('{}');

const layerTitles: Record<keyof typeof sbomArtifactTypes, string> = {
  spdx: 'sbom.spdx.json',
  cyclonedx: 'sbom.cdx.json',
};

/**
 * Packs an SBOM document into an OCI image manifest that refers to `subject`, following the image
 * specification 1.1 guidelines for artifacts. `artifactType` is the document's media type, the config
 * is the empty descriptor (`{}`, with its bytes inline as `data`), the one layer contains the document
 * as indented JSON, and `org.opencontainers.image.created` is the document's own creation time.
 * Returns the manifest bytes and both blobs, the config included, because a registry accepts the
 * manifest only when every blob it references exists. Throws when `subject.digest` is not a digest.
 */
export function sbomArtifact(
  format: keyof typeof sbomArtifactTypes,
  document: object,
  subject: ContentDescriptor,
): SbomArtifact {
  if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(subject.digest)) {
    throw new Error(`the subject digest "${subject.digest}" is not a valid digest`);
  }

  const mediaType = sbomArtifactTypes[format];
  const documentBytes = Buffer.from(JSON.stringify(document, null, 2));
  const config = { mediaType: emptyConfigMediaType, digest: sha256Digest(emptyConfigBytes), size: 2 };
  const layer = { mediaType, digest: sha256Digest(documentBytes), size: documentBytes.length };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: mediaType,
    config: { ...config, data: emptyConfigBytes.toString('base64') },
    layers: [{ ...layer, annotations: { 'org.opencontainers.image.title': layerTitles[format] } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'org.opencontainers.image.created': createdOf(format, document) },
  };

  return {
    manifest: Buffer.from(JSON.stringify(manifest)),
    blobs: [
      { digest: config.digest, bytes: emptyConfigBytes, mediaType: config.mediaType },
      { digest: layer.digest, bytes: documentBytes, mediaType },
    ],
  };
}

/**
 * Returns the package URL of an image, such as
 * `pkg:oci/debian@sha256%3A…?arch=amd64&repository_url=registry.example.com/library/debian`: the
 * purl `oci` type names the last path segment of the repository and carries the full location in
 * `repository_url`.
 */
export function imagePurl(image: ImageDescription): string {
  const name = image.repository.split('/').at(-1) ?? image.repository;
  const qualifiers = [
    ...(image.platform === undefined ? [] : [`arch=${qualifierValue(image.platform.architecture)}`]),
    `repository_url=${qualifierValue(`${image.registryHost}/${image.repository}`)}`,
  ];

  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(image.digest)}?${qualifiers.join('&')}`;
}

/** Returns the platform as `os/architecture[/variant]`, such as `linux/arm64/v8`. */
export function platformName(platform: NonNullable<ImageDescription['platform']>): string {
  return [platform.os, platform.architecture, platform.variant]
    .filter((part) => part !== undefined)
    .join('/');
}

/** Returns a date as ISO 8601 in UTC without fractions of seconds, the form SPDX requires. */
export function timestampOf(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Returns `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Percent-encodes a purl qualifier value, leaving `/` and `:` as the examples of the purl `oci` type write them. */
function qualifierValue(value: string): string {
  return encodeURIComponent(value).replaceAll('%2F', '/').replaceAll('%3A', ':');
}

/** Reads the creation time an SBOM document records, falling back to now for a document without one. */
function createdOf(format: keyof typeof sbomArtifactTypes, document: object): string {
  const fields = document as { creationInfo?: { created?: unknown }; metadata?: { timestamp?: unknown } };
  const created = format === 'spdx' ? fields.creationInfo?.created : fields.metadata?.timestamp;

  return typeof created === 'string' ? created : timestampOf(new Date());
}
