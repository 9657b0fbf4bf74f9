// Types for blockkit.js (plain JavaScript, served to the browser as it is), for the unit tests.

export interface RenderContext {
  /** False where clicks cannot go (ephemeral messages, modals' display blocks). */
  interactive: boolean;
  people: Array<{ id: string; realName: string }>;
  userName(id: string): string;
  channelName(id: string): string;
  link(url: string, label?: string): string;
  /** Remembers an interactive element; returns the id the page finds it by. */
  register(element: unknown, block: unknown): string;
}

export function escapeHtml(text: string): string;
export function formatSlackDate(seconds: number, format: string, now?: Date): string;
export function mrkdwn(text: string, ctx: RenderContext): string;
/** Standard Markdown (the markdown block's text) as HTML. */
export function markdown(text: string, ctx: RenderContext): string;
export function textObject(
  object: { type: string; text: string; emoji?: boolean } | undefined,
  ctx: RenderContext,
): string;
export function renderBlocks(blocks: unknown[], ctx: RenderContext): string;
