import { ReplyCode } from '../codes.js';
import { topicSetHas } from '../hub/hub-client.js';
import { checkTopic, type TopicRules } from '../util/topic-rules.js';
import type { Namespaces } from '../util/namespaces.js';
import type { SessionClient } from './session-client.js';

/** Op 9 publications one connection may have waiting for the engine; more are refused (30008 busy). */
const MAX_IN_FLIGHT = 16;

type Answer = (client: SessionClient, code: ReplyCode, detail: unknown, id: unknown) => void;

/**
 * Op 9 (herald.v1 only): `{"code":9,"id":…,"topic":…,"data":<any JSON>}` — a
 * client publishes to a topic whose namespace says `"publish": true`, and, unless
 * the namespace lets anyone subscribe, only to a topic it is subscribed to.
 * The data goes out as an HTTP push of that JSON value would (`/v1/push` with
 * `data` its JSON text): through the engine, to every subscriber on every node,
 * numbered in the topic's stream. The reply (20009, or 30008 when the engine
 * refused) carries the request's id and may come after later replies.
 */
export class ClientPublish {
  /** Publications waiting for the engine, per connection that has any (weak: idle connections carry nothing). */
  private readonly inFlight = new WeakMap<SessionClient, number>();

  constructor(
    private readonly namespaces: Namespaces,
    private readonly rules: TopicRules,
    private readonly publish: ((topic: string, data: Buffer) => Promise<void>) | undefined,
    private readonly maxBytes: number,
    private readonly answer: Answer,
    private readonly failed: (client: SessionClient, error: unknown) => void,
  ) {}

  handle(client: SessionClient, topic: unknown, data: unknown, id: unknown): void {
    const problem = checkTopic(topic, this.rules);
    if (problem !== undefined) return this.answer(client, ReplyCode.InvalidTopic, problem, id);
    const name = topic as string;
    const namespace = this.namespaces.namespaceOf(name);
    const publish = this.publish;
    if (namespace === undefined || !namespace.publish || publish === undefined) {
      return this.answer(client, ReplyCode.Forbidden, 'publish not allowed', id);
    }
    const subscribed = topicSetHas(client.publicTopics, name) || (client.uid !== null && topicSetHas(client.privateTopics, name));
    if (namespace.subscribe !== 'anyone' && !subscribed) {
      return this.answer(client, ReplyCode.Forbidden, 'publish not allowed: subscribe to the topic first', id);
    }
    if (data === undefined) return this.answer(client, ReplyCode.BadRequest, 'data is required (any JSON value)', id);
    let payload: Buffer;
    try {
      payload = Buffer.from(JSON.stringify(data), 'utf8');
    } catch {
      // JSON.parse reads nesting that the recursive JSON.stringify cannot write back (`[[[…]]]` 32,000 deep
      // fits in 64 KiB): the client's bad request, not a bug that closes its connection with 1011.
      return this.answer(client, ReplyCode.BadRequest, 'data is nested too deeply', id);
    }
    if (payload.length > this.maxBytes) {
      return this.answer(client, ReplyCode.BadRequest, `data is ${payload.length} bytes; the limit is ${this.maxBytes}`, id);
    }
    const waiting = this.inFlight.get(client) ?? 0;
    if (waiting >= MAX_IN_FLIGHT) {
      return this.answer(client, ReplyCode.Forbidden, `busy: at most ${MAX_IN_FLIGHT} publications in flight per connection`, id);
    }
    this.inFlight.set(client, waiting + 1);
    let published: Promise<void>;
    try {
      published = publish(name, payload);
    } catch (error) {
      published = Promise.reject(error);
    }
    published
      .finally(() => {
        const left = (this.inFlight.get(client) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(client);
        else this.inFlight.set(client, left);
      })
      .then(
        () => client.conn.isOpen && this.answer(client, ReplyCode.Published, undefined, id),
        () => client.conn.isOpen && this.answer(client, ReplyCode.Forbidden, 'publish failed: the engine is unavailable; retry later', id),
      )
      .catch((error: unknown) => this.failed(client, error));
  }
}
