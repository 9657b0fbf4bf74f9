/**
 * What an orchestrator can ask a child (the bot, a worker, a baseline) about a measured run, over IPC:
 * how long its event loop stalled and how much time went to garbage collection, and a V8 CPU profile of
 * just that run (when the benchmark is asked for profiles), so setup does not dilute it.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { type IntervalHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { ask, type Child } from './children.js';
import { progress } from './lifecycle.js';
import type { ProbeCommand, ProbeReply } from './protocol.js';

export function installProbe(): void {
  let inspector: Session | undefined;
  let loopDelay: IntervalHistogram | undefined;
  let gcMs = 0;
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      gcMaxMs = Math.max(gcMaxMs, entry.duration);
    }
  });

  const handle = async (command: ProbeCommand): Promise<ProbeReply> => {
    switch (command.action) {
      case 'start':
        loopDelay = monitorEventLoopDelay({ resolution: 1 });
        loopDelay.enable();
        gcMs = 0;
        gcMaxMs = 0;
        gc.observe({ entryTypes: ['gc'] });
        if (command.profile) {
          inspector = new Session();
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.start');
        }
        return { type: 'probe' };
      case 'stop': {
        loopDelay?.disable();
        gc.disconnect();
        if (inspector && command.profile) {
          const { profile } = await inspector.post('Profiler.stop');
          await writeFile(command.profile, JSON.stringify(profile));
          inspector.disconnect();
          inspector = undefined;
        }
        const ms = (nanos: number | undefined) => (nanos ?? 0) / 1e6;
        return {
          type: 'probe',
          loopDelayP99Ms: ms(loopDelay?.percentile(99)),
          loopDelayMaxMs: ms(loopDelay?.max),
          gcMs,
          gcMaxMs,
        };
      }
    }
  };

  process.on('message', (command: ProbeCommand) => {
    if (command?.type !== 'probe') return;
    handle(command).then(
      (reply) => process.send?.(reply),
      (error: Error) => process.send?.({ type: 'probe', error: error.message } satisfies ProbeReply),
    );
  });
}

/** The orchestrator's side: brackets a run in `child` and returns what it measured. */
export async function probe(child: Child, command: ProbeCommand): Promise<ProbeReply> {
  const reply = await ask<ProbeReply>(child, command, (message) => (message as ProbeReply)?.type === 'probe');
  if (reply.error) progress(`  probe: ${reply.error}`);
  return reply;
}
