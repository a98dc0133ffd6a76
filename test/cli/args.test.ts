/** The option parser shared by the herald subcommands (in process). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { UsageError, describeExit, parseArgs, stringOption, wantsHelp, type OptionSpec } from '../../src/cli/args.js';
import { runHerald } from '../../src/cli/cli.js';

const SPECS: readonly OptionSpec[] = [
  { name: 'topic', type: 'string', placeholder: 'topic', description: 'A topic.' },
  { name: 'url', type: 'string', env: 'X_URL', description: 'A URL.' },
  { name: 'json', type: 'boolean', description: 'JSON.' },
];

function usageError(argv: string[], message: RegExp): void {
  assert.throws(() => parseArgs(argv, SPECS), (error: unknown) => error instanceof UsageError && message.test(error.message));
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

describe('cli args', () => {
  it('reads --name value, --name=value, flags and positionals; -- ends the options; - is positional', () => {
    const parsed = parseArgs(['a', '--topic', 't', '--json', '-', '--url=http://x/?a=b', '--', '--topic', '-x'], SPECS);
    assert.deepEqual([...parsed.options], [['topic', 't'], ['json', true], ['url', 'http://x/?a=b']]);
    assert.deepEqual(parsed.positionals, ['a', '-', '--topic', '-x']);
  });

  it('a value may start with a single dash', () => {
    assert.equal(parseArgs(['--topic', '-5'], SPECS).options.get('topic'), '-5');
    assert.equal(parseArgs(['--topic=--x'], SPECS).options.get('topic'), '--x');
  });

  it('refuses unknown options, missing or empty values, values on flags and repeats', () => {
    usageError(['--tpoic', 't'], /^unknown option --tpoic \(did you mean "--topic"\?\)$/);
    usageError(['--zzzzzzzz'], /^unknown option --zzzzzzzz$/);
    usageError(['-j'], /^unknown option -j/);
    usageError(['--topic'], /^--topic needs a value \(--topic <topic>\)$/);
    usageError(['--topic', '--json'], /^--topic needs a value/);
    usageError(['--topic='], /^--topic needs a non-empty value$/);
    usageError(['--json=yes'], /^--json takes no value$/);
    usageError(['--topic', 'a', '--topic', 'b'], /^--topic given more than once$/);
  });

  it('stringOption falls back to the environment variable; an empty one counts as unset', () => {
    const none = parseArgs([], SPECS);
    assert.equal(stringOption(none, SPECS, 'url', { X_URL: 'http://env' }), 'http://env');
    assert.equal(stringOption(none, SPECS, 'url', { X_URL: '' }), undefined);
    assert.equal(stringOption(parseArgs(['--url', 'http://flag'], SPECS), SPECS, 'url', { X_URL: 'http://env' }), 'http://flag');
  });

  it('wantsHelp sees --help and -h before --, not after', () => {
    assert.equal(wantsHelp(['--topic', 't', '--help']), true);
    assert.equal(wantsHelp(['-h']), true);
    assert.equal(wantsHelp(['--', '--help']), false);
    assert.equal(wantsHelp(['x']), false);
  });

  it('describeExit aligns wrapped lines under the text', () => {
    const entry = describeExit(1, 'word '.repeat(30).trim());
    assert.ok(entry[0].startsWith('  1  word'));
    assert.ok(entry.length > 1);
    for (const line of entry.slice(1)) assert.ok(line.startsWith('     word'));
    for (const line of entry) assert.ok(line.length <= 80);
  });

  it('runHerald in process: usage errors go to stderr with the hint, exit 2', async () => {
    const stdout = new Sink();
    const stderr = new Sink();
    const code = await runHerald(['token', '--uid', 'u', '--secret', 'short'], { stdout, stderr, env: {} });
    assert.equal(code, 2);
    assert.equal(stdout.text, '');
    assert.match(stderr.text, /^herald token: the secret is 5 bytes; .*\nsee herald token --help\n$/);
  });
});
