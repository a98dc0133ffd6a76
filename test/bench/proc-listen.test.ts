/**
 * The /proc and `ss` readings S11 reports with its connect failures
 * (bench/lib/proc.ts): a process's descriptor limit and open descriptors,
 * the kernel's listen-queue counters, and a listener's backlog.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { descriptors, listenBacklog, listenCounters, raiseDescriptorLimit } from '../../bench/lib/proc.js';

describe('bench proc readings', () => {
  it('reads this process descriptor limit and count, and a raise to the current limit holds', () => {
    const d = descriptors(process.pid);
    assert.ok(d.open > 0);
    assert.ok(d.soft >= d.open);
    assert.ok(d.hard >= d.soft);
    if (Number.isFinite(d.soft) && d.soft === d.hard) assert.equal(raiseDescriptorLimit(process.pid, d.soft), true);
  });

  it('reads the listen-queue counters as numbers that never go down', () => {
    const a = listenCounters();
    const b = listenCounters();
    assert.ok(Number.isInteger(a.overflows) && Number.isInteger(a.drops));
    assert.ok(b.overflows >= a.overflows && b.drops >= a.drops);
  });

  it('reads the backlog a listener asked for (NaN without ss)', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 37 }, resolve));
    try {
      const backlog = listenBacklog((server.address() as AddressInfo).port);
      if (!Number.isNaN(backlog)) assert.equal(backlog, 37);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
