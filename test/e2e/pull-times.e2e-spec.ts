/**
 * Last-pulled times of local repositories: a manifest GET is a pull and a HEAD is not. Times are
 * written in batches and at shutdown, so a restart shows exactly what was pulled before it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { createImage, mediaTypes, OciClient } from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface TagPage {
  items: { name: string; lastPullAt: string | null }[];
}

interface RepositoryPage {
  items: { name: string; lastPullAt: string | null }[];
}

/** The batch interval is 5 s; this allows three of them. */
const pullTimeDeadlineMs = 15_000;

describe('last-pulled times of local repositories', () => {
  let wharf: WharfServer;
  let rootDirectory: string;
  const image = createImage({ layerCount: 1 });

  async function restart(): Promise<void> {
    await wharf.stop();
    wharf = await startWharf({ rootDirectory });
  }

  async function json<T>(path: string): Promise<T> {
    const response = await fetch(`${wharf.baseUrl}${path}`);

    assert.equal(response.status, 200, path);

    return (await response.json()) as T;
  }

  async function tagPullTimes(): Promise<Record<string, string | null>> {
    const page = await json<TagPage>('/api/v1/repositories/local%2Fapp/tags');

    return Object.fromEntries(page.items.map((tag) => [tag.name, tag.lastPullAt]));
  }

  function getManifest(reference: string, method: 'GET' | 'HEAD'): Promise<Response> {
    return fetch(`${wharf.baseUrl}/v2/local/app/manifests/${reference}`, {
      method,
      headers: { Accept: mediaTypes.imageManifest },
    });
  }

  before(async () => {
    wharf = await startWharf();
    rootDirectory = wharf.rootDirectory;

    const client = new OciClient(wharf.baseUrl);

    await client.pushImage('local/app', 'v1', image);
    await client.pushImage('local/other', 'v1', createImage({ layerCount: 1 }));
  });

  after(async () => {
    await wharf?.dispose();
  });

  it('does not count a HEAD request as a pull', async () => {
    const head = await getManifest('v1', 'HEAD');

    assert.equal(head.status, 200);
    await restart();
    assert.deepEqual(await tagPullTimes(), { v1: null });
  });

  it('records a GET and keeps it across a restart', async () => {
    const before = Date.now();
    const response = await getManifest('v1', 'GET');

    await response.arrayBuffer();
    assert.equal(response.status, 200);
    await restart();

    const pulledAt = (await tagPullTimes()).v1;

    assert.ok(pulledAt !== null, 'the GET should be recorded');
    assert.ok(Date.parse(pulledAt) >= before - 1000, pulledAt);

    const sorted = await json<RepositoryPage>('/api/v1/repositories?sort=lastPull');

    assert.deepEqual(
      sorted.items.map((item) => [item.name, item.lastPullAt]),
      [
        ['local/app', pulledAt],
        ['local/other', null],
      ],
    );
  });

  it('writes a later pull by digest while running', async () => {
    const previous = (await tagPullTimes()).v1 ?? '';

    await sleep(5);

    const response = await getManifest(image.manifest.digest, 'GET');

    await response.arrayBuffer();
    assert.equal(response.status, 200);

    const deadline = Date.now() + pullTimeDeadlineMs;
    let current = previous;

    while (current === previous && Date.now() < deadline) {
      await sleep(250);
      current = (await tagPullTimes()).v1 ?? '';
    }

    assert.ok(Date.parse(current) > Date.parse(previous), `${previous} then ${current}`);
  });
});
