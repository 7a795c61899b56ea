/**
 * A content-addressed store of trained models, so experiments that start from the same model train it once: the
 * code experiment and §5's factor study share the code testbed's base and SFT models, the dialogue experiment and
 * §5 share the dialogue base, evaluation RM, SFT and reward models.
 *
 * An entry is keyed by the SHA-256 of everything that determines its bits: a kind ("code-base", ...), the
 * trainer's resolved config, a fingerprint of its data, the key of the model it starts from, and a fingerprint of
 * the source that trains it (every non-test module of kernels/, nn/, algorithms/ and testbeds/), so a change to a
 * kernel or a testbed never serves a stale model. Training is deterministic (DESIGN.md), so a hit returns the very
 * bits a fresh run would compute, and the loaded model's later training is the same too.
 *
 * `runs/.cache/<kind>-<key>/` holds `model/` (a checkpoint: nn/checkpoint.ts, written atomically) and `extra.json`
 * (what the trainer returned beside the model, e.g. its metrics rows), written last: an entry without it is
 * incomplete and is trained again. `MODEL_CACHE=0` turns the store off. The report skips `.cache`.
 *
 * @example
 * ```ts
 * const base = await cachedModel(gpu, { kind: "code-base", parts: [cfg.base, fingerprint(corpus)] }, async () => {
 *   const r = await trainSft(gpu, cfg.base, data);
 *   return { model: r.model, extra: { rows: r.rows } };
 * });
 * base.model; base.extra.rows; base.key; base.hit;
 * ```
 * @module
 */
import { join } from "node:path";
import type { Gpu } from "../kernels/gpu.ts";
import { checkpointDir, loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { type RewardModelConfig, trainRewardModel } from "../algorithms/reward_model.ts";
import { type SftConfig, type SftData, trainSft } from "../algorithms/sft.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";
import { atomicWriteJson, exists, readJson } from "../util/fs.ts";
import { type MetricRow, runsRoot } from "../util/run_dir.ts";
import { fingerprint, sourceFingerprint } from "../util/source.ts";

export { fingerprint };

/** What identifies an entry. */
export interface CacheKey {
  /** A readable name, the entry folder's prefix ("code-base"). */
  kind: string;
  /** Everything else its bits depend on (configs, data fingerprints, the key of the model it starts from). */
  parts: unknown[];
}

/** A trained model with the metrics rows of its training (what the experiments store). */
export type Trained = Cached<{ rows: MetricRow[] }>;

/** A reward model with its held-out accuracy and margin (null without held-out pairs). */
export type TrainedRm = Cached<{ rows: MetricRow[]; heldOut: { accuracy: number; margin: number } | null }>;

/** A model from the store. */
export interface Cached<T> {
  model: Gpt;
  extra: T;
  /** The entry's key (hex); pass it in the parts of a model trained from this one. */
  key: string;
  /** Whether it was loaded rather than trained. */
  hit: boolean;
}

/** The folders whose source determines a stored model's bits. */
const MODEL_SOURCES = ["kernels", "nn", "algorithms", "testbeds"];

/** Whether the store is on (`MODEL_CACHE=0` turns it off). */
export function cacheEnabled(): boolean {
  return Deno.env.get("MODEL_CACHE") !== "0";
}

/** The entry's key: SHA-256 over the kind, the parts and the source fingerprint. */
export async function cacheKey(key: CacheKey): Promise<string> {
  return await fingerprint({
    version: 1,
    kind: key.kind,
    parts: key.parts,
    source: await sourceFingerprint(MODEL_SOURCES),
  });
}

/**
 * The model `key` names: loaded from the store when a complete entry exists, else trained by `train` and stored
 * (unless the store is off). `extra` must be JSON.
 */
export async function cachedModel<T>(
  gpu: Gpu,
  key: CacheKey,
  train: () => Promise<{ model: Gpt; extra: T }>,
): Promise<Cached<T>> {
  if (!/^[\w-]+$/.test(key.kind)) throw new RangeError(`Model cache kind must be a word, got '${key.kind}'`);
  const hash = await cacheKey(key);
  const dir = join(runsRoot(), ".cache", `${key.kind}-${hash.slice(0, 20)}`);
  const modelDir = checkpointDir(join(dir, "model"), 0), extraFile = join(dir, "extra.json");
  if (cacheEnabled() && (await exists(extraFile))) {
    const stored = await readJson<{ key: string; config: GptConfig; extra: T }>(extraFile);
    if (stored.key !== hash) {
      throw new RangeError(`Model cache ${dir}: extra.json is of key ${stored.key}, not ${hash}`);
    }
    const model = new Gpt(gpu, stored.config, key.kind);
    await loadCheckpoint(modelDir, { params: model.params });
    return { model, extra: stored.extra, key: hash, hit: true };
  }
  const { model, extra } = await train();
  if (cacheEnabled()) {
    await saveCheckpoint(modelDir, { params: model.params, config: model.config });
    await atomicWriteJson(extraFile, { key: hash, kind: key.kind, config: model.config, extra });
  }
  return { model, extra, key: hash, hit: false };
}

/**
 * An SFT run (algorithms/sft.ts `trainSft`) through the store: keyed by its config, its tokenizer and data, and the
 * model it starts from.
 */
export async function cachedSft(
  gpu: Gpu,
  kind: string,
  cfg: SftConfig,
  data: SftData,
  init?: Trained,
): Promise<Trained> {
  const parts = [cfg, await fingerprint([data.tokenizer.toJSON(), data.train, data.heldout]), init?.key ?? null];
  return cachedModel(gpu, { kind, parts }, async () => {
    const r = await trainSft(gpu, cfg, data, init ? { init: init.model } : {});
    return { model: r.model, extra: { rows: r.rows } };
  });
}

/** A reward model (algorithms/reward_model.ts) through the store, keyed as {@link cachedSft}. */
export async function cachedRewardModel(gpu: Gpu, kind: string, o: {
  tokenizer: Tokenizer;
  train: readonly PreferencePair[];
  heldOut: readonly PreferencePair[];
  config: RewardModelConfig;
  init: Trained;
}): Promise<TrainedRm> {
  const parts = [o.config, await fingerprint([o.tokenizer.toJSON(), o.train, o.heldOut]), o.init.key];
  return cachedModel(gpu, { kind, parts }, async () => {
    const r = await trainRewardModel(gpu, { ...o, init: o.init.model });
    const heldOut = r.heldOut ? { accuracy: r.heldOut.accuracy, margin: r.heldOut.margin } : null;
    return { model: r.model, extra: { rows: r.metrics, heldOut } };
  });
}
