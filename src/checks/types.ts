import type { CheckSpec, Unit } from '../checklists/schema.js';

/**
 * What every check kind shares. A check module is a function `run(spec, context) -> CheckResult`:
 * it measures, compares, and reports — it never touches Redis, Slack or the deployment state.
 *
 * Outcomes: `passed` (evaluated, condition holds), `failed` (evaluated, condition false) and `error`
 * (could not evaluate: timeout, connection refused, 5xx, no data). Never a pass by default: anything a
 * module cannot evaluate is `error`.
 */

export type CheckOutcome = 'passed' | 'failed' | 'error';

export interface CheckResult {
  outcome: CheckOutcome;
  /**
   * One line a person reads in the thread, value against threshold, without an emoji:
   * `error rate 0.04% < 0.1%`, `p95 412 ms > 200 ms`, `HTTP 200 in 38 ms`, `3/3 pods ready (2 restarts)`,
   * `certificate valid 41 more days (Let's Encrypt)`, `timed out after 5s`. At most 300 characters.
   */
  summary: string;
  /** The number measured, when there is one (Prometheus value, latency, days left…). */
  value?: number;
  unit?: Unit;
  /** Extra context for failures and errors (response snippet, which pods are not ready…). ≤ 1,000 chars. */
  detail?: string;
}

/** A finished run as recorded: the module's result plus how the run went. */
export interface CheckRun extends CheckResult {
  attempts: number;
  durationMs: number;
  at: number;
}

/** Everything a module may use besides its spec. Built per run by the worker. */
export interface CheckContext {
  /** Aborted when the check's timeout passes (or the worker shuts down); pass it to every I/O call. */
  signal: AbortSignal;
  /** The service's Prometheus base URL (used when a prometheus spec has no `url`). */
  prometheusUrl?: string;
  /** The service's Kubernetes namespace (used when a kubernetes spec has no `namespace`). */
  namespace: string;
  /** Directory that `dry-run-apply` manifest paths are relative to. */
  manifestsDir?: string;
  /** Kubernetes access, created lazily from KUBECONFIG or the in-cluster service account. */
  kube?: () => Promise<import('../kube/client.js').KubeClients>;
  now(): number;
}

export type CheckType = CheckSpec['type'];
export type SpecOf<T extends CheckType> = Extract<CheckSpec, { type: T }>;
export type CheckModule<T extends CheckType> = (
  spec: SpecOf<T>,
  context: CheckContext,
) => Promise<CheckResult>;
