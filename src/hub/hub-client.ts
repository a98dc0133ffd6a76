/** What the hub needs from a connection: a place to queue framed bytes. */
export interface FrameSink {
  /**
   * Queue a framed message; the buffer is shared by every target and must not
   * be changed. 'dropped' when the connection can no longer send.
   */
  sendFrame(frame: Buffer): 'ok' | 'backpressure' | 'dropped';
}

/**
 * A connection as the hub indexes it: its login and its subscriptions.
 * Sets are created on the first subscription, so an idle connection that never
 * subscribed privately carries no empty Set.
 */
export class HubClient {
  /** The logged-in user, or null. */
  uid: string | null = null;
  /** Public topics (op 1). */
  publicTopics: Set<string> | null = null;
  /** Private topics (op 5), meaningful only while `uid` is set. */
  privateTopics: Set<string> | null = null;

  constructor(readonly sink: FrameSink) {}

  get subscriptionCount(): number {
    return (this.publicTopics?.size ?? 0) + (this.privateTopics?.size ?? 0);
  }
}
