import { dnsCheck } from './dns.js';
import { httpCheck } from './http.js';
import { kubernetesCheck } from './kubernetes/index.js';
import { prometheusCheck } from './prometheus.js';
import type { CheckModules } from './runner.js';
import { tcpCheck } from './tcp.js';
import { tlsCheck } from './tls.js';

/** Every check kind a checklist can name, by its `type`. */
export const checkModules: CheckModules = {
  http: httpCheck,
  prometheus: prometheusCheck,
  kubernetes: kubernetesCheck,
  tls: tlsCheck,
  dns: dnsCheck,
  tcp: tcpCheck,
};
