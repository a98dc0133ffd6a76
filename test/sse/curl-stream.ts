/**
 * `curl -N` as a real HTTP streaming client for the SSE and NDJSON tests: it
 * records everything curl prints (`-i`: the response head too), and parses
 * the body as an event stream (HTML Living Standard §9.2.6) or NDJSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { WAIT_MS, waitUntil } from '../helpers/wait.js';

/** One block of an event stream: its fields (data lines joined with LF) and comments. */
export interface SseBlock {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comments: string[];
}

export class CurlStream {
  out = Buffer.alloc(0);
  exitCode: number | null | undefined = undefined;
  private readonly child: ChildProcess;

  /** `curl -N -s -i <args>`: no buffering, the head printed before the body. */
  constructor(args: string[]) {
    this.child = spawn('curl', ['-N', '-s', '-i', '--max-time', '60', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.out = Buffer.concat([this.out, chunk])));
    this.child.on('exit', (code) => (this.exitCode = code));
  }

  get text(): string {
    return this.out.toString('utf8');
  }

  /** The status of the response (0 until its head arrived). */
  get status(): number {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(this.text);
    return match === null ? 0 : Number(match[1]);
  }

  /** A response header (lower-case name), once the head arrived. */
  header(name: string): string | undefined {
    const head = this.text.split('\r\n\r\n')[0];
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim();
    }
    return undefined;
  }

  get body(): string {
    const at = this.text.indexOf('\r\n\r\n');
    return at === -1 ? '' : this.text.slice(at + 4);
  }

  /** The complete blocks of the event stream so far. */
  get blocks(): SseBlock[] {
    const complete = this.body.slice(0, this.body.lastIndexOf('\n\n') + 2);
    const blocks: SseBlock[] = [];
    for (const raw of complete.split('\n\n')) {
      if (raw === '') continue;
      const block: SseBlock = { comments: [] };
      const data: string[] = [];
      for (const line of raw.split('\n')) {
        if (line.startsWith(':')) {
          block.comments.push(line.slice(1));
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'id' || field === 'event' || field === 'retry') block[field] = value;
      }
      if (data.length > 0) block.data = data.join('\n');
      blocks.push(block);
    }
    return blocks;
  }

  /** Blocks that an EventSource would dispatch (they have data). */
  get events(): SseBlock[] {
    return this.blocks.filter((b) => b.data !== undefined);
  }

  /** The NDJSON lines so far (empty keep-alive lines left out). */
  get lines(): any[] {
    const body = this.body;
    return body
      .slice(0, body.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  }

  async waitFor(check: (curl: this) => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    try {
      await waitUntil(() => check(this), what, timeoutMs);
    } catch (error) {
      // What curl printed by the deadline, not before the wait began.
      throw new Error(`${(error as Error).message}; curl printed: ${JSON.stringify(this.text.slice(-2000))}`, { cause: error });
    }
  }

  /** Wait for curl to exit (the server closed the response). */
  async exited(): Promise<void> {
    await this.waitFor((c) => c.exitCode !== undefined, 'curl to exit');
  }

  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
  }
}
