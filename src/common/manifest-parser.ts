import { Digest } from './digest.js';
import { ManifestInvalidError } from './domain-errors.js';
import type { ManifestReference } from '../metadata/records.js';
import { isIndexMediaType, manifestMediaTypes, mediaTypes } from './media-types.js';

/** The largest manifest Wharf stores, pushed or pulled through, as most registries and clients assume. */
export const maxManifestBytes = 4 * 1024 * 1024;

/** An OCI descriptor as a manifest contains it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
}

/** Facts Wharf takes from a manifest; the bytes themselves are stored as received. */
export interface ParsedManifest {
  mediaType: string;
  /** `artifactType`, falling back to the config's media type for image manifests. */
  artifactType: string | null;
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
  references: ManifestReference[];
}

type JsonObject = Record<string, unknown>;

/**
 * Parses and validates manifest bytes. The media type comes from `Content-Type`; when that is absent,
 * from the manifest's own `mediaType` field. Both must be a manifest type Wharf stores, and must agree.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  const body = parseJsonObject(bytes);
  const declared = optionalString(body, 'mediaType');
  const mediaType = resolveMediaType(contentType, declared);

  if (body.schemaVersion !== 2) {
    throw new ManifestInvalidError('schemaVersion must be 2');
  }

  const artifactType = optionalString(body, 'artifactType');
  const subject = body.subject === undefined ? null : parseDescriptor(body.subject, 'subject');
  const annotations = parseAnnotations(body.annotations, 'annotations');

  if (isIndexMediaType(mediaType)) {
    const children = descriptorList(body, 'manifests');

    return {
      mediaType,
      artifactType: artifactType ?? null,
      subject,
      annotations,
      references: children.map((child) => ({ kind: 'child', digest: child.digest, size: child.size })),
    };
  }

  const config = parseDescriptor(body.config, 'config');
  const layers = descriptorList(body, 'layers');
  // Layers with `urls` (non-distributable layers) live elsewhere, so a registry never has their bytes.
  const hostedLayers = layers.filter((layer) => layer.urls === undefined || layer.urls.length === 0);

  return {
    mediaType,
    artifactType: artifactType ?? config.mediaType,
    subject,
    annotations,
    references: [
      { kind: 'config', digest: config.digest, size: config.size },
      ...hostedLayers.map((layer) => ({ kind: 'layer' as const, digest: layer.digest, size: layer.size })),
    ],
  };
}

function parseJsonObject(bytes: Buffer): JsonObject {
  let parsed: unknown;

  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new ManifestInvalidError(`not valid UTF-8 JSON (${(error as Error).message})`);
  }

  if (!isObject(parsed)) {
    throw new ManifestInvalidError('the manifest must be a JSON object');
  }

  return parsed;
}

function resolveMediaType(contentType: string | undefined, declared: string | undefined): string {
  const header = contentType?.split(';')[0].trim().toLowerCase();
  const mediaType = header === undefined || header === '' ? declared : header;

  if (mediaType === undefined) {
    throw new ManifestInvalidError('no media type: send Content-Type or a mediaType field');
  }

  if (!manifestMediaTypes.includes(mediaType)) {
    throw new ManifestInvalidError(
      `unsupported media type "${mediaType}"; supported: ${manifestMediaTypes.join(', ')}`,
    );
  }

  if (declared !== undefined && declared !== mediaType) {
    throw new ManifestInvalidError(`mediaType "${declared}" does not match Content-Type "${mediaType}"`);
  }

  if (
    declared === undefined &&
    (mediaType === mediaTypes.dockerManifest || mediaType === mediaTypes.dockerManifestList)
  ) {
    throw new ManifestInvalidError('Docker manifests must contain their mediaType field');
  }

  return mediaType;
}

function descriptorList(body: JsonObject, field: string): Descriptor[] {
  const value = body[field];

  if (!Array.isArray(value)) {
    throw new ManifestInvalidError(`${field} must be an array of descriptors`);
  }

  return value.map((item, index) => parseDescriptor(item, `${field}[${index}]`));
}

function parseDescriptor(value: unknown, path: string): Descriptor {
  if (!isObject(value)) {
    throw new ManifestInvalidError(`${path} must be a descriptor object`);
  }

  const { mediaType, digest, size, urls } = value;

  if (typeof mediaType !== 'string' || mediaType.length === 0) {
    throw new ManifestInvalidError(`${path}.mediaType must be a non-empty string`);
  }

  if (typeof digest !== 'string' || !Digest.isValid(digest)) {
    throw new ManifestInvalidError(`${path}.digest is not a valid sha256 or sha512 digest`);
  }

  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestInvalidError(`${path}.size must be a non-negative integer`);
  }

  if (urls !== undefined && !(Array.isArray(urls) && urls.every((url) => typeof url === 'string'))) {
    throw new ManifestInvalidError(`${path}.urls must be an array of strings`);
  }

  parseAnnotations(value.annotations, `${path}.annotations`);

  return { mediaType, digest, size, urls };
}

function parseAnnotations(value: unknown, path: string): Record<string, string> | null {
  if (value === undefined) {
    return null;
  }

  if (!isObject(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw new ManifestInvalidError(`${path} must map strings to strings`);
  }

  return value as Record<string, string>;
}

function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];

  if (value !== undefined && typeof value !== 'string') {
    throw new ManifestInvalidError(`${field} must be a string`);
  }

  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
