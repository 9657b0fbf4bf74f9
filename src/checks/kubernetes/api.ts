import {
  ApiException,
  type ConfigurationOptions,
  createConfiguration,
  type KubeConfig,
  KubernetesObjectApi,
  Observable,
  type ObservableMiddleware,
  ServerConfiguration,
} from '@kubernetes/client-node';
import type { CheckResult } from '../types.js';
import { clip, firstLine, messageOf } from './summary.js';

/** Client plumbing shared by the checks (cancellation, the objects API) and how API errors are worded. */

/** Per-call options that tie the request to the run's AbortSignal. */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return { middleware: [signalMiddleware(signal)], middlewareMergeStrategy: 'append' };
}

function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
}

/**
 * A KubernetesObjectApi whose every request carries the signal (the class ignores per-call middleware),
 * with its protected discovery lookup opened up: `exists` and the dry run need to know whether a kind is
 * served, and whether it is namespaced, before they touch an object.
 */
export class ObjectsApi extends KubernetesObjectApi {
  static forRun(config: KubeConfig, signal: AbortSignal): ObjectsApi {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('no Kubernetes cluster configured');
    const api = new ObjectsApi(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: config },
        middleware: [signalMiddleware(signal)],
      }),
    );
    api.setDefaultNamespace(config);
    return api;
  }

  /** The API resource serving apiVersion/kind, or undefined when the server has no such kind. */
  async served(apiVersion: string, kind: string) {
    try {
      return await this.resource(apiVersion, kind);
    } catch (error) {
      if (isStatus(error, 404)) return undefined; // the whole group/version is not served
      throw error;
    }
  }
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** The `message` of the Status an ApiException carries (its body is the JSON text, or parsed). */
export function statusMessage(error: unknown): string | undefined {
  if (!(error instanceof ApiException)) return undefined;
  let body: unknown = error.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim() ? firstLine(text) : undefined;
    }
  }
  if (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { message?: unknown }).message === 'string'
  )
    return (body as { message: string }).message;
  return undefined;
}

export function errorResult(error: unknown, signal: AbortSignal): CheckResult {
  if (signal.aborted || (error instanceof Error && error.name === 'AbortError')) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
    return { outcome: 'error', summary: clip(reason) };
  }
  if (error instanceof ApiException) {
    const message = statusMessage(error);
    const code = error.code;
    if (code === 401)
      return {
        outcome: 'error',
        summary: clip(`cannot evaluate: unauthorized (401)${message ? `: ${message}` : ''}`),
      };
    if (code === 403)
      return {
        outcome: 'error',
        summary: clip(`cannot evaluate: no permission: ${message ?? 'forbidden (403)'}`),
      };
    return {
      outcome: 'error',
      summary: clip(`cannot evaluate: Kubernetes API answered ${code}${message ? `: ${message}` : ''}`),
    };
  }
  const code = (error as { code?: unknown }).code;
  if (error instanceof Error && error.name === 'FetchError')
    return {
      outcome: 'error',
      summary: clip(
        `cannot reach the Kubernetes API${typeof code === 'string' ? ` (${code})` : ''}: ${error.message}`,
      ),
    };
  return { outcome: 'error', summary: clip(`cannot evaluate: ${messageOf(error)}`) };
}
