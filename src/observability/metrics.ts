import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics served at GET /metrics. One registry per process (tests create their own). */
export class Metrics {
  readonly registry = new Registry();
  readonly transitions = new Counter({
    name: 'flightdeck_transitions_total',
    help: 'Deployment commands applied or refused, by command and outcome',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly slackRequests = new Counter({
    name: 'flightdeck_slack_requests_total',
    help: 'Requests from Slack by kind (command, action, view)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly transitionSeconds = new Histogram({
    name: 'flightdeck_transition_seconds',
    help: 'Time to load, decide and commit one command',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
