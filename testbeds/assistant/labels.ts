/**
 * Simulated annotators of the assistant world (PAPER.md §4.1, TESTBEDS.md §2): SafeRLHF-style labels, the paper's
 * consolidated preference and the dual-safe / dual-unsafe filters, and HH-RLHF-style labels for the dialogue tables.
 *
 * SafeRLHF-style, per pair (x, y₁, y₂) as the data set's (l_h, l_s, b₁, b₂), each noisy as annotators are:
 * - the more helpful response: Bradley-Terry on the gold helpfulness, P(y₁) = σ((h₁ − h₂) / τ_h);
 * - the safer response: Bradley-Terry on the gold cost, P(y₁) = σ((c₂ − c₁) / τ_s);
 * - a safe flag per response: the gold verdict (cost < 0), flipped with probability `flagFlip`.
 * Consolidated (the paper's rule, §4.1): when both flags say safe, the helpfulness label; otherwise the safety one.
 *
 * HH-RLHF-style: one preference from the gold helpfulness with harmlessness folded in,
 * u = h − `harmWeight`·max(0, c), P(y₁) = σ((u₁ − u₂) / τ).
 *
 * @example
 * ```ts
 * const pairs = labelSafety(world, raw, DEFAULT_LABELS, rng);   // LabelledPair[]
 * consolidate(pairs, { dualUnsafe: true });                     // PreferencePair[] without dual-unsafe pairs
 * ```
 * @module
 */
import type { Rng } from "../../kernels/rng.ts";
import type { PreferencePair } from "../sanity.ts";
import { goldCost, goldHelp } from "./judges.ts";
import type { Request, World } from "./world.ts";

/** Annotator noise. */
export interface LabelNoise {
  /** τ_h of the helpfulness label. */
  helpTemperature: number;
  /** τ_s of the safety label. */
  safetyTemperature: number;
  /** Probability that a response's safe flag is flipped. */
  flagFlip: number;
  /** τ of the HH-RLHF-style label. */
  hhTemperature: number;
  /** Weight of the cost in the HH-RLHF-style utility. */
  harmWeight: number;
}

/** Ours (the paper's data have real annotators): a one-point helpfulness gap is labelled right 88% of the time. */
export const DEFAULT_LABELS: LabelNoise = {
  helpTemperature: 0.5,
  safetyTemperature: 0.5,
  flagFlip: 0.1,
  hhTemperature: 0.5,
  harmWeight: 1,
};

/** Two responses to one request, before labelling. */
export interface RawPair {
  request: Request;
  a: string;
  b: string;
  /** The generators that wrote them (kept for the report). */
  by: readonly [string, string];
}

/** A pair with SafeRLHF-style labels (0 = a, 1 = b) and the gold values the labels were drawn from. */
export interface LabelledPair extends RawPair {
  moreHelpful: 0 | 1;
  safer: 0 | 1;
  safeA: boolean;
  safeB: boolean;
  gold: { helpA: number; helpB: number; costA: number; costB: number };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Labels every pair (see the module doc); `rng` draws the noise. */
export function labelSafety(world: World, pairs: readonly RawPair[], noise: LabelNoise, rng: Rng): LabelledPair[] {
  checkNoise(noise);
  return pairs.map((p) => {
    const g = {
      helpA: goldHelp(world, p.request, p.a),
      helpB: goldHelp(world, p.request, p.b),
      costA: goldCost(world, p.request, p.a),
      costB: goldCost(world, p.request, p.b),
    };
    const moreHelpful = rng.uniform() < sigmoid((g.helpA - g.helpB) / noise.helpTemperature) ? 0 : 1;
    const safer = rng.uniform() < sigmoid((g.costB - g.costA) / noise.safetyTemperature) ? 0 : 1;
    const safeA = (g.costA < 0) !== (rng.uniform() < noise.flagFlip);
    const safeB = (g.costB < 0) !== (rng.uniform() < noise.flagFlip);
    return { ...p, moreHelpful, safer, safeA, safeB, gold: g };
  });
}

/** Which pairs {@link consolidate} drops. */
export interface PairFilter {
  /** Drop pairs whose responses are both flagged unsafe (Table 2 "+ filter dual-unsafe"). */
  dualUnsafe?: boolean;
  /** Drop pairs whose responses are both flagged safe (Table 2 "+ filter dual-safe"). */
  dualSafe?: boolean;
}

/** Whether both flags say safe / unsafe. */
export const isDualSafe = (p: LabelledPair) => p.safeA && p.safeB;
export const isDualUnsafe = (p: LabelledPair) => !p.safeA && !p.safeB;

/** The consolidated preference of one pair: helpfulness when both are flagged safe, else safety (0 = a wins). */
export function consolidatedWinner(p: LabelledPair): 0 | 1 {
  return isDualSafe(p) ? p.moreHelpful : p.safer;
}

/** The consolidated preference pairs, after the filters. */
export function consolidate(pairs: readonly LabelledPair[], filter: PairFilter = {}): PreferencePair[] {
  return pairs
    .filter((p) => !(filter.dualUnsafe && isDualUnsafe(p)) && !(filter.dualSafe && isDualSafe(p)))
    .map((p) => {
      const w = consolidatedWinner(p);
      return { prompt: p.request.text, chosen: w === 0 ? p.a : p.b, rejected: w === 0 ? p.b : p.a };
    });
}

/** The HH-RLHF-style utility of a response: gold helpfulness minus weighted positive cost. */
export function hhUtility(world: World, r: Request, response: string, noise: LabelNoise): number {
  return goldHelp(world, r, response) - noise.harmWeight * Math.max(0, goldCost(world, r, response));
}

/** One HH-RLHF-style preference per pair (see the module doc). */
export function labelHh(world: World, pairs: readonly RawPair[], noise: LabelNoise, rng: Rng): PreferencePair[] {
  checkNoise(noise);
  return pairs.map((p) => {
    const d = hhUtility(world, p.request, p.a, noise) - hhUtility(world, p.request, p.b, noise);
    const aWins = rng.uniform() < sigmoid(d / noise.hhTemperature);
    return { prompt: p.request.text, chosen: aWins ? p.a : p.b, rejected: aWins ? p.b : p.a };
  });
}

function checkNoise(n: LabelNoise): void {
  for (const k of ["helpTemperature", "safetyTemperature", "hhTemperature"] as const) {
    if (!(n[k] > 0)) throw new RangeError(`Label noise: ${k} must be > 0, got ${n[k]}`);
  }
  if (!(n.flagFlip >= 0 && n.flagFlip <= 1)) throw new RangeError(`Label noise: flagFlip must be in [0, 1]`);
  if (!(n.harmWeight >= 0)) throw new RangeError(`Label noise: harmWeight must be >= 0, got ${n.harmWeight}`);
}
