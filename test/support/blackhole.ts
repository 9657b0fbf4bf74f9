import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * A loopback port that never completes a TCP handshake, for timeout tests. An unroutable address
 * (10.255.255.1) is not enough: sandboxes and proxies may answer it. Instead a child process listens
 * with a backlog of 1 and is stopped (SIGSTOP), we fill its accept queue, and from then on the kernel
 * drops new SYNs — a connect just hangs, as it would to a firewalled host.
 */
export interface Blackhole {
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startBlackhole(): Promise<Blackhole> {
  const listenScript = `const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', listenScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`blackhole listener exited (code ${code})`)));
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
  });
  child.kill('SIGSTOP');

  const fillers: Socket[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {}); // torn down in close()
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 250);
    });
    if (!connected) break; // the queue is full: this SYN went unanswered
  }

  return {
    host: '127.0.0.1',
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
