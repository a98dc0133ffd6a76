/**
 * `herald`, `herald --help`, `herald <command> --help`, `herald help <command>`,
 * `--version`, and usage errors of the dispatcher itself (exit 2).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertUsageError, lines, runCli } from './run-cli.js';

const COMMANDS = ['serve', 'push', 'token', 'bench'];

describe('herald: help, version and dispatch', () => {
  it('--help lists every command and the exit statuses, exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /^Usage: herald <command> \[options\]/);
      for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'));
      assert.match(result.stdout, /^Exit status:$/m);
      assert.match(result.stdout, /^  0  success$/m);
      assert.match(result.stdout, /^  1  the operation failed/m);
      assert.match(result.stdout, /^  2  usage error/m);
    }
  });

  for (const command of COMMANDS) {
    it(`${command} --help and help ${command} print the command's usage, exit 0`, async () => {
      const viaFlag = await runCli([command, '--help']);
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.equal(viaFlag.stderr, '');
      assert.match(viaFlag.stdout, new RegExp(`^Usage: herald ${command}`));
      assert.match(viaFlag.stdout, /Exit status:/);
      const viaHelp = await runCli(['help', command]);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaHelp.stdout, viaFlag.stdout);
      const short = await runCli([command, '-h']);
      assert.equal(short.stdout, viaFlag.stdout);
      for (const line of lines(viaFlag.stdout)) assert.ok(line.length <= 80, `longer than 80 columns: ${line}`);
    });
  }

  it('serve --help lists the gateway options (formatHelp)', async () => {
    const result = await runCli(['serve', '--help']);
    assert.match(result.stdout, /^Usage: herald serve \[options\]/);
    for (const flag of ['--ws-port <port>', '--api-port <port>', '--push-tokens <tokens>', '--jwt-secret <secret>', '--workers']) {
      assert.ok(result.stdout.includes(flag), `${flag} missing from serve --help`);
    }
  });

  it('token --help says it is for development', async () => {
    const result = await runCli(['token', '--help']);
    assert.match(result.stdout, /FOR DEVELOPMENT/);
  });

  it('--version prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${pkg.version}\n`);
    }
  });

  it('no command → 2, naming the commands', async () => {
    assertUsageError(await runCli([]), 'herald', /missing command \(serve, push, token, bench\)/);
  });

  it('an unknown command → 2, with a suggestion when one is close', async () => {
    assertUsageError(await runCli(['pussh', '--topic', 't', 'x']), 'herald', /unknown command "pussh" \(did you mean "push"\?\)/);
    assertUsageError(await runCli(['frobnicate']), 'herald', /^herald: unknown command "frobnicate"$/);
    assertUsageError(await runCli(['help', 'frobnicate']), 'herald', /unknown command "frobnicate"/);
    assertUsageError(await runCli(['toString']), 'herald', /unknown command "toString"/);
    assertUsageError(await runCli(['help', 'constructor']), 'herald', /unknown command "constructor"/);
  });

  it('an option before the command → 2', async () => {
    assertUsageError(await runCli(['--topic', 'x', 'push']), 'herald', /unknown option --topic \(a command comes first\)/);
  });

  it('help without a command is the main help', async () => {
    const result = await runCli(['help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: herald <command>/);
  });
});
