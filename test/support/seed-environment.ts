// Moved to src/sandbox (the sandbox runs the seed services on it too); re-exported for tests.
export * from '../../src/sandbox/infra/seed-environment.js';
