/**
 * `--import` this into a process whose entry point is not ours (the production worker, src/worker.ts) so
 * the orchestrator can probe it like its own children. It only listens on the IPC channel until asked.
 */
import { installProbe } from './probe.js';

installProbe();
