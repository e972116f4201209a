import type { ManifestReferenceKind } from './entities/manifest-reference.entity.js';

/** A manifest as the rest of Wharf uses it, independent of the TypeORM entity. */
export interface ManifestRecord {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
}

/** A descriptor a manifest points to; `size` is what the descriptor declares. */
export interface ManifestReference {
  kind: ManifestReferenceKind;
  digest: string;
  size: number;
}

export interface UploadSessionRecord {
  id: string;
  repository: string;
  startedAt: number;
}

/** One page of a lexically ordered listing; `more` is true when entries follow the last one. */
export interface Page {
  items: string[];
  more: boolean;
}
