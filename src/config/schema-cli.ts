import { writeFile } from 'node:fs/promises';
import { generatedSchemas } from './json-schema.js';

/** `npm run schema`: writes docs/schema/*.json from the zod schemas (see json-schema.ts). */
for (const [path, text] of Object.entries(generatedSchemas())) {
  await writeFile(path, text);
  console.log(`${path} written`);
}
