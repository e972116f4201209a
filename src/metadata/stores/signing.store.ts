import { Inject, Injectable } from '@nestjs/common';

import { SignatureVerdictEntity, SigningTrustEntity } from '../entities/index.js';
import { MetadataDatabase } from '../metadata-database.js';

/** The kinds of trust material admins upload. */
export type TrustKind = 'cosign-key' | 'notation-certificate' | 'notation-policy';

/** The stored outcome of checking an image's signatures in one repository; `signatures` stays JSON. */
export interface SignatureVerdictRow {
  repository: string;
  digest: string;
  state: string;
  signatures: string;
  trustGeneration: string;
  evaluatedAt: number;
}

/** An image some stored signature names, in the repository that contains the signature. */
export interface SignedImage {
  repository: string;
  digest: string;
}

/** The artifact types of signature manifests that name their image as `subject`. */
export const signatureArtifactTypes = [
  'application/vnd.cncf.notary.signature',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.cosign.artifact.sig.v1+json',
];

/** Matches cosign's signature tags, `sha256-<hex>.sig`, and captures the image digest's hex. */
const cosignTagLike = 'sha256-%.sig';

interface VerdictRow {
  repository: string;
  digest: string;
  state: string;
  signatures: string;
  trust_generation: string;
  evaluated_at: number;
}

function rowOf(row: VerdictRow): SignatureVerdictRow {
  return {
    repository: row.repository,
    digest: row.digest,
    state: row.state,
    signatures: row.signatures,
    trustGeneration: row.trust_generation,
    evaluatedAt: Number(row.evaluated_at),
  };
}

const verdictColumns = 'repository, digest, state, signatures, trust_generation, evaluated_at';

/** Uploaded trust material and the signature verdicts of images, by repository and digest. */
@Injectable()
export class SigningStore {
  constructor(@Inject(MetadataDatabase) private readonly db: MetadataDatabase) {}

  trustEntries(): Promise<SigningTrustEntity[]> {
    return this.db.read((manager) =>
      manager.find(SigningTrustEntity, { order: { kind: 'ASC', name: 'ASC' } }),
    );
  }

  /** Saves trust material; returns false when an entry of that kind and name already exists and `replace` is false. */
  putTrust(entry: SigningTrustEntity, replace: boolean): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const existing = await manager.findOneBy(SigningTrustEntity, { kind: entry.kind, name: entry.name });

      if (existing !== null && !replace) {
        return false;
      }

      await manager.upsert(SigningTrustEntity, entry, ['kind', 'name']);

      return true;
    });
  }

  /** Deletes trust material; returns false when there was none of that kind and name. */
  deleteTrust(kind: TrustKind, name: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const result = await manager.delete(SigningTrustEntity, { kind, name });

      return (result.affected ?? 0) > 0;
    });
  }

  async saveVerdict(row: SignatureVerdictRow): Promise<void> {
    await this.db.transaction((manager) =>
      manager.upsert(SignatureVerdictEntity, row, ['repository', 'digest']),
    );
  }

  /** Returns an image's verdict from the read-only connection, so that a check on the pull path does not queue. */
  verdictOf(repository: string, digest: string): SignatureVerdictRow | undefined {
    const row = this.db.selectFirst<VerdictRow>(
      `SELECT ${verdictColumns} FROM signature_verdicts WHERE repository = ? AND digest = ?`,
      repository,
      digest,
    );

    return row === undefined ? undefined : rowOf(row);
  }

  /** Returns the verdicts of `digests` in `repository`, by digest; images without one are left out. */
  verdictsOf(repository: string, digests: readonly string[]): Map<string, SignatureVerdictRow> {
    const verdicts = new Map<string, SignatureVerdictRow>();

    for (let start = 0; start < digests.length; start += 500) {
      const part = digests.slice(start, start + 500);
      const rows = this.db.scan<VerdictRow>(
        `SELECT ${verdictColumns} FROM signature_verdicts
          WHERE repository = ? AND digest IN (${part.map(() => '?').join(', ')})`,
        repository,
        ...part,
      );

      for (const row of rows) {
        verdicts.set(row.digest, rowOf(row));
      }
    }

    return verdicts;
  }

  /**
   * Lists every image that has a verdict or that a stored signature names: the digest of each cosign
   * signature tag and the subject of each signature referrer, with the repository that contains it.
   */
  signedImages(): SignedImage[] {
    const types = signatureArtifactTypes.map(() => '?').join(', ');

    return this.db.scan<SignedImage>(
      `SELECT repository, digest FROM signature_verdicts
       UNION
       SELECT r.name, 'sha256:' || substr(t.name, 8, 64)
         FROM tags t JOIN repositories r ON r.id = t.repository_id
        WHERE t.name LIKE ? AND length(t.name) = 75
       UNION
       SELECT r.name, m.subject_digest
         FROM manifests m JOIN repositories r ON r.id = m.repository_id
        WHERE m.subject_digest IS NOT NULL AND m.artifact_type IN (${types})`,
      cosignTagLike,
      ...signatureArtifactTypes,
    );
  }

  /**
   * Returns the images a stored manifest signs in its repository: the digest its cosign signature tags
   * name, and its subject when it is a signature referrer.
   */
  signedBy(repository: string, digest: string): string[] {
    const types = signatureArtifactTypes.map(() => '?').join(', ');

    return this.db
      .scan<{ digest: string }>(
        `SELECT 'sha256:' || substr(t.name, 8, 64) AS digest
           FROM tags t JOIN repositories r ON r.id = t.repository_id
          WHERE r.name = ? AND t.manifest_digest = ? AND t.name LIKE ? AND length(t.name) = 75
         UNION
         SELECT m.subject_digest FROM manifests m JOIN repositories r ON r.id = m.repository_id
          WHERE r.name = ? AND m.digest = ? AND m.subject_digest IS NOT NULL AND m.artifact_type IN (${types})`,
        repository,
        digest,
        cosignTagLike,
        repository,
        digest,
        ...signatureArtifactTypes,
      )
      .map((row) => row.digest);
  }

  /** Tells whether an image has a verdict or a stored signature in `repository`. */
  hasSignatures(repository: string, digest: string): boolean {
    const types = signatureArtifactTypes.map(() => '?').join(', ');
    const row = this.db.scan<{ found: number }>(
      `SELECT 1 AS found FROM signature_verdicts WHERE repository = ? AND digest = ?
       UNION ALL
       SELECT 1 FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE r.name = ? AND t.name = ?
       UNION ALL
       SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repository_id
        WHERE r.name = ? AND m.subject_digest = ? AND m.artifact_type IN (${types})
       LIMIT 1`,
      repository,
      digest,
      repository,
      `${digest.replace(':', '-')}.sig`,
      repository,
      digest,
      ...signatureArtifactTypes,
    );

    return row.length > 0;
  }

  /** Tells whether an index in `repository` that lists `digest` as a child has a verified signature. */
  hasVerifiedParent(repository: string, digest: string): boolean {
    const row = this.db.selectFirst<{ found: number }>(
      `SELECT 1 AS found
         FROM manifests m
         JOIN repositories r ON r.id = m.repository_id
         JOIN manifest_references c ON c.manifest_id = m.id AND c.kind = 'child' AND c.digest = ?
         JOIN signature_verdicts v ON v.repository = r.name AND v.digest = m.digest AND v.state = 'verified'
        WHERE r.name = ?
        LIMIT 1`,
      digest,
      repository,
    );

    return row !== undefined;
  }

  /** Lists the images of `repository` that have a verdict. */
  verdictDigests(repository: string): string[] {
    return this.db
      .scan<{ digest: string }>('SELECT digest FROM signature_verdicts WHERE repository = ?', repository)
      .map((row) => row.digest);
  }

  /** Counts the verdicts of images still stored, by state, for the metrics. */
  countByState(): Record<string, number> {
    const rows = this.db.scan<{ state: string; count: number }>(
      `SELECT v.state, COUNT(*) AS count FROM signature_verdicts v
        WHERE EXISTS (SELECT 1 FROM manifests m JOIN repositories r ON r.id = m.repository_id
                       WHERE r.name = v.repository AND m.digest = v.digest)
        GROUP BY v.state`,
    );

    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }
}
