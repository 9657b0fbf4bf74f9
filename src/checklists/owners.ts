/**
 * `owner: anyone` opens an item to everyone in the channel; it is never the default. A plain constant
 * (not in schema.ts) so the engine can check it without loading the zod schemas.
 */
export const ANYONE = 'anyone';
