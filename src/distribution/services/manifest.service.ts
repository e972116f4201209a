import { Inject, Injectable, Optional } from '@nestjs/common';

import { Digest } from '../../common/digest.js';
import { ManifestHooks } from '../../common/manifest-hooks.js';
import {
  DigestMismatchError,
  InvalidReferenceError,
  ManifestNotFoundError,
} from '../../common/domain-errors.js';
import { ManifestStore, type TagChanges, type TagPermissions } from '../../metadata/stores/manifest.store.js';
import { parseManifest } from '../../common/manifest-parser.js';
import { isValidTag, type Reference, referenceText } from '../oci-path.js';
import { UploadStorage } from '../../storage/upload-storage.service.js';

export interface ManifestPush {
  name: string;
  reference: Reference;
  bytes: Buffer;
  contentType: string | undefined;
  /** Extra tags from `?tag=` query parameters. */
  tags: string[];
  /** Tag changes the caller may make; all when absent. */
  permissions?: TagPermissions;
}

export interface PushedManifest {
  digest: string;
  subjectDigest: string | null;
  tags: TagChanges;
}

/** Stores and deletes manifests; reads go through RegistryReader. */
@Injectable()
export class ManifestService {
  constructor(
    @Inject(ManifestStore) private readonly manifests: ManifestStore,
    @Inject(UploadStorage) private readonly uploads: UploadStorage,
    @Optional() @Inject(ManifestHooks) private readonly hooks?: ManifestHooks,
  ) {}

  /**
   * Validates a manifest, writes its bytes to blob storage and records it with its references and tags
   * in one transaction. Bytes are placed first, so a crash leaves at most unreferenced bytes behind.
   */
  async push(push: ManifestPush): Promise<PushedManifest> {
    const parsed = parseManifest(push.bytes, push.contentType);
    const digest = Digest.of(push.bytes, push.reference.digest?.algorithm ?? 'sha256');

    if (push.reference.digest && !push.reference.digest.equals(digest)) {
      throw new DigestMismatchError(push.reference.digest.toString(), digest.toString());
    }

    const invalidTag = push.tags.find((tag) => !isValidTag(tag));

    if (invalidTag !== undefined) {
      throw new InvalidReferenceError(invalidTag);
    }

    // Checked here and again inside the transaction: the first check keeps a rejected manifest's bytes
    // off the disk, the second guards against a blob deleted in between.
    await this.manifests.assertReferencesExist(push.name, parsed.references);

    const tags = [
      ...new Set([...(push.reference.tag === undefined ? [] : [push.reference.tag]), ...push.tags]),
    ];
    let changes: TagChanges = { created: [], moved: [] };

    await this.uploads.writeBytes(push.bytes, digest, async () => {
      changes = await this.manifests.save(
        {
          manifest: {
            repository: push.name,
            digest: digest.toString(),
            mediaType: parsed.mediaType,
            size: push.bytes.length,
            artifactType: parsed.artifactType,
            subjectDigest: parsed.subject?.digest ?? null,
            annotations: parsed.annotations,
          },
          references: parsed.references,
          tags,
        },
        push.permissions,
      );
    });

    this.hooks?.stored({
      repository: push.name,
      digest: digest.toString(),
      mediaType: parsed.mediaType,
      origin: 'push',
    });

    return { digest: digest.toString(), subjectDigest: parsed.subject?.digest ?? null, tags: changes };
  }

  /** Deletes a tag (the manifest stays) or, by digest, the manifest and every tag pointing to it. */
  async delete(name: string, reference: Reference): Promise<void> {
    const deleted =
      reference.digest === undefined
        ? await this.manifests.deleteTag(name, reference.tag)
        : await this.manifests.delete(name, reference.digest.toString());

    if (!deleted) {
      throw new ManifestNotFoundError(referenceText(reference));
    }

    this.hooks?.removed(name);
  }
}
