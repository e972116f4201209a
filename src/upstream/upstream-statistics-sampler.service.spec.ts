import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';

import { Logger, type LoggerService } from '@nestjs/common';

import type { UpstreamSample, UpstreamTotals } from '../metadata/stores/upstream-statistics.store.js';
import { thinningStep } from '../metadata/stores/upstream-statistics.store.js';
import type { Upstream } from './upstream-routes.js';
import {
  type SampleStore,
  sampleTime,
  UpstreamStatisticsSampler,
} from './upstream-statistics-sampler.service.js';

const minute = 60_000;

/** Keeps the messages Nest's Logger is given, instead of printing them. */
class RecordingLogger implements LoggerService {
  readonly entries: { level: string; message: unknown }[] = [];

  log(...parameters: unknown[]): void {
    this.record('log', parameters);
  }

  error(...parameters: unknown[]): void {
    this.record('error', parameters);
  }

  warn(...parameters: unknown[]): void {
    this.record('warn', parameters);
  }

  debug(...parameters: unknown[]): void {
    this.record('debug', parameters);
  }

  /** Returns the text messages logged at `level`. */
  messages(level: string): unknown[] {
    return this.entries.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  private record(level: string, parameters: unknown[]): void {
    // Nest passes the fields object first, then the message, then the context.
    this.entries.push({ level, message: parameters[1] });
  }
}

const logs = new RecordingLogger();

/** A SampleStore in memory that records each write and can be made to fail or to wait. */
class FakeSampleStore implements SampleStore {
  readonly writes: { samples: readonly UpstreamSample[]; deleteBefore: number }[] = [];
  totalsCalls = 0;
  failing = false;
  /** While set, `recordSamples` waits for it. */
  gate: Promise<void> | undefined;

  totals(): Promise<Map<string, UpstreamTotals>> {
    this.totalsCalls++;

    if (this.failing) {
      return Promise.reject(new Error('database is locked'));
    }

    return Promise.resolve(
      new Map([
        [
          'docker',
          {
            hits: 3,
            misses: 2,
            bytesFetched: 100,
            bytesServed: 250,
            notFound: 1,
            errors: 4,
            errorsByKind: { timeout: 4 },
          },
        ],
      ]),
    );
  }

  storageBytes(prefixes: readonly string[]): Promise<Map<string, number>> {
    return Promise.resolve(new Map(prefixes.map((prefix) => [prefix, prefix === 'docker' ? 5000 : 0])));
  }

  async recordSamples(samples: readonly UpstreamSample[], deleteBefore: number): Promise<number> {
    await this.gate;
    this.writes.push({ samples, deleteBefore });

    return 0;
  }
}

function upstream(prefix: string): Upstream {
  return {
    prefix,
    url: 'http://127.0.0.1:5002',
    dockerHub: false,
    tagTtlMs: 0,
    timeoutMs: 1000,
    notFoundTtlMs: 0,
    tlsVerify: true,
  };
}

function createSampler(store: FakeSampleStore, flushes: { count: number } = { count: 0 }) {
  return new UpstreamStatisticsSampler(
    { all: [upstream('docker'), upstream('quay')] },
    {
      flush: () => {
        flushes.count++;

        return Promise.resolve();
      },
    },
    store,
    { statistics: { sampleInterval: '1m', retention: '1h' } },
  );
}

describe('sampleTime', () => {
  it('rounds down to the interval', () => {
    assert.equal(sampleTime(10 * minute + 59_999, minute), 10 * minute);
  });

  it('keeps a time on the boundary', () => {
    assert.equal(sampleTime(10 * minute, minute), 10 * minute);
  });
});

describe('thinningStep', () => {
  const cases: [string, number, number, number][] = [
    ['1h of 1s samples', 3_600_000, 1000, 15_000],
    ['24h of 1m samples', 86_400_000, minute, 5 * minute],
    ['7d of 1m samples', 604_800_000, minute, 60 * minute],
    ['7d of 7s samples, no round multiple', 604_800_000, 7000, 2_023_000],
    ['a range that fits', 3_600_000, minute, minute],
  ];

  for (const [title, rangeMs, intervalMs, expected] of cases) {
    it(title, () => {
      const step = thinningStep(rangeMs, intervalMs, 300);

      assert.equal(step, expected);
      assert.equal(step % intervalMs, 0);
      assert.ok(Math.ceil(rangeMs / step) + 1 <= 300, `${rangeMs} ms in steps of ${step} ms exceed 300`);
    });
  }
});

describe('UpstreamStatisticsSampler', () => {
  before(() => {
    Logger.overrideLogger(logs);
  });

  beforeEach(() => {
    logs.entries.length = 0;
  });

  it('writes one sample per configured upstream', async () => {
    const store = new FakeSampleStore();
    const flushes = { count: 0 };
    const sampler = createSampler(store, flushes);
    const before = Date.now();

    await sampler.sample();

    const [write] = store.writes;

    assert.equal(store.writes.length, 1);
    assert.equal(flushes.count, 1);
    assert.deepEqual(
      write.samples.map((sample) => [sample.upstream, sample.hits, sample.storageBytes]),
      [
        ['docker', 3, 5000],
        ['quay', 0, 0],
      ],
    );
    assert.equal(write.samples[0].sampledAt % minute, 0);
    assert.ok(write.samples[0].sampledAt <= Date.now());
    assert.ok(write.samples[0].sampledAt > before - minute);
    assert.ok(write.deleteBefore >= before - 3_600_000);
  });

  it('joins a run in progress', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);
    let release = () => {};

    store.gate = new Promise((resolve) => {
      release = resolve;
    });

    const first = sampler.sample();
    const second = sampler.sample();

    release();
    await Promise.all([first, second]);

    assert.equal(store.totalsCalls, 1);
    assert.equal(store.writes.length, 1);
  });

  it('survives a failed run', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);

    store.failing = true;
    await sampler.sample();
    store.failing = false;
    await sampler.sample();

    assert.equal(store.totalsCalls, 2);
    assert.equal(store.writes.length, 1);
    assert.deepEqual(logs.messages('error'), ['failed to sample upstream statistics']);
    assert.deepEqual(logs.messages('log'), ['upstream statistics sampling recovered']);
  });

  it('logs repeated failures less often', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);

    store.failing = true;

    for (let run = 0; run < 5; run++) {
      await sampler.sample();
    }

    // Failures 1, 2 and 4 are logged; 3 and 5 are not.
    assert.equal(logs.messages('error').length, 3);
  });

  it('waits for a run in progress when destroyed', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);
    let release = () => {};
    let destroyed = false;

    store.gate = new Promise((resolve) => {
      release = resolve;
    });

    const run = sampler.sample();
    const destroy = sampler.onModuleDestroy().then(() => {
      destroyed = true;
    });

    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(destroyed, false);

    release();
    await Promise.all([run, destroy]);
    assert.equal(destroyed, true);
    assert.equal(store.writes.length, 1);
  });

  it('samples soon after start', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);

    sampler.onApplicationBootstrap();

    try {
      for (let attempt = 0; attempt < 100 && store.writes.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      assert.equal(store.writes.length, 1);
    } finally {
      await sampler.onModuleDestroy();
    }
  });

  it('takes no sample after it is destroyed', async () => {
    const store = new FakeSampleStore();
    const sampler = createSampler(store);

    await sampler.onModuleDestroy();
    sampler.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 50));

    assert.equal(store.totalsCalls, 0);
  });
});
