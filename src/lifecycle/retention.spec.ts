import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { globToPattern } from '../common/glob.js';
import type {
  LifecycleManifest,
  LifecycleReference,
  LifecycleTag,
  RepositoryContents,
} from '../metadata/stores/lifecycle.store.js';
import { applyPlan, imagesOf, planEviction, planRepository, type RetentionPolicy } from './retention.js';

const hour = 3_600_000;
const now = 1_000 * hour;
/** A one-hour grace period. */
const times = { now, graceBefore: now - hour };

function manifest(id: number, fields: Partial<LifecycleManifest> = {}): LifecycleManifest {
  return {
    id,
    digest: `sha256:m${id}`,
    size: 100,
    subjectDigest: null,
    createdAt: now - 48 * hour,
    lastPulledAt: null,
    ...fields,
  };
}

function tag(name: string, manifestId: number, hoursAgo: number): LifecycleTag {
  return { name, digest: `sha256:m${manifestId}`, updatedAt: now - hoursAgo * hour };
}

function layer(manifestId: number, digest: string): LifecycleReference {
  return { manifestId, kind: 'layer', digest };
}

function child(manifestId: number, childId: number): LifecycleReference {
  return { manifestId, kind: 'child', digest: `sha256:m${childId}` };
}

function link(digest: string, hoursAgo = 48): RepositoryContents['links'][number] {
  return { digest, size: 1000, createdAt: now - hoursAgo * hour, lastPulledAt: null };
}

function contents(fields: Partial<RepositoryContents>): RepositoryContents {
  return { id: 1, name: 'team/app', tags: [], manifests: [], references: [], links: [], ...fields };
}

function policy(fields: Partial<RetentionPolicy>): RetentionPolicy {
  return { repositories: '**', keepTags: [], ...fields };
}

function deletedTags(plan: ReturnType<typeof planRepository>): string[] {
  return plan.tags.map((entry) => entry.tag.name).sort();
}

function deletedManifests(plan: ReturnType<typeof planRepository>): [number, string][] {
  return plan.manifests.map((entry) => [entry.manifest.id, entry.reason]);
}

describe('planRepository', () => {
  const tagged = contents({
    manifests: [1, 2, 3, 4, 5].map((id) => manifest(id)),
    tags: [tag('a', 1, 50), tag('b', 2, 40), tag('c', 3, 30), tag('d', 4, 20), tag('v1.0', 5, 60)],
  });

  it('keeps every tag and manifest without a rule', () => {
    const plan = planRepository(tagged, undefined, times);

    assert.deepEqual(plan, { tags: [], manifests: [], links: [] });
  });

  it('keeps the most recently pushed tags', () => {
    assert.deepEqual(deletedTags(planRepository(tagged, policy({ keepLast: 2 }), times)), ['a', 'b', 'v1.0']);
  });

  it('counts a pull as recent use', () => {
    const pulled = contents({
      ...tagged,
      manifests: tagged.manifests.map((entry) =>
        entry.id === 1 ? { ...entry, lastPulledAt: now - hour } : entry,
      ),
    });

    assert.deepEqual(deletedTags(planRepository(pulled, policy({ keepLast: 2 }), times)), ['b', 'c', 'v1.0']);
  });

  it('keeps tags matching a pattern besides the newest', () => {
    const plan = planRepository(tagged, policy({ keepLast: 1, keepTags: [globToPattern('v*')] }), times);

    assert.deepEqual(deletedTags(plan), ['a', 'b', 'c']);
  });

  it('keeps tags used within a duration', () => {
    assert.deepEqual(deletedTags(planRepository(tagged, policy({ keepWithinMs: 35 * hour }), times)), [
      'a',
      'b',
      'v1.0',
    ]);
  });

  it('keeps tags used within the grace period', () => {
    const recent = contents({
      ...tagged,
      tags: [...tagged.tags, tag('just-pushed', 5, 0.5)],
      manifests: tagged.manifests.map((entry) =>
        entry.id === 2 ? { ...entry, lastPulledAt: now - 0.5 * hour } : entry,
      ),
    });

    assert.deepEqual(deletedTags(planRepository(recent, policy({ keepLast: 1 }), times)), [
      'a',
      'c',
      'd',
      'v1.0',
    ]);
  });

  it('leaves the manifests of deleted tags unless untagged ones are deleted', () => {
    const keepOne = planRepository(tagged, policy({ keepLast: 4 }), times);
    const deleteUntagged = planRepository(
      tagged,
      policy({ keepLast: 4, deleteUntaggedAfterMs: hour }),
      times,
    );

    assert.deepEqual(deletedManifests(keepOne), []);
    assert.deepEqual(deletedManifests(deleteUntagged), [[5, 'untagged']]);
  });

  it('keeps an untagged manifest used within deleteUntaggedAfter', () => {
    const repository = contents({
      manifests: [
        manifest(1, { lastPulledAt: now - 2 * hour }),
        manifest(2, { lastPulledAt: now - 30 * hour }),
      ],
    });

    assert.deepEqual(
      deletedManifests(planRepository(repository, policy({ deleteUntaggedAfterMs: 24 * hour }), times)),
      [[2, 'untagged']],
    );
  });

  it('never deletes within the grace period, whatever the rule says', () => {
    const repository = contents({ manifests: [manifest(1, { createdAt: now - 60_000 })] });

    assert.deepEqual(
      deletedManifests(planRepository(repository, policy({ deleteUntaggedAfterMs: 0 }), times)),
      [],
    );
  });

  it('follows an index to its children', () => {
    const repository = contents({
      manifests: [1, 2, 3, 4, 5, 6].map((id) => manifest(id)),
      references: [child(1, 2), child(1, 3), child(4, 5), child(4, 6)],
      tags: [tag('latest', 1, 30)],
    });
    const plan = planRepository(repository, policy({ deleteUntaggedAfterMs: hour }), times);

    assert.deepEqual(deletedManifests(plan), [
      [4, 'untagged'],
      [5, 'untagged'],
      [6, 'untagged'],
    ]);
  });

  it('deletes referrers of deleted subjects', () => {
    const repository = contents({
      manifests: [
        manifest(1),
        manifest(2, { subjectDigest: 'sha256:m1' }),
        manifest(3, { subjectDigest: 'sha256:gone' }),
        manifest(4, { subjectDigest: 'sha256:m3' }),
      ],
      tags: [tag('latest', 1, 30)],
    });

    assert.deepEqual(deletedManifests(planRepository(repository, undefined, times)), [
      [3, 'orphaned-referrer'],
      [4, 'orphaned-referrer'],
    ]);
  });

  describe('cosign signature tags', () => {
    const imageDigest = `sha256:${'a'.repeat(64)}`;
    const signatureTag = (manifestId: number): LifecycleTag =>
      tag(`sha256-${'a'.repeat(64)}.sig`, manifestId, 50);
    const signed = (fields: Partial<RepositoryContents>) =>
      contents({
        manifests: [manifest(1, { digest: imageDigest }), manifest(2), manifest(3)],
        tags: [{ ...tag('v1', 1, 50), digest: imageDigest }, signatureTag(2), tag('old', 3, 40)],
        ...fields,
      });

    it('survive rules that keep their image', () => {
      const plan = planRepository(signed({}), policy({ keepTags: [/^v/] }), times);

      assert.deepEqual(deletedTags(plan), ['old']);
    });

    it('do not count toward keepLast', () => {
      const plan = planRepository(signed({}), policy({ keepLast: 1 }), times);

      // The signature tag is not ranked, so the one tag kept is "old", the most recently pushed image tag.
      assert.deepEqual(deletedTags(plan), ['v1']);
    });

    it('go with their image as orphaned referrers', () => {
      const plan = planRepository(
        signed({}),
        policy({ keepLast: 1, deleteUntaggedAfterMs: 24 * hour }),
        times,
      );

      assert.deepEqual(deletedManifests(plan), [
        [1, 'untagged'],
        [2, 'orphaned-referrer'],
      ]);
    });

    it('stay while their image was never stored here', () => {
      const repository = contents({ manifests: [manifest(2)], tags: [signatureTag(2)] });
      const plan = planRepository(repository, policy({ keepLast: 0, deleteUntaggedAfterMs: hour }), times);

      assert.deepEqual(deletedTags(plan), []);
      assert.deepEqual(deletedManifests(plan), []);
    });
  });

  it('keeps a referrer that arrived before its subject during the grace period', () => {
    const repository = contents({
      manifests: [manifest(1, { subjectDigest: 'sha256:later', createdAt: now - 60_000 })],
    });

    assert.deepEqual(deletedManifests(planRepository(repository, undefined, times)), []);
  });

  it('unlinks blobs no remaining manifest uses, after the grace period', () => {
    const repository = contents({
      manifests: [manifest(1), manifest(2)],
      references: [layer(1, 'sha256:shared'), layer(2, 'sha256:shared'), layer(2, 'sha256:only2')],
      tags: [tag('latest', 1, 30)],
      links: [link('sha256:shared'), link('sha256:only2'), link('sha256:loose'), link('sha256:new', 0.1)],
    });
    const plan = planRepository(repository, policy({ deleteUntaggedAfterMs: hour }), times);

    assert.deepEqual(
      plan.links.map((entry) => entry.link.digest),
      ['sha256:only2', 'sha256:loose'],
    );
  });
});

describe('planEviction', () => {
  const repository = contents({
    manifests: [
      manifest(1),
      manifest(2),
      manifest(3),
      manifest(4, { subjectDigest: 'sha256:m1' }),
      manifest(5, { createdAt: now - hour }),
    ],
    references: [child(1, 2), child(1, 3), layer(2, 'sha256:a'), layer(3, 'sha256:b'), layer(5, 'sha256:a')],
    tags: [tag('latest', 1, 30), tag('other', 5, 1)],
    links: [link('sha256:a'), link('sha256:b'), link('sha256:unrelated')],
  });

  it('takes children, referrers, tags and links', () => {
    const plan = planEviction(repository, repository.manifests[0]);

    assert.deepEqual(
      plan.manifests.map((entry) => entry.manifest.id),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      plan.tags.map((entry) => entry.tag.name),
      ['latest'],
    );
    assert.deepEqual(
      plan.links.map((entry) => entry.link.digest),
      ['sha256:b'],
    );
  });

  it('lists images by their latest use, children included', () => {
    const used = contents({
      ...repository,
      manifests: repository.manifests.map((entry) =>
        entry.id === 3 ? { ...entry, lastPulledAt: now - 10 * hour } : entry,
      ),
    });

    assert.deepEqual(
      imagesOf(used).map((image) => [image.manifest.id, (now - image.activeAt) / hour]),
      [
        [1, 10],
        [5, 1],
      ],
    );
  });

  it('leaves the rest of the repository as it was', () => {
    const after = applyPlan(repository, planEviction(repository, repository.manifests[0]));

    assert.deepEqual(
      after.manifests.map((entry) => entry.id),
      [5],
    );
    assert.deepEqual(
      after.links.map((entry) => entry.digest),
      ['sha256:a', 'sha256:unrelated'],
    );
  });
});
