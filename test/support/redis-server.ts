// Moved to src/sandbox (the sandbox starts one when no Redis answers); re-exported for tests.
export * from '../../src/sandbox/infra/redis-server.js';
