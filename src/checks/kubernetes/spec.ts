import type { SpecOf } from '../types.js';

/** The kubernetes check spec of one `check:` kind (`pods-ready`, `rollout-complete`, …). */
export type KubernetesSpec = SpecOf<'kubernetes'>;
export type Spec<C extends KubernetesSpec['check']> = Extract<KubernetesSpec, { check: C }>;
