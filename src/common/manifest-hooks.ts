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
}

/**
 * Decides whether a manifest may be served; it throws a domain error to refuse. Checks run on every
 * manifest GET, so they are synchronous and read only what is cached or cheap.
 */
export type PullCheck = (manifest: ServedManifest) => void;

/**
 * Lets later modules follow stored manifests and veto pulls without the distribution and upstream
 * modules depending on them: scanning listens for stored images and registers its pull policy here.
 * Listeners run after the store and must not throw; a failing check refuses the pull.
 */
export class ManifestHooks {
  private readonly listeners: ((manifest: StoredManifest) => void)[] = [];
  private readonly checks: PullCheck[] = [];

  onStored(listener: (manifest: StoredManifest) => void): void {
    this.listeners.push(listener);
  }

  addPullCheck(check: PullCheck): void {
    this.checks.push(check);
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
