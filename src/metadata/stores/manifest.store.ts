import { Inject, Injectable } from '@nestjs/common';
import { type EntityManager, In } from 'typeorm';

import {
  AccessDeniedError,
  ManifestBlobUnknownError,
  ManifestChildUnknownError,
  ManifestInvalidError,
} from '../../common/domain-errors.js';
import {
  BlobEntity,
  ManifestEntity,
  ManifestReferenceEntity,
  RepositoryBlobEntity,
  TagEntity,
} from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';
import type { ManifestRecord, ManifestReference, Page } from '../records.js';
import { insertBlob } from './blob-record.store.js';
import { ensureRepositoryId, findRepositoryId, pageOf, selectRepositoryId } from './repository.store.js';

/** The rows a manifest PUT stores in one transaction. */
export interface ManifestWrite {
  manifest: ManifestRecord;
  references: ManifestReference[];
  tags: string[];
}

/** Tag changes a push may make: `create` adds a new tag, `update` moves an existing one. */
export interface TagPermissions {
  create: boolean;
  update: boolean;
}

/** Changes a push made to its tags; `moved` names each tag's previous manifest. */
export interface TagChanges {
  created: string[];
  moved: { tag: string; from: string }[];
}

/** Manifests, the descriptors they reference, and tags. */
@Injectable()
export class ManifestStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  find(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = this.db.selectFirst<ManifestRow>(
      `SELECT m.digest, m.media_type AS mediaType, m.size, m.artifact_type AS artifactType,
         m.subject_digest AS subjectDigest, m.annotations
       FROM manifests m JOIN repositories r ON r.id = m.repository_id
       WHERE r.name = ? AND m.digest = ?`,
      repository,
      digest,
    );

    return Promise.resolve(row ? toRecord(repository, row) : undefined);
  }

  /** Returns the digest a tag points to, or undefined when the tag does not exist. */
  resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const row = this.db.selectFirst<{ digest: string }>(
      `SELECT t.manifest_digest AS digest
       FROM tags t JOIN repositories r ON r.id = t.repository_id
       WHERE r.name = ? AND t.name = ?`,
      repository,
      tag,
    );

    return Promise.resolve(row?.digest);
  }

  /**
   * Throws ManifestBlobUnknownError or ManifestChildUnknownError when a reference is missing from the
   * repository, so that a manifest bound to fail is rejected before its bytes are written.
   */
  async assertReferencesExist(repository: string, references: ManifestReference[]): Promise<void> {
    await this.db.read(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      await assertReferencesExist(manager, repositoryId, references);
    });
  }

  /**
   * Stores a manifest, its references and its tags in one transaction, after checking that every layer
   * and config is linked to the repository and every child manifest is stored in it. A subject needs
   * no such check, because a referrer may arrive before its subject.
   */
  async save(
    write: ManifestWrite,
    permissions: TagPermissions = { create: true, update: true },
  ): Promise<TagChanges> {
    return this.db.transaction(async (manager) => {
      const repositoryId = await ensureRepositoryId(manager, write.manifest.repository);
      const changes = await tagChanges(manager, repositoryId, write);

      assertTagPermissions(write.manifest.repository, changes, permissions);
      await assertReferencesExist(manager, repositoryId, write.references);
      await saveManifest(manager, repositoryId, write);

      return changes;
    });
  }

  /** Deletes a manifest and every tag pointing to it; returns false when it was not stored. */
  async delete(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId === undefined) {
        return false;
      }

      const row = await manager.findOneBy(ManifestEntity, { repositoryId, digest });

      if (!row) {
        return false;
      }

      await manager.delete(TagEntity, { repositoryId, manifestDigest: digest });
      await manager.delete(ManifestReferenceEntity, { manifestId: row.id });
      await manager.delete(ManifestEntity, { id: row.id });

      return true;
    });
  }

  /** Deletes one tag and leaves its manifest; returns false when the tag did not exist. */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const repositoryId = await findRepositoryId(manager, repository);

      if (repositoryId === undefined) {
        return false;
      }

      const result = await manager.delete(TagEntity, { repositoryId, name: tag });

      return (result.affected ?? 0) > 0;
    });
  }

  /** Lists tags in byte order; undefined when the repository does not exist. */
  listTags(repository: string, limit: number, last?: string): Promise<Page | undefined> {
    const repositoryId = selectRepositoryId(this.db, repository);

    if (repositoryId === undefined) {
      return Promise.resolve(undefined);
    }

    const rows = this.db.selectAll<{ name: string }>(
      'SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?',
      repositoryId,
      last ?? '',
      limit + 1,
    );

    return Promise.resolve(pageOf(rows, limit));
  }

  /** Lists the manifests whose `subject` is `digest`, ordered by digest, optionally of one artifact type. */
  referrers(repository: string, digest: string, artifactType?: string): Promise<ManifestRecord[]> {
    const select = `SELECT m.digest, m.media_type AS mediaType, m.size, m.artifact_type AS artifactType,
        m.subject_digest AS subjectDigest, m.annotations
      FROM manifests m JOIN repositories r ON r.id = m.repository_id
      WHERE r.name = ? AND m.subject_digest = ?`;
    const rows =
      artifactType === undefined
        ? this.db.selectAll<ManifestRow>(`${select} ORDER BY m.digest`, repository, digest)
        : this.db.selectAll<ManifestRow>(
            `${select} AND m.artifact_type = ? ORDER BY m.digest`,
            repository,
            digest,
            artifactType,
          );

    return Promise.resolve(rows.map((row) => toRecord(repository, row)));
  }
}

/**
 * Checks each reference against the repository in manifest order: a layer or config must be linked to
 * it and a child manifest stored in it, with the size the descriptor declares. An undefined repository
 * has none of them.
 */
async function assertReferencesExist(
  manager: EntityManager,
  repositoryId: number | undefined,
  references: ManifestReference[],
): Promise<void> {
  const blobSizes = await linkedBlobSizes(manager, repositoryId, references);
  const childSizes = await childManifestSizes(manager, repositoryId, references);

  for (const reference of references) {
    const isChild = reference.kind === 'child';
    const storedSize = (isChild ? childSizes : blobSizes).get(reference.digest);

    if (storedSize === undefined) {
      throw isChild
        ? new ManifestChildUnknownError(reference.digest)
        : new ManifestBlobUnknownError(reference.digest);
    }

    if (storedSize !== reference.size) {
      throw new ManifestInvalidError(
        `${reference.kind} ${reference.digest} declares ${reference.size} bytes, but the stored content has ${storedSize}`,
      );
    }
  }
}

async function linkedBlobSizes(
  manager: EntityManager,
  repositoryId: number | undefined,
  references: ManifestReference[],
): Promise<Map<string, number>> {
  const digests = unique(references.filter((ref) => ref.kind !== 'child').map((ref) => ref.digest));

  if (repositoryId === undefined || digests.length === 0) {
    return new Map();
  }

  const links = await manager.find(RepositoryBlobEntity, {
    select: { digest: true },
    where: { repositoryId, digest: In(digests) },
  });
  const blobs =
    links.length === 0
      ? []
      : await manager.find(BlobEntity, { where: { digest: In(links.map((link) => link.digest)) } });

  return new Map(blobs.map((blob) => [blob.digest, blob.size]));
}

async function childManifestSizes(
  manager: EntityManager,
  repositoryId: number | undefined,
  references: ManifestReference[],
): Promise<Map<string, number>> {
  const digests = unique(references.filter((ref) => ref.kind === 'child').map((ref) => ref.digest));

  if (repositoryId === undefined || digests.length === 0) {
    return new Map();
  }

  const manifests = await manager.find(ManifestEntity, {
    select: { digest: true, size: true },
    where: { repositoryId, digest: In(digests) },
  });

  return new Map(manifests.map((manifest) => [manifest.digest, manifest.size]));
}

async function insertManifest(
  manager: EntityManager,
  repositoryId: number,
  write: ManifestWrite,
): Promise<void> {
  const { manifest } = write;
  const inserted = await manager.insert(ManifestEntity, {
    repositoryId,
    digest: manifest.digest,
    mediaType: manifest.mediaType,
    size: manifest.size,
    artifactType: manifest.artifactType,
    subjectDigest: manifest.subjectDigest,
    annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
    createdAt: Date.now(),
  });
  const manifestId = (inserted.identifiers[0] as { id: number }).id;

  if (write.references.length > 0) {
    await manager.insert(
      ManifestReferenceEntity,
      write.references.map((reference, position) => ({
        manifestId,
        position,
        kind: reference.kind,
        digest: reference.digest,
      })),
    );
  }
}

/** The columns of a manifest row that make a ManifestRecord, as SQL or TypeORM returns them. */
type ManifestRow = Pick<
  ManifestEntity,
  'digest' | 'mediaType' | 'size' | 'artifactType' | 'subjectDigest' | 'annotations'
>;

function toRecord(repository: string, row: ManifestRow): ManifestRecord {
  return {
    repository,
    digest: row.digest,
    mediaType: row.mediaType,
    size: Number(row.size),
    artifactType: row.artifactType,
    subjectDigest: row.subjectDigest,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
  };
}

/** Sorts the tags of a write into new ones and moved ones; re-pushing a tag to its manifest is neither. */
async function tagChanges(
  manager: EntityManager,
  repositoryId: number,
  write: ManifestWrite,
): Promise<TagChanges> {
  const existing =
    write.tags.length === 0 ? [] : await manager.findBy(TagEntity, { repositoryId, name: In(write.tags) });
  const current = new Map(existing.map((row) => [row.name, row.manifestDigest]));

  return {
    created: write.tags.filter((tag) => !current.has(tag)),
    moved: write.tags.flatMap((tag) => {
      const from = current.get(tag);

      return from !== undefined && from !== write.manifest.digest ? [{ tag, from }] : [];
    }),
  };
}

function assertTagPermissions(repository: string, changes: TagChanges, permissions: TagPermissions): void {
  if (changes.created.length > 0 && !permissions.create) {
    throw new AccessDeniedError(`you may not create tag "${changes.created[0]}" in "${repository}"`);
  }

  if (changes.moved.length > 0 && !permissions.update) {
    throw new AccessDeniedError(
      `you may not move the existing tag "${changes.moved[0].tag}" in "${repository}"`,
    );
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * Writes a manifest's blob row, the manifest with its references (unless already stored) and its tags,
 * without checking references, because pull-through caching stores manifests before their blobs.
 */
export async function saveManifest(
  manager: EntityManager,
  repositoryId: number,
  write: ManifestWrite,
): Promise<void> {
  const { manifest } = write;

  await insertBlob(manager, manifest.digest, manifest.size);

  const existing = await manager.findOneBy(ManifestEntity, { repositoryId, digest: manifest.digest });

  if (!existing) {
    await insertManifest(manager, repositoryId, write);
  }

  for (const tag of write.tags) {
    await manager
      .createQueryBuilder()
      .insert()
      .into(TagEntity)
      .values({ repositoryId, name: tag, manifestDigest: manifest.digest, updatedAt: Date.now() })
      .orUpdate(['manifest_digest', 'updated_at'], ['repository_id', 'name'])
      .execute();
  }
}
