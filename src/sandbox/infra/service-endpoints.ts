/** The services' own HTTP endpoints: health URLs the incidents can fail, and each service's metrics. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FileConfig, ServiceConfig } from '../../config/schema.js';
import type { Exporter } from '../metrics/metrics-exporter.js';

export function healthPath(service: ServiceConfig): string {
  if (!service.health_url) return '/health';
  const url = new URL(service.health_url);
  return `${url.pathname}${url.search}`;
}

export async function startHttp(file: FileConfig, exporter: Exporter) {
  const health = new Map<string, { status: number; body?: string }>();
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://simulated');
    const [, name = '', ...rest] = url.pathname.split('/');
    const service = file.services[name];
    if (!service) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no service "${name}" here\n`);
      return;
    }
    const path = `/${rest.join('/')}${url.search}`;
    if (path === healthPath(service)) {
      const answer = health.get(name) ?? { status: 200 };
      const body =
        answer.body ?? JSON.stringify({ status: answer.status < 400 ? 'ok' : 'failing', service: name });
      response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    if (url.pathname === `/${name}/metrics`) {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(exporter.metrics(name));
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${name}: ok\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setHealth(service: string, status: number, body?: string) {
      if (!file.services[service]) throw new Error(`no service ${service} in the catalogue`);
      health.set(service, { status, ...(body !== undefined ? { body } : {}) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
