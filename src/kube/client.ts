import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
} from '@kubernetes/client-node';

/**
 * Kubernetes access through the official client. The configuration comes from KUBECONFIG (or
 * ~/.kube/config), else the in-cluster service account — `loadFromDefault` does both.
 */

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  networking: NetworkingV1Api;
  autoscaling: AutoscalingV2Api;
  custom: CustomObjectsApi;
  /** Generic access to any object by apiVersion/kind (exists, server-side dry run). */
  objects: KubernetesObjectApi;
}

export function createKubeClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    networking: config.makeApiClient(NetworkingV1Api),
    autoscaling: config.makeApiClient(AutoscalingV2Api),
    custom: config.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(config),
  };
}

/** Clients from the environment, created on first use and shared afterwards. */
export function lazyKubeClients(): () => Promise<KubeClients> {
  let clients: Promise<KubeClients> | undefined;
  return () => {
    clients ??= Promise.resolve().then(() => {
      const config = new KubeConfig();
      config.loadFromDefault();
      if (!config.getCurrentCluster()) {
        throw new Error(
          'no Kubernetes cluster configured (set KUBECONFIG, or run in a pod with a service account)',
        );
      }
      return createKubeClients(config);
    });
    return clients;
  };
}
