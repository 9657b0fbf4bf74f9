import { walkedPhases } from '../../checklists/phases.js';
import type { Checklist } from '../../checklists/schema.js';
import type { ChecksReport, VersionReport } from '../types.js';

// The version check: which image checks verified that the cluster runs the version deployed.

/** The image checks of the checklist (those a deployment reached) and what they verified. */
export function buildVersion(checklist: Checklist, checks: ChecksReport): VersionReport | undefined {
  const imageChecks = new Set(
    walkedPhases(checklist).flatMap((phase) =>
      phase.items.flatMap((item) =>
        item.kind === 'check' && item.check.type === 'kubernetes' && item.check.check === 'image'
          ? [item.id]
          : [],
      ),
    ),
  );
  if (imageChecks.size === 0) return undefined;
  const reached = checks.items.filter((check) => imageChecks.has(check.itemId));
  return {
    verified: reached
      .filter((check) => check.final === 'passed')
      .map((check) => ({ title: check.title, summary: check.summary ?? '' })),
    unverified: reached
      .filter((check) => check.final !== 'passed')
      .map((check) => ({
        title: check.title,
        final: check.final,
        ...(check.summary ? { summary: check.summary } : {}),
      })),
  };
}
