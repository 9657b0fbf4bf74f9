/**
 * Starting a benchmark's deployments the way a team does: signed `/deploy start` commands into the bot's
 * receiver, a few at a time, each waited for until Redis holds it.
 */
import type { DeploymentStore } from '../../src/deployments/store.js';
import type { SlackDriver } from '../../src/sandbox/slack/slack-driver.js';
import { waitFor } from './lifecycle.js';
import { channelId, DEPLOYER, ENVIRONMENT, serviceName } from './workspace.js';

/**
 * Starts deployments of services [from, to) and returns, in service order, what `then` makes of each
 * (called with the new deployment's id once it is active, e.g. to wait for its messages).
 */
export async function startDeployments<T>(
  driver: SlackDriver,
  store: DeploymentStore,
  from: number,
  to: number,
  then: (id: string, index: number) => Promise<T>,
  parallel = 8,
): Promise<T[]> {
  const started: T[] = new Array(to - from);
  let next = from;
  const worker = async () => {
    while (next < to) {
      const index = next++;
      const service = serviceName(index);
      const answer = await driver.slash(
        DEPLOYER,
        channelId(index),
        '/deploy',
        `start ${service} 1.0.${index}`,
      );
      if (answer.status !== 200) throw new Error(`/deploy start ${service} answered HTTP ${answer.status}`);
      const id = await waitFor(() => store.activeFor(service, ENVIRONMENT), `${service} to start`);
      started[index - from] = await then(id, index);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return started;
}
