/**
 * Waiting in tests: a condition is polled until it holds, with a generous
 * bound that only turns a hang into a failure — never a timing assertion.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The safety bound for waits (ms). */
export const WAIT_MS = 10_000;

/** Poll `check` (sync or async) until it holds; throws after `timeoutMs` with `what` in the message. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
