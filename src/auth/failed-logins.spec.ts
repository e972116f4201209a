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

  it('reports only the first failure of a window as worth logging', () => {
    const limits = new FailedLogins(10, 60_000, 0, () => 0);

    assert.equal(limits.record('192.0.2.1'), true);
    assert.equal(limits.record('192.0.2.1'), false);
    assert.equal(limits.record('192.0.2.2'), true);
  });
});
