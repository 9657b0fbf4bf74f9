import { formatDuration } from '../shared/duration.js';
import type { CheckSpec, Item, Unit } from './schema.js';

/**
 * One-line, human descriptions of what an item does, for Slack messages and the CLI.
 */

/** A number in the unit people read it in: ratios as percentages, small seconds as milliseconds. */
export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'ratio':
      return `${trim(value * 100)}%`;
    case 'percent':
      return `${trim(value)}%`;
    case 'seconds':
      return Math.abs(value) < 1 ? `${trim(value * 1000)} ms` : `${trim(value)} s`;
    case 'milliseconds':
      return `${trim(value)} ms`;
    case 'bytes':
      return formatBytes(value);
    case 'number':
      return trim(value);
  }
}

function trim(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(value.toFixed(digits)));
}

function formatBytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let index = 0;
  while (Math.abs(scaled) >= 1024 && index < units.length - 1) {
    scaled /= 1024;
    index++;
  }
  return `${trim(scaled)} ${units[index]}`;
}

export function describeCheck(spec: CheckSpec): string {
  switch (spec.type) {
    case 'http': {
      const status = Array.isArray(spec.expect_status)
        ? `${spec.expect_status[0]}–${spec.expect_status[1]}`
        : spec.expect_status;
      const latency = spec.max_latency ? `, under ${formatDuration(spec.max_latency)}` : '';
      return `HTTP ${spec.method} ${spec.url} → ${status}${latency}`;
    }
    case 'prometheus': {
      const window = spec.for ? ` for ${formatDuration(spec.for)}` : '';
      return `${spec.label ?? 'metric'} ${spec.comparator} ${formatValue(spec.threshold, spec.unit)}${window}`;
    }
    case 'kubernetes':
      switch (spec.check) {
        case 'pods-ready':
          return `pods ready: ${spec.selector}${spec.namespace ? ` in ${spec.namespace}` : ''}`;
        case 'rollout-complete':
          return `rollout complete: deployment/${spec.deployment}`;
        case 'nodes-ready':
          return 'all nodes ready';
        case 'endpoints-ready':
          return `ready endpoints: service/${spec.service}`;
        case 'exists':
          return `exists: ${spec.kind}/${spec.name}`;
        case 'image': {
          const where = spec.deployment ? `deployment/${spec.deployment}` : `pods ${spec.selector}`;
          return `image ${spec.expect} runs: ${where}${spec.container ? ` (container ${spec.container})` : ''}`;
        }
        case 'dry-run-apply':
          return `server-side dry run: ${spec.manifests.join(', ')}`;
      }
      break;
    case 'tls':
      return `TLS ${spec.host}:${spec.port} valid for ≥ ${spec.min_days} days`;
    case 'dns':
      return `DNS ${spec.name} resolves${spec.expect ? ` to ${spec.expect.join(', ')}` : ''}`;
    case 'tcp':
      return `TCP ${spec.host}:${spec.port} accepts connections`;
  }
}

/** What an item asks for beyond "mark it done"; undefined for manual items. */
export function describeItemSpec(item: Item): string | undefined {
  switch (item.kind) {
    case 'manual':
      return undefined;
    case 'check':
      return `check · ${describeCheck(item.check)}`;
    case 'signoff':
      return `sign-off · ${item.signoff.count > 1 ? `${item.signoff.count} people from ` : ''}${item.signoff.role}${item.signoff.waivable_by ? ` (${item.signoff.waivable_by} may waive)` : ''}`;
    case 'traffic':
      return 'weight' in item.traffic
        ? `traffic · shift to ${item.traffic.weight}%`
        : `traffic · switch to the ${item.traffic.slot} slot`;
    case 'wait':
      return `watch · ${formatDuration(item.wait.duration)} window`;
  }
}
