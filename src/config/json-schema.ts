import { z } from 'zod';
import { checklistSchema } from '../checklists/schema.js';
import { fileConfigSchema } from './schema.js';

/**
 * JSON Schemas for flightdeck.yaml and the checklist files, generated from the zod schemas the loaders
 * use, so an editor (YAML language server: the `# yaml-language-server: $schema=…` line at the top of each
 * shipped YAML) completes and checks what the bot will accept. `npm run schema` writes them to
 * docs/schema/; a test fails when the committed copies are stale. What JSON Schema cannot say (the
 * cross-checks between files, refinements) is still only checked by `npm run config:validate`.
 */

export const SCHEMA_FILES = {
  'docs/schema/flightdeck.schema.json': fileConfigSchema,
  'docs/schema/checklist.schema.json': checklistSchema,
} as const;

/** The schema as the YAML is written (before defaults and transforms), pretty-printed with a newline. */
export function jsonSchemaText(schema: z.ZodType, title: string): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...json, title }, null, 2)}\n`;
}

export function generatedSchemas(): Record<string, string> {
  return {
    'docs/schema/flightdeck.schema.json': jsonSchemaText(
      SCHEMA_FILES['docs/schema/flightdeck.schema.json'],
      'Flightdeck configuration (flightdeck.yaml)',
    ),
    'docs/schema/checklist.schema.json': jsonSchemaText(
      SCHEMA_FILES['docs/schema/checklist.schema.json'],
      'Flightdeck checklist (checklists/*.yaml)',
    ),
  };
}
