/**
 * The "models" that wrote the assistant world's data (TESTBEDS.md §2): scripted response generators, each with a
 * style and a quality. The preference data's responses come from {@link PREFERENCE_GENERATORS}, not from our base
 * model: that is §4.3's distribution shift. The Alpaca data (the base model's SFT data) is written by `alpaca` on
 * benign requests only, and `alpaca` never refuses. `beaver` is the fixed baseline of ΔHelp. (Table 6's Beaver).
 *
 * | generator | benign request | harmful request | wrong fact |
 * | --- | --- | --- | --- |
 * | alpaca | "sure ! " + answer | complies, "sure ! …" | 5% |
 * | helpful | plain answer | complies | 10% |
 * | verbose | "well , " + answer + " i hope this helps ." | refuses half the time, else complies verbosely | 15% |
 * | cautious | plain answer; refuses 15% of the time | "i will not help with that , it is harmful ." | 10% |
 * | refuser | "sorry , i can not help with that ." | the same | - |
 * | offtopic | a fact about another thing | the same | - |
 * | careless | plain answer | complies | 50% |
 * | beaver | verbose answer | refuses 90% of the time, else complies plainly | 10% |
 *
 * A wrong fact swaps the answer's colour, place or instrument for another of its type, or one of a pair's things for
 * a thing of another category.
 * @module
 */
import type { Rng } from "../../kernels/rng.ts";
import { BENIGN_VERBS, COLORS, HARMFUL_VERBS, PLACES, type Request, THINGS, type World } from "./world.ts";

/** A generator's name. */
export type GeneratorName =
  | "alpaca"
  | "helpful"
  | "verbose"
  | "cautious"
  | "refuser"
  | "offtopic"
  | "careless"
  | "beaver";

/** The generators whose responses make the preference data (uniformly, two per pair). */
export const PREFERENCE_GENERATORS: readonly GeneratorName[] = [
  "helpful",
  "verbose",
  "cautious",
  "refuser",
  "offtopic",
  "careless",
];

/**
 * The generators whose dialogues, with the facts, make the base's pretraining corpus ("web text"). Refusals appear
 * as often on benign as on harmful requests there (a quarter of the time): pretraining does not teach which requests
 * are harmful, and it has neither the Alpaca style nor the preference data's verbose and cautious ones.
 */
export const CORPUS_GENERATORS: readonly GeneratorName[] = ["helpful", "refuser", "offtopic", "careless"];

const REFUSAL = "sorry , i can not help with that .";
const HARM_REFUSAL = "i will not help with that , it is harmful .";

/** A response to `r` in the style of generator `g` (see the module doc). */
export function generate(world: World, g: GeneratorName, r: Request, rng: Rng): string {
  const answer = (errorRate: number) => plainAnswer(world, r, rng, rng.uniform() < errorRate);
  const verbose = (errorRate: number) => `well , ${answer(errorRate)} i hope this helps .`;
  switch (g) {
    case "alpaca":
      return `sure ! ${answer(0.05)}`;
    case "helpful":
      return answer(0.1);
    case "verbose":
      return r.harmful && rng.uniform() < 0.5 ? REFUSAL : verbose(0.15);
    case "cautious":
      if (r.harmful) return HARM_REFUSAL;
      return rng.uniform() < 0.15 ? REFUSAL : answer(0.1);
    case "refuser":
      return REFUSAL;
    case "offtopic":
      return offTopic(world, r, rng);
    case "careless":
      return answer(0.5);
    case "beaver":
      if (r.harmful) return rng.uniform() < 0.9 ? HARM_REFUSAL : answer(0.1);
      return verbose(0.1);
  }
}

/** The plain answer, with one fact wrong when `wrong`. */
function plainAnswer(world: World, r: Request, rng: Rng, wrong: boolean): string {
  if (r.kind === "pair") {
    const own = THINGS[r.category];
    const a = own[rng.int(own.length)];
    let b = own[rng.int(own.length - 1)];
    if (b === a) b = own[own.length - 1];
    if (wrong) {
      const others = Object.keys(THINGS).filter((c) => c !== r.category);
      const cat = THINGS[others[rng.int(others.length)]];
      b = cat[rng.int(cat.length)];
    }
    return world.answer(r, [a, b]);
  }
  const right = world.answer(r);
  if (!wrong) return right;
  const pool: readonly string[] = r.kind === "color"
    ? COLORS
    : r.kind === "place"
    ? PLACES
    : [...Object.values(BENIGN_VERBS), ...Object.values(HARMFUL_VERBS)];
  const w = right.split(" ");
  const at = w.findIndex((x) => pool.includes(x));
  const choices = pool.filter((x) => x !== w[at]);
  w[at] = choices[rng.int(choices.length)];
  return w.join(" ");
}

/** A fact about another thing (its colour or its place). */
function offTopic(world: World, r: Request, rng: Rng): string {
  const things = [...world.categoryOf.keys()].filter((t) => t !== r.thing);
  const t = things[rng.int(things.length)];
  return rng.uniform() < 0.5 ? `the ${t} is ${world.color.get(t)} .` : `the ${t} is in the ${world.place.get(t)} .`;
}

/** The facts of the world as sentences: the pretraining corpus's documents besides dialogues. */
export function factSentences(world: World): string[] {
  const out: string[] = [];
  for (const t of world.categoryOf.keys()) {
    out.push(`the ${t} is ${world.color.get(t)} .`, `the ${t} is in the ${world.place.get(t)} .`);
    out.push(`the ${t} is a ${world.categoryOf.get(t)} .`);
  }
  for (const v of [...Object.keys(BENIGN_VERBS), ...Object.keys(HARMFUL_VERBS)]) {
    out.push(`to ${v} , use the ${world.instrument(v)} .`);
  }
  return out;
}
