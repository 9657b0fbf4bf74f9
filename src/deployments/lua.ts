import { readFileSync } from 'node:fs';

/**
 * The Lua scripts Redis runs for the store, the message claims and the inbox, one `.lua` file each in
 * ./scripts/ (a header comment names its KEYS and ARGV). Read once when this module loads, so a missing
 * file fails the process at start rather than at its first write. The production build copies the files
 * beside the compiled code (tools/copy-lua.mjs), so the same relative path works from src/ and dist/.
 */
export const SCRIPTS_DIR = new URL('./scripts/', import.meta.url);

export function luaScript(name: string): string {
  return readFileSync(new URL(`${name}.lua`, SCRIPTS_DIR), 'utf8');
}
