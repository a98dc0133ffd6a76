/**
 * The asking side of the Redis control plane's scatter-gather (`command`,
 * `channels`, `info`): the origin PUBLISHes a request (id, origin, body) on
 * `P control`, every other node answers on `P control:reply:<origin>`. A
 * request is done when every live node of the registry has answered, or as
 * many nodes as the PUBLISH reached, or after the reply timeout — a node that
 * has not answered by then is left out. The answering side is the plane's
 * (it needs the handler); this module only counts and waits.
 */
import { EngineUnavailableError } from '../engine/engine.js';
import type { ControlCommand } from './control-plane.js';
import type { ControlReply } from './redis-control-messages.js';

/** What a request asks the other nodes. */
export type RequestBody =
  | { kind: 'command'; command: ControlCommand }
  | { kind: 'channels'; pattern?: string; after?: string; limit: number }
  | { kind: 'info' };

/** What {@link PendingRequests} needs from the plane. */
export interface PendingRequestsOptions {
  readonly nodeId: string;
  /** `P control`, where requests are published. */
  readonly channel: string;
  readonly replyTimeoutMs: number;
  /** PUBLISH on the command connection; resolves with the number of subscribers reached. */
  publish(channel: string, message: string): Promise<number>;
  /** Ids of the live nodes in the registry (this one included). */
  liveIds(): Promise<string[]>;
  /** The plane is closed: requests finish with what they have. */
  closed(): boolean;
}

/** An outstanding request of this node. */
interface PendingRequest {
  /** Answers of the other nodes, by node id. */
  readonly answers: Map<string, ControlReply>;
  /** Live nodes per the registry (this one excluded), once read. */
  expected?: Set<string>;
  /** Subscribers that got the PUBLISH (this node's own included while subscribed). */
  receivers?: number;
  /** This node's subscriber received its own request (so it is among `receivers`). */
  selfSeen: boolean;
  check(): void;
}

/** This node's requests in flight, and the answers coming back to them. */
export class PendingRequests {
  private readonly requests = new Map<string, PendingRequest>();
  private counter = 0;

  constructor(private readonly options: PendingRequestsOptions) {}

  /**
   * Publish a request and collect the other nodes' answers (see the module
   * comment for when it is done). Rejects only if the request could not be sent.
   */
  gather(body: RequestBody): Promise<ControlReply[]> {
    const { nodeId, channel, replyTimeoutMs } = this.options;
    const id = `${nodeId}.${(this.counter++).toString(36)}`;
    const message = JSON.stringify({ ...body, id, origin: nodeId });
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.requests.delete(id);
        resolve([...request.answers.values()]);
      };
      const timer = setTimeout(finish, replyTimeoutMs);
      const request: PendingRequest = {
        answers: new Map(),
        selfSeen: false,
        check: () => {
          if (this.options.closed()) return finish();
          const { expected, receivers, answers } = request;
          if (expected === undefined || receivers === undefined) return;
          if (answers.size + (request.selfSeen ? 1 : 0) >= receivers) return finish();
          for (const node of expected) if (!answers.has(node)) return;
          finish();
        },
      };
      this.requests.set(id, request);
      Promise.all([this.options.liveIds(), this.options.publish(channel, message)]).then(
        ([ids, receivers]) => {
          request.expected = new Set(ids);
          request.expected.delete(nodeId);
          request.receivers = receivers;
          request.check();
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.requests.delete(id);
          reject(unavailable(error));
        },
      );
    });
  }

  /** Our own request came round on the control channel: the PUBLISH's count includes us. */
  ownRequestSeen(id: string): void {
    const pending = this.requests.get(id);
    if (pending === undefined) return;
    pending.selfSeen = true;
    pending.check();
  }

  /** An answer on our reply channel; a late one (its request is done) is dropped. */
  reply(reply: ControlReply): void {
    const pending = this.requests.get(reply.id);
    if (pending === undefined) return;
    pending.answers.set(reply.node, reply);
    pending.check();
  }

  /** On close: every request finishes with the answers it has. */
  finishAll(): void {
    for (const request of this.requests.values()) request.check();
  }
}

/** A Redis failure as the error the APIs answer 503 to. */
export function unavailable(error: unknown): EngineUnavailableError {
  if (error instanceof EngineUnavailableError) return error;
  return new EngineUnavailableError(`control plane: redis: ${(error as Error).message}`, { cause: error });
}
