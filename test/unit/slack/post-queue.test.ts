import { describe, expect, it } from 'vitest';
import { PostQueue } from '../../../src/slack/post-queue.js';

/** Posts per channel: in order, at the pace, a 429 holding only its channel. With real timers. */

const rateLimited = (seconds: number) =>
  Object.assign(new Error('ratelimited'), { code: 'slack_webapi_rate_limited_error', retryAfter: seconds });

describe('PostQueue', () => {
  it('posts a channel’s messages one at a time, in order, a burst at once and then at the pace', async () => {
    const queue = new PostQueue({ perSecond: 10, burst: 2 });
    const started = Date.now();
    const sent: Array<{ channel: string; text: string; at: number }> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const post = (channel: string, text: string) =>
      queue.run(channel, async () => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        sent.push({ channel, text, at: Date.now() - started });
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return text;
      });
    const answers = await Promise.all([
      post('C1', 'a'),
      post('C1', 'b'),
      post('C1', 'c'),
      post('C1', 'd'),
      post('C2', 'elsewhere'),
    ]);
    expect(answers).toEqual(['a', 'b', 'c', 'd', 'elsewhere']);
    const inC1 = sent.filter((entry) => entry.channel === 'C1');
    expect(inC1.map((entry) => entry.text)).toEqual(['a', 'b', 'c', 'd']);
    expect(inC1[1]!.at).toBeLessThan(30);
    expect(inC1[2]!.at).toBeGreaterThanOrEqual(90);
    expect(inC1[3]!.at - inC1[2]!.at).toBeGreaterThanOrEqual(90);
    // Another channel does not wait behind C1; within a channel one post at a time.
    expect(sent.find((entry) => entry.channel === 'C2')!.at).toBeLessThan(30);
    expect(mostInFlight).toBeLessThanOrEqual(2);
  });

  it('waits out a 429 in that channel only, then sends the same post again', async () => {
    const queue = new PostQueue({ perSecond: 100, burst: 10 });
    const started = Date.now();
    const attempts: Array<{ text: string; at: number }> = [];
    let refused = false;
    const limited = queue.run('C1', async () => {
      attempts.push({ text: 'card', at: Date.now() - started });
      if (!refused) {
        refused = true;
        throw rateLimited(1);
      }
      return 'card';
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const elsewhere = await queue.run('C2', async () => Date.now() - started);
    expect(elsewhere).toBeLessThan(100);
    expect(await limited).toBe('card');
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('passes any other failure to its caller and goes on with the next post', async () => {
    const queue = new PostQueue({ perSecond: 100, burst: 10 });
    const refused = queue.run('C1', async () => {
      throw Object.assign(new Error('not_in_channel'), { code: 'slack_webapi_platform_error' });
    });
    const next = queue.run('C1', async () => 'next');
    await expect(refused).rejects.toThrow('not_in_channel');
    expect(await next).toBe('next');
  });

  it('counts the posts in line per channel, failed and refused ones leaving the line too', async () => {
    const queue = new PostQueue({ perSecond: 1_000, burst: 1_000 });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = queue.run('C1', () => held);
    const second = queue.run('C1', async () => {
      throw Object.assign(new Error('not_in_channel'), { code: 'slack_webapi_platform_error' });
    });
    const third = queue.run('C1', async () => 'third');
    expect(queue.waiting('C1')).toBe(3);
    expect(queue.waiting('C2')).toBe(0);
    release();
    await first;
    await expect(second).rejects.toThrow('not_in_channel');
    expect(await third).toBe('third');
    expect(queue.waiting('C1')).toBe(0);
  });
});
