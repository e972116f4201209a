import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SingleFlight } from './single-flight.js';

/** A promise with its resolve and reject functions, so a test decides when an operation settles. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });

  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('concurrent callers share one run', async () => {
    const flight = new SingleFlight<string>();
    const pending = deferred<string>();
    let runs = 0;

    const operation = () => {
      runs++;

      return pending.promise;
    };

    const first = flight.run('key', operation);
    const second = flight.run('key', operation);
    const third = flight.run('key', operation);

    pending.resolve('value');

    assert.deepEqual(await Promise.all([first, second, third]), ['value', 'value', 'value']);
    assert.equal(runs, 1);
  });

  it('concurrent callers get same promise', () => {
    const flight = new SingleFlight<string>();
    const pending = deferred<string>();

    const first = flight.run('key', () => pending.promise);
    const second = flight.run('key', () => pending.promise);

    pending.resolve('value');

    assert.equal(first, second);
  });

  it('different keys run separately', async () => {
    const flight = new SingleFlight<string>();
    let runs = 0;

    const operation = (value: string) => () => {
      runs++;

      return Promise.resolve(value);
    };

    const results = await Promise.all([flight.run('a', operation('A')), flight.run('b', operation('B'))]);

    assert.deepEqual(results, ['A', 'B']);
    assert.equal(runs, 2);
  });

  it('caller after settle starts new run', async () => {
    const flight = new SingleFlight<number>();
    let runs = 0;
    const operation = () => Promise.resolve(++runs);

    const first = await flight.run('key', operation);
    const second = await flight.run('key', operation);

    assert.equal(first, 1);
    assert.equal(second, 2);
    assert.equal(runs, 2);
  });

  it('rejection is shared', async () => {
    const flight = new SingleFlight<string>();
    const pending = deferred<string>();
    const failure = new Error('upstream failed');
    let runs = 0;

    const operation = () => {
      runs++;

      return pending.promise;
    };

    const first = flight.run('key', operation);
    const second = flight.run('key', operation);

    pending.reject(failure);

    await assert.rejects(first, (error) => error === failure);
    await assert.rejects(second, (error) => error === failure);
    assert.equal(runs, 1);
  });

  it('rejection is cleared after settle', async () => {
    const flight = new SingleFlight<string>();
    let runs = 0;

    await assert.rejects(
      flight.run('key', () => {
        runs++;

        return Promise.reject(new Error('first run failed'));
      }),
      /first run failed/,
    );

    const retried = await flight.run('key', () => {
      runs++;

      return Promise.resolve('second run');
    });

    assert.equal(retried, 'second run');
    assert.equal(runs, 2);
  });
});
