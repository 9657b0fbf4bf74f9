// Moved to src/sandbox (the sandbox's Slack emulator uses it too); re-exported so tests keep their imports.
export * from '../../src/sandbox/slack/block-kit-rules.js';
