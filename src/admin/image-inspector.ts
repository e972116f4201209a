import { ManifestInvalidError } from '../common/domain-errors.js';
import { isIndexMediaType } from '../common/media-types.js';

/** An image's platform as an index descriptor or an image config states it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
}

/** A descriptor from a manifest, with the optional fields the admin API shows. */
export interface DescriptorDetails {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

interface DocumentCommon {
  artifactType: string | null;
  annotations: Record<string, string> | null;
  subject: DescriptorDetails | null;
}

/** A manifest's JSON, read for display: an index with its children, or an image with config and layers. */
export type ManifestDocument =
  | (DocumentCommon & { kind: 'index'; manifests: DescriptorDetails[] })
  | (DocumentCommon & { kind: 'image'; config: DescriptorDetails; layers: DescriptorDetails[] });

/** One `history` entry of an image config. */
export interface HistoryEntry {
  created: string | null;
  createdBy: string | null;
  comment: string | null;
  author: string | null;
  /** Whether the step left no layer (an ENV or CMD step, say). */
  emptyLayer: boolean;
}

/** The fields of an OCI image config (or Docker container config) that describe the image. */
export interface ImageConfigDetails {
  os: string | null;
  architecture: string | null;
  variant: string | null;
  created: string | null;
  author: string | null;
  env: string[];
  labels: Record<string, string>;
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  user: string | null;
  exposedPorts: string[];
  history: HistoryEntry[];
}

/** Config media types whose JSON is an image config in the OCI image spec's format. */
export const imageConfigMediaTypes: readonly string[] = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
];

type JsonObject = Record<string, unknown>;

/**
 * Reads a stored manifest's JSON. The bytes were validated when they were pushed or fetched, so a
 * failure here means stored content changed; it raises ManifestInvalidError.
 */
export function readManifestDocument(bytes: Buffer, mediaType: string): ManifestDocument {
  const body = parseObject(bytes, 'manifest');
  const common: DocumentCommon = {
    artifactType: stringOrNull(body.artifactType),
    annotations: stringMap(body.annotations) ?? null,
    subject: isObject(body.subject) ? descriptorOf(body.subject, 'subject') : null,
  };

  if (isIndexMediaType(mediaType)) {
    return { kind: 'index', ...common, manifests: descriptorList(body.manifests, 'manifests') };
  }

  if (!isObject(body.config)) {
    throw new ManifestInvalidError('the stored image manifest has no config descriptor');
  }

  return {
    kind: 'image',
    ...common,
    config: descriptorOf(body.config, 'config'),
    layers: descriptorList(body.layers, 'layers'),
  };
}

/** Reads an image config; returns undefined when the bytes are not a JSON object. */
export function readImageConfig(bytes: Buffer): ImageConfigDetails | undefined {
  let body: JsonObject;

  try {
    body = parseObject(bytes, 'config');
  } catch {
    return undefined;
  }

  const runtime = isObject(body.config) ? body.config : {};

  return {
    os: stringOrNull(body.os),
    architecture: stringOrNull(body.architecture),
    variant: stringOrNull(body.variant),
    created: stringOrNull(body.created),
    author: stringOrNull(body.author),
    env: stringList(runtime.Env) ?? [],
    labels: stringMap(runtime.Labels) ?? {},
    entrypoint: stringList(runtime.Entrypoint) ?? null,
    cmd: stringList(runtime.Cmd) ?? null,
    workingDir: stringOrNull(runtime.WorkingDir),
    user: stringOrNull(runtime.User),
    exposedPorts: isObject(runtime.ExposedPorts) ? Object.keys(runtime.ExposedPorts) : [],
    history: Array.isArray(body.history) ? body.history.filter(isObject).map(historyEntry) : [],
  };
}

/** Returns the platform an image config states, or undefined when it names no OS and architecture. */
export function platformOfConfig(config: ImageConfigDetails): Platform | undefined {
  if (config.os === null || config.architecture === null) {
    return undefined;
  }

  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
}

/** Formats a platform as `os/architecture[/variant]`, as docker and skopeo print it. */
export function platformText(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/**
 * Sums the sizes of the distinct blobs (config and layers) of the given image manifests, so a layer
 * shared by several platforms of an index counts once.
 */
export function distinctBlobBytes(
  images: ReadonlyArray<{ config: DescriptorDetails; layers: DescriptorDetails[] }>,
): number {
  const sizes = new Map<string, number>();

  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) {
      sizes.set(blob.digest, blob.size);
    }
  }

  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

function historyEntry(entry: JsonObject): HistoryEntry {
  return {
    created: stringOrNull(entry.created),
    createdBy: stringOrNull(entry.created_by),
    comment: stringOrNull(entry.comment),
    author: stringOrNull(entry.author),
    emptyLayer: entry.empty_layer === true,
  };
}

function parseObject(bytes: Buffer, what: string): JsonObject {
  let parsed: unknown;

  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ManifestInvalidError(`the stored ${what} is not JSON (${(error as Error).message})`);
  }

  if (!isObject(parsed)) {
    throw new ManifestInvalidError(`the stored ${what} is not a JSON object`);
  }

  return parsed;
}

function descriptorList(value: unknown, field: string): DescriptorDetails[] {
  if (!Array.isArray(value)) {
    throw new ManifestInvalidError(`the stored manifest's ${field} is not an array`);
  }

  return value.map((item, index) => {
    if (!isObject(item)) {
      throw new ManifestInvalidError(`the stored manifest's ${field}[${index}] is not a descriptor`);
    }

    return descriptorOf(item, `${field}[${index}]`);
  });
}

function descriptorOf(value: JsonObject, path: string): DescriptorDetails {
  const { mediaType, digest, size } = value;

  if (typeof mediaType !== 'string' || typeof digest !== 'string' || typeof size !== 'number') {
    throw new ManifestInvalidError(`the stored manifest's ${path} lacks mediaType, digest or size`);
  }

  const artifactType = stringOrNull(value.artifactType);
  const annotations = stringMap(value.annotations);
  const platform = isObject(value.platform) ? platformOf(value.platform) : undefined;

  return {
    mediaType,
    digest,
    size,
    ...(artifactType === null ? {} : { artifactType }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(platform === undefined ? {} : { platform }),
  };
}

function platformOf(value: JsonObject): Platform | undefined {
  const os = stringOrNull(value.os);
  const architecture = stringOrNull(value.architecture);

  if (os === null || architecture === null) {
    return undefined;
  }

  const variant = stringOrNull(value.variant);
  const osVersion = stringOrNull(value['os.version']);

  return {
    os,
    architecture,
    ...(variant === null ? {} : { variant }),
    ...(osVersion === null ? {} : { osVersion }),
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) {
    return undefined;
  }

  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
