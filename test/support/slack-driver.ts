// Moved to src/sandbox (the sandbox page sends its clicks through it); re-exported for tests.
export * from '../../src/sandbox/slack/slack-driver.js';
