import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEPLOY_SUBCOMMANDS, parseDeployCommand, USAGE } from '../../../src/slack/commands/parse.js';

/**
 * Every `/deploy` subcommand the parser accepts is named where people look for it: Slack's usage hint
 * (manifest.json), `/deploy help`, and the README's command table. A new subcommand that misses one fails here.
 */
describe('the /deploy subcommands, everywhere they are listed', () => {
  it('lists exactly what the parser accepts', () => {
    for (const sub of DEPLOY_SUBCOMMANDS) {
      const parsed = parseDeployCommand(sub);
      expect(parsed.type === 'invalid' ? parsed.message : sub).not.toMatch(/^Unknown/);
    }
    expect(parseDeployCommand('frobnicate')).toEqual({
      type: 'invalid',
      message: 'Unknown subcommand "frobnicate".',
    });
  });

  it("names each in the manifest's usage hint, in /deploy help and in README.md", async () => {
    const manifest = JSON.parse(await readFile('manifest.json', 'utf8'));
    const hint: string = manifest.features.slash_commands.find(
      (command: { command: string }) => command.command === '/deploy',
    ).usage_hint;
    const readme = await readFile('README.md', 'utf8');
    const missing = DEPLOY_SUBCOMMANDS.flatMap((sub) => [
      ...(new RegExp(`(^|\\| )${sub}\\b`).test(hint) ? [] : [`usage hint: ${sub}`]),
      ...(USAGE.includes(`\`/deploy ${sub}`) ? [] : [`/deploy help: ${sub}`]),
      ...(readme.includes(`| \`/deploy ${sub}`) || readme.includes(`/ \`/deploy ${sub}`)
        ? []
        : [`README: ${sub}`]),
    ]);
    expect(missing).toEqual([]);
  });
});
