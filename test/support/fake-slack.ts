// Moved to src/sandbox (the sandbox's Slack emulator); re-exported so tests keep their imports.
export * from '../../src/sandbox/slack/fake-slack.js';
