/** Execution providers the engine can run on (kept apart from the ORT import so configs load without it). */
export const DEVICES = ['cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];
