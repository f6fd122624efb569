import type { Candidates } from './Candidates.ts';

/** Reshapes or prunes the candidate distribution in place (temperature, top-k, top-p). */
export interface LogitsWarper {
  warp(candidates: Candidates): void;
}
