import { EngineUnavailableError, type Engine, type Publication } from '../engine/engine.js';
import { ApiError } from './http-errors.js';
import { parseBatchItem, type PushLimits } from './push-request.js';

/**
 * Hands a validated push to the engine. Returns undefined when the engine
 * accepted it before returning (the memory engine: see `Engine.publishNow`),
 * else a promise of its acceptance; throws or rejects with
 * EngineUnavailableError when it cannot be accepted. The synchronous answer is
 * what lets a batch of 100 pushes cost no promise, closure or microtask per item
 * (one push was four promises and two closures before).
 */
export type PublishPush = (publication: Publication) => Promise<void> | undefined;

/** The push APIs' {@link PublishPush} over `engine`: synchronous when the engine can be. */
export function publisherOf(engine: Engine): PublishPush {
  if (engine.publishNow !== undefined) {
    return (publication) => {
      (engine.publishNow as NonNullable<Engine['publishNow']>)(publication);
      return undefined;
    };
  }
  return (publication) => engine.publish(publication).then(ignore);
}

/** One item's outcome in a `POST /v1/push` answer. */
export type BatchResult = { ok: true } | { ok: false; error: { code: string; message: string } };

/** `POST /v1/push`'s answer: counts and one result per item, in item order. */
export interface BatchOutcome {
  accepted: number;
  failed: number;
  results: BatchResult[];
}

/** Shared by every accepted item (serialised, never changed). */
const ACCEPTED: BatchResult = Object.freeze({ ok: true as const });

/**
 * Validate and publish the items of a batch in item order (engines keep
 * per-caller order). An invalid item fails alone (its ApiError code in its
 * result), as does one the engine refuses (UNAVAILABLE); any other error is a
 * bug and is thrown. Synchronous when every item was accepted synchronously,
 * else a promise that waits for all of them together.
 */
export function acceptBatch(items: readonly unknown[], limits: PushLimits, publish: PublishPush): BatchOutcome | Promise<BatchOutcome> {
  const results: BatchResult[] = new Array(items.length);
  let pending: Promise<void>[] | null = null;
  for (let i = 0; i < items.length; i++) {
    let publication: Publication;
    try {
      publication = parseBatchItem(items[i], limits);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      results[i] = failure(error.code, error.message);
      continue;
    }
    let accepting: Promise<void> | undefined;
    try {
      accepting = publish(publication);
    } catch (error) {
      results[i] = refused(error);
      continue;
    }
    if (accepting === undefined) results[i] = ACCEPTED;
    else {
      (pending ??= []).push(
        accepting.then(
          () => {
            results[i] = ACCEPTED;
          },
          (error: unknown) => {
            results[i] = refused(error);
          },
        ),
      );
    }
  }
  if (pending === null) return outcomeOf(results);
  return Promise.all(pending).then(() => outcomeOf(results));
}

function outcomeOf(results: BatchResult[]): BatchOutcome {
  let accepted = 0;
  for (const r of results) if (r.ok) accepted++;
  return { accepted, failed: results.length - accepted, results };
}

function failure(code: string, message: string): BatchResult {
  return { ok: false, error: { code, message } };
}

/** An engine's refusal is the item's failure; anything else is a bug, thrown (the request gets 500). */
function refused(error: unknown): BatchResult {
  if (!(error instanceof EngineUnavailableError)) throw error;
  return failure('UNAVAILABLE', error.message);
}

function ignore(): void {}
