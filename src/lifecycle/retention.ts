import { companionSubject } from '../common/artifact-manifests.js';
import type {
  LifecycleLink,
  LifecycleManifest,
  LifecycleTag,
  RepositoryContents,
} from '../metadata/stores/lifecycle.store.js';

/** A retention rule with its globs compiled and its durations in milliseconds. */
export interface RetentionPolicy {
  /** The rule's repository glob, for reports. */
  repositories: string;
  keepLast?: number;
  keepTags: RegExp[];
  keepWithinMs?: number;
  deleteUntaggedAfterMs?: number;
}

/** The reason garbage collection deletes something. */
export type DeletionReason =
  /** A tag no `keep` setting of its retention rule keeps. */
  | 'retention'
  /** A manifest without a tag, past its rule's `deleteUntaggedAfter`. */
  | 'untagged'
  /** A referrer, such as a signature, whose subject is gone. */
  | 'orphaned-referrer'
  /** A blob nothing holds, or a repository's link to a blob none of its manifests uses. */
  | 'unreferenced'
  /** Evicted because its upstream's cache is over `maxSize`. */
  | 'quota';

/** A manifest to delete, and the time before which it must have been last pushed or pulled. */
export interface ManifestDeletion {
  manifest: LifecycleManifest;
  reason: DeletionReason;
  /** For rule deletions: the manifest is kept if pushed or pulled at or after this. */
  before: number;
}

/** A blob link to delete, if it is still no newer than `createdAtMost` and unpulled since `pulledBefore`. */
export interface LinkDeletion {
  link: LifecycleLink;
  reason: DeletionReason;
  createdAtMost: number;
  pulledBefore: number;
}

/** The deletions in one repository: tags first, then manifests in order, then blob links. */
export interface RepositoryPlan {
  tags: { tag: LifecycleTag; reason: DeletionReason }[];
  manifests: ManifestDeletion[];
  links: LinkDeletion[];
}

/** Times a plan is made at: `now`, and the end of the grace period (`now` minus `storage.gc.delay`). */
export interface PlanTimes {
  now: number;
  graceBefore: number;
}

/**
 * Plans what garbage collection deletes in one repository:
 *
 * 1. Tags that the rule's `keep` settings do not keep.
 * 2. Manifests nothing needs any more (no tag, no index listing them, no subject still stored) that
 *    are referrers of a deleted subject, or untagged past the rule's `deleteUntaggedAfter`. Deleting
 *    one can free others, its children and referrers, so this repeats until nothing changes.
 * 3. Links to blobs that no remaining manifest is or points to.
 *
 * Nothing newer than the grace period is deleted, whatever the rule.
 */
export function planRepository(
  contents: RepositoryContents,
  policy: RetentionPolicy | undefined,
  times: PlanTimes,
): RepositoryPlan {
  const deletedTags = policy === undefined ? [] : tagsToDelete(contents, policy, times);
  const deletedTagNames = new Set(deletedTags.map((tag) => tag.name));
  const keptTags = contents.tags.filter((tag) => !deletedTagNames.has(tag.name));
  const stored = new Set(contents.manifests.map((manifest) => manifest.digest));
  const present = new Map(contents.manifests.map((manifest) => [manifest.id, manifest]));
  const manifests: ManifestDeletion[] = [];
  const untaggedBefore =
    policy?.deleteUntaggedAfterMs === undefined
      ? undefined
      : Math.min(times.graceBefore, times.now - policy.deleteUntaggedAfterMs);

  for (let changed = true; changed;) {
    changed = false;

    // A companion tag (a cosign signature, or a referrers index) keeps its manifest while the image it
    // names is kept or was never stored here. Once that image goes, the manifest is an orphaned referrer.
    const presentDigests = new Set([...present.values()].map((manifest) => manifest.digest));

    const orphaned = (tag: LifecycleTag): boolean => {
      const subject = companionSubject(tag.name);

      return subject !== undefined && stored.has(subject) && !presentDigests.has(subject);
    };

    const tagged = new Set(keptTags.filter((tag) => !orphaned(tag)).map((tag) => tag.digest));
    const orphanedCompanions = new Set(keptTags.filter(orphaned).map((tag) => tag.digest));
    const needed = neededManifests(contents, present, tagged);

    for (const manifest of present.values()) {
      if (needed.digests.has(manifest.digest) || needed.referrers.has(manifest.id)) {
        continue;
      }

      const activeAt = Math.max(manifest.createdAt, manifest.lastPulledAt ?? 0);
      const deletion: ManifestDeletion | undefined =
        (manifest.subjectDigest !== null || orphanedCompanions.has(manifest.digest)) &&
        activeAt < times.graceBefore
          ? { manifest, reason: 'orphaned-referrer', before: times.graceBefore }
          : untaggedBefore !== undefined && activeAt < untaggedBefore
            ? { manifest, reason: 'untagged', before: untaggedBefore }
            : undefined;

      if (deletion) {
        manifests.push(deletion);
        present.delete(manifest.id);
        changed = true;
      }
    }
  }

  return {
    tags: deletedTags.map((tag) => ({ tag, reason: 'retention' })),
    manifests,
    links: unneededLinks(contents, present, contents.links, times.graceBefore).map((link) => ({
      link,
      reason: 'unreferenced',
      createdAtMost: times.graceBefore - 1,
      pulledBefore: times.graceBefore,
    })),
  };
}

/**
 * Plans the eviction of one image from a cache: the manifest, every child only it lists, every
 * referrer of those, their tags, and the repository's links to blobs that only they use.
 */
export function planEviction(contents: RepositoryContents, image: LifecycleManifest): RepositoryPlan {
  const evicted = new Map([[image.id, image]]);
  const byDigest = new Map(contents.manifests.map((manifest) => [manifest.digest, manifest]));
  const queue = [image];

  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const parent = next;
    const children = contents.references
      .filter((reference) => reference.manifestId === parent.id && reference.kind === 'child')
      .map((reference) => byDigest.get(reference.digest));
    const referrers = contents.manifests.filter((manifest) => manifest.subjectDigest === parent.digest);

    for (const manifest of [...children, ...referrers]) {
      if (manifest !== undefined && !evicted.has(manifest.id)) {
        evicted.set(manifest.id, manifest);
        queue.push(manifest);
      }
    }
  }

  const evictedDigests = new Set([...evicted.values()].map((manifest) => manifest.digest));
  const remaining = new Map(
    contents.manifests
      .filter((manifest) => !evicted.has(manifest.id))
      .map((manifest) => [manifest.id, manifest]),
  );
  // Only links the evicted image used: unrelated unused links wait for the grace period as usual.
  const used = new Set(
    contents.references
      .filter((reference) => evicted.has(reference.manifestId))
      .map((reference) => reference.digest),
  );

  return {
    tags: contents.tags
      .filter((tag) => evictedDigests.has(tag.digest))
      .map((tag) => ({ tag, reason: 'quota' })),
    manifests: [...evicted.values()].map((manifest) => ({ manifest, reason: 'quota', before: Infinity })),
    links: unneededLinks(
      contents,
      remaining,
      contents.links.filter((link) => used.has(link.digest)),
      Infinity,
    ).map((link) => ({
      link,
      reason: 'quota',
      createdAtMost: link.createdAt,
      pulledBefore: Number.MAX_SAFE_INTEGER,
    })),
  };
}

/**
 * Lists a cache repository's images, the manifests a pull starts from: those no index lists and whose
 * subject is not stored. Each comes with the last time it or one of its children was pushed or pulled.
 */
export function imagesOf(contents: RepositoryContents): { manifest: LifecycleManifest; activeAt: number }[] {
  const byDigest = new Map(contents.manifests.map((manifest) => [manifest.digest, manifest]));
  const listed = new Set(
    contents.references
      .filter((reference) => reference.kind === 'child')
      .map((reference) => reference.digest),
  );

  return contents.manifests
    .filter(
      (manifest) =>
        !listed.has(manifest.digest) &&
        (manifest.subjectDigest === null || !byDigest.has(manifest.subjectDigest)),
    )
    .map((manifest) => {
      const children = contents.references
        .filter((reference) => reference.manifestId === manifest.id && reference.kind === 'child')
        .map((reference) => byDigest.get(reference.digest));
      const activeAt = Math.max(
        ...[manifest, ...children].map((entry) =>
          entry === undefined ? 0 : Math.max(entry.createdAt, entry.lastPulledAt ?? 0),
        ),
      );

      return { manifest, activeAt };
    });
}

/** Returns the repository's contents as they are once `plan` is carried out. */
export function applyPlan(contents: RepositoryContents, plan: RepositoryPlan): RepositoryContents {
  const tags = new Set(plan.tags.map((entry) => entry.tag.name));
  const manifests = new Set(plan.manifests.map((entry) => entry.manifest.id));
  const links = new Set(plan.links.map((entry) => entry.link.digest));

  return {
    ...contents,
    tags: contents.tags.filter((tag) => !tags.has(tag.name)),
    manifests: contents.manifests.filter((manifest) => !manifests.has(manifest.id)),
    references: contents.references.filter((reference) => !manifests.has(reference.manifestId)),
    links: contents.links.filter((link) => !links.has(link.digest)),
  };
}

/** Tells whether a rule limits tags at all; one with only `deleteUntaggedAfter` keeps every tag. */
function limitsTags(policy: RetentionPolicy): boolean {
  return policy.keepLast !== undefined || policy.keepTags.length > 0 || policy.keepWithinMs !== undefined;
}

function tagsToDelete(
  contents: RepositoryContents,
  policy: RetentionPolicy,
  times: PlanTimes,
): LifecycleTag[] {
  if (!limitsTags(policy)) {
    return [];
  }

  const pulledAt = new Map(
    contents.manifests.map((manifest) => [manifest.digest, manifest.lastPulledAt ?? 0]),
  );
  const activeAt = (tag: LifecycleTag): number => Math.max(tag.updatedAt, pulledAt.get(tag.digest) ?? 0);
  // Companion tags belong to the image they name and go with it, so rules neither count nor delete them.
  // Most recently used first; tags used at the same moment in name order, so the plan is stable.
  const ranked = contents.tags
    .filter((tag) => companionSubject(tag.name) === undefined)
    .sort((a, b) => {
      const byActivity = activeAt(b) - activeAt(a);

      if (byActivity !== 0 || a.name === b.name) {
        return byActivity;
      }

      return a.name < b.name ? -1 : 1;
    });

  return ranked.filter(
    (tag, rank) =>
      !(
        (policy.keepLast !== undefined && rank < policy.keepLast) ||
        policy.keepTags.some((pattern) => pattern.test(tag.name)) ||
        (policy.keepWithinMs !== undefined && activeAt(tag) >= times.now - policy.keepWithinMs) ||
        activeAt(tag) >= times.graceBefore
      ),
  );
}

/**
 * Returns what keeps present manifests: the digests a kept tag or a present index names, and the ids of
 * referrers whose subject is present.
 */
function neededManifests(
  contents: RepositoryContents,
  present: Map<number, LifecycleManifest>,
  tagged: Set<string>,
): { digests: Set<string>; referrers: Set<number> } {
  const presentDigests = new Set([...present.values()].map((manifest) => manifest.digest));
  const digests = new Set(tagged);
  const referrers = new Set<number>();

  for (const reference of contents.references) {
    if (reference.kind === 'child' && present.has(reference.manifestId)) {
      digests.add(reference.digest);
    }
  }

  for (const manifest of present.values()) {
    if (manifest.subjectDigest !== null && presentDigests.has(manifest.subjectDigest)) {
      referrers.add(manifest.id);
    }
  }

  return { digests, referrers };
}

/** Lists the links in `links` that no manifest of `present` is or points to, made before `before`. */
function unneededLinks(
  contents: RepositoryContents,
  present: Map<number, LifecycleManifest>,
  links: LifecycleLink[],
  before: number,
): LifecycleLink[] {
  const used = new Set([...present.values()].map((manifest) => manifest.digest));

  for (const reference of contents.references) {
    if (present.has(reference.manifestId)) {
      used.add(reference.digest);
    }
  }

  return links.filter(
    (link) => !used.has(link.digest) && link.createdAt < before && (link.lastPulledAt ?? 0) < before,
  );
}
