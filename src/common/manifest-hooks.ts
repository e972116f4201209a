/** The origin of a stored manifest: a client's push, or a fetch from an upstream into the cache. */
export type ManifestOrigin = 'push' | 'cache';

/** A manifest that was just stored, with its repository. */
export interface StoredManifest {
  repository: string;
  digest: string;
  mediaType: string;
  origin: ManifestOrigin;
}

/** A manifest about to be served to a client. */
export interface ServedManifest {
  repository: string;
  digest: string;
  mediaType: string;
  /** The id of the request, for log lines about it. */
  requestId: string;
  /** The manifest's bytes, so that a check can tell an artifact such as a signature from an image. */
  bytes?: Buffer;
}

/** A manifest fetched from an upstream, before the cache stores it. */
export interface CacheCandidate {
  /** The local repository, `<prefix>/<name>`. */
  repository: string;
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** The tag it was fetched by, if any. */
  tag?: string;
  /** The digest of its `subject`, when it is a referrer. */
  subjectDigest?: string;
  artifactType: string | null;
}

/**
 * Decides whether a fetched manifest may enter the cache; it throws a domain error to refuse, and the
 * manifest is then neither stored nor served.
 */
export type CacheAdmission = (candidate: CacheCandidate) => Promise<void>;

/**
 * Decides whether a manifest may be served; it throws a domain error to refuse. Checks run on every
 * manifest GET, so they are synchronous and read only what is cached or cheap.
 */
export type PullCheck = (manifest: ServedManifest) => void;

/**
 * Lets later modules follow stored manifests and veto pulls without the distribution and upstream
 * modules depending on them: scanning listens for stored images and registers its pull policy here, and
 * signing also decides which upstream images the cache takes.
 * Listeners run after the store and must not throw; a failing check refuses the pull.
 */
export class ManifestHooks {
  private readonly listeners: ((manifest: StoredManifest) => void)[] = [];
  private readonly checks: PullCheck[] = [];
  private readonly admissions: CacheAdmission[] = [];
  private readonly removals: ((repository: string) => void)[] = [];

  onStored(listener: (manifest: StoredManifest) => void): void {
    this.listeners.push(listener);
  }

  addPullCheck(check: PullCheck): void {
    this.checks.push(check);
  }

  /** Calls `listener` with the repository of each tag or manifest that was deleted. */
  onRemoved(listener: (repository: string) => void): void {
    this.removals.push(listener);
  }

  removed(repository: string): void {
    for (const listener of this.removals) {
      listener(repository);
    }
  }

  addCacheAdmission(admission: CacheAdmission): void {
    this.admissions.push(admission);
  }

  /** Runs every cache admission in turn; the first that throws refuses the manifest. */
  async admit(candidate: CacheCandidate): Promise<void> {
    for (const admission of this.admissions) {
      await admission(candidate);
    }
  }

  stored(manifest: StoredManifest): void {
    for (const listener of this.listeners) {
      listener(manifest);
    }
  }

  checkPull(manifest: ServedManifest): void {
    for (const check of this.checks) {
      check(manifest);
    }
  }
}
