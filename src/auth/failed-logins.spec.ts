import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FailedLogins } from './failed-logins.js';

describe('FailedLogins', () => {
  it('refuses an address past the limit until its oldest failure leaves the window', () => {
    let now = 1_000_000;
    const limits = new FailedLogins(3, 60_000, 0, () => now);

    for (let i = 0; i < 3; i++) {
      assert.equal(limits.retryAfterSeconds('192.0.2.1'), 0);
      limits.record('192.0.2.1');
      now += 1000;
    }

    assert.equal(limits.retryAfterSeconds('192.0.2.1'), 57);
    assert.equal(limits.retryAfterSeconds('192.0.2.2'), 0);

    now += 57_000;
    assert.equal(limits.retryAfterSeconds('192.0.2.1'), 0);
  });

  it('logs one failure per address and window', () => {
    let now = 0;
    const limits = new FailedLogins(100, 60_000, 0, () => now);
    const logged: boolean[] = [];

    // A client failing every 7 s for 2 min 13 s, as a misconfigured CI job would.
    for (let i = 0; i < 20; i++) {
      logged.push(limits.record('192.0.2.1').log);
      now += 7000;
    }

    assert.equal(logged.filter(Boolean).length, 3);
    assert.equal(limits.record('192.0.2.2').log, true);
  });

  it('marks the failure that reaches the limit', () => {
    const limits = new FailedLogins(3, 60_000, 0, () => 0);
    const lockedOut = [1, 2, 3, 4].map(() => limits.record('192.0.2.1').lockedOut);

    assert.deepEqual(lockedOut, [false, false, true, false]);
  });
});
