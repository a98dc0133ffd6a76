/**
 * The text-`ping` heartbeat of one connection (PROTOCOL.md: browsers cannot
 * send WebSocket ping frames, so the server answers text `ping` with `pong`).
 *
 * Ticks are counted rather than clocks read, so a throttled timer (a
 * background browser tab) never makes a live connection look dead: it is
 * declared dead after two ticks in a row with nothing received, i.e. two
 * intervals without an answer to a `ping`.
 */
export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  private heard = false;
  private silentTicks = 0;

  /**
   * @param intervalMs ms between pings; 0 disables the heartbeat.
   * @param ping sends text `ping`.
   * @param dead called once when the connection is declared dead (the heartbeat has stopped).
   */
  constructor(
    private readonly intervalMs: number,
    private readonly ping: () => void,
    private readonly dead: () => void,
  ) {}

  start(): void {
    this.stop();
    if (this.intervalMs === 0) return;
    this.heard = true;
    this.silentTicks = 0;
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Anything arrived (a `pong` or any other frame): the connection is alive. */
  alive(): void {
    this.heard = true;
  }

  private beat(): void {
    this.silentTicks = this.heard ? 0 : this.silentTicks + 1;
    this.heard = false;
    if (this.silentTicks < 2) return this.ping();
    this.stop();
    this.dead();
  }
}
