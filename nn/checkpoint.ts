/**
 * Checkpoints: a directory per save, written atomically, holding
 *
 * - `model.safetensors`: the real (unpadded) parameter entries in size-table order (see nn/safetensors.ts; Python's
 *   `safetensors.numpy.load_file` reads it);
 * - `config.json`: the model's config as the caller passes it (so the file can be interpreted without this code);
 * - `optimizer.safetensors` (optional): AdamW's moments as `m.<name>` and `v.<name>`, and its step t in the metadata;
 * - `state.json`: what the training loop needs to resume (step, data cursor, RNG counters, ...).
 *
 * A save writes everything into a hidden temporary directory beside the target, renames it into place, then
 * atomically rewrites the `latest` pointer file in the same parent, so a run killed mid-save still has its previous
 * checkpoint and a pointer to it (DESIGN.md, "Run directory"). The parameters and moments are read back in one
 * submit: one queue round trip per save.
 *
 * @example
 * ```ts
 * await saveCheckpoint(checkpointDir(run.path, step), { params, config: modelCfg, optimizer: adam, state: { step } });
 * const dir = await latestCheckpoint(run.path);
 * if (dir) ({ state } = await loadCheckpoint(dir, { params, optimizer: adam }));
 * ```
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { Tensor } from "../kernels/tensor.ts";
import { atomicWrite, exists, readJson } from "../util/fs.ts";
import type { ParamSet } from "./params.ts";
import { decodeSafetensors, encodeSafetensors, type F32Tensor, tensorF32 } from "./safetensors.ts";

/** What a checkpoint needs of an optimizer (nn/adamw.ts's `AdamW` has it): flat moments and the step count. */
export interface OptimizerState {
  /** First moments, same layout as the parameters. */
  readonly m: Tensor<"f32">;
  /** Second moments, same layout as the parameters. */
  readonly v: Tensor<"f32">;
  /** Updates taken so far (bias correction uses t + 1 next). */
  t: number;
}

/** What {@link saveCheckpoint} writes. */
export interface SaveOptions {
  params: ParamSet;
  /** The model's config, written to config.json. */
  config: unknown;
  optimizer?: OptimizerState;
  /** Anything JSON the training loop needs to resume; written to state.json. */
  state?: Record<string, unknown>;
}

/** The checkpoint folder of `step` inside a run: `<runDir>/checkpoints/step-000123`. */
export function checkpointDir(runDir: string, step: number): string {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`Checkpoint step must be an integer >= 0, got ${step}`);
  return join(runDir, "checkpoints", `step-${String(step).padStart(6, "0")}`);
}

/** The real entries of a flat buffer, as safetensors tensors named `prefix + name`. */
function entriesOf(params: ParamSet, flat: Float32Array, prefix = ""): F32Tensor[] {
  return params.entries.map((e) => ({
    name: prefix + e.name,
    shape: e.shape,
    data: flat.subarray(e.offset, e.offset + e.size),
  }));
}

/** Saves a checkpoint into `dir` atomically and points `<parent of dir>/latest` at it. */
export async function saveCheckpoint(dir: string, opts: SaveOptions): Promise<void> {
  const { params, optimizer } = opts;
  const enc = params.gpu.encoder("checkpoint read");
  const reads = [params.params, ...(optimizer ? [optimizer.m, optimizer.v] : [])].map((t) => enc.read(t));
  await enc.submit();
  const [flat, m, v] = (await Promise.all(reads)) as Float32Array[];
  const files: [string, string | Uint8Array][] = [
    ["model.safetensors", encodeSafetensors(entriesOf(params, flat), { format: "pt" })],
    ["config.json", JSON.stringify(opts.config ?? null, null, 2) + "\n"],
    ["state.json", JSON.stringify(opts.state ?? {}, null, 2) + "\n"],
  ];
  if (optimizer) {
    const tensors = [...entriesOf(params, m, "m."), ...entriesOf(params, v, "v.")];
    files.push(["optimizer.safetensors", encodeSafetensors(tensors, { t: String(optimizer.t) })]);
  }
  const parent = dirname(dir), name = basename(dir);
  const tag = `${Deno.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const tmp = join(parent, `.tmp-${name}-${tag}`);
  await Deno.mkdir(tmp, { recursive: true });
  let old: string | undefined;
  try {
    for (const [file, data] of files) {
      if (typeof data === "string") await Deno.writeTextFile(join(tmp, file), data);
      else await Deno.writeFile(join(tmp, file), data);
    }
    // A directory cannot be renamed over a non-empty one: move an existing checkpoint of this name aside first.
    if (await exists(dir)) await Deno.rename(dir, old = join(parent, `.old-${name}-${tag}`));
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    if (old && !(await exists(dir))) await Deno.rename(old, dir).catch(() => {});
    throw e;
  }
  await atomicWrite(join(parent, "latest"), name + "\n");
  if (old) await Deno.remove(old, { recursive: true });
}

/** Reads a safetensors file of a checkpoint; the error names the file when it is missing. */
async function readTensors(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new RangeError(`Checkpoint file ${path} does not exist`);
    throw e;
  }
  return decodeSafetensors(bytes, path);
}

/**
 * Checks that a file holds exactly the entries of `params` (names with `prefix`), as F32 with the same shapes, and
 * returns them as one flat buffer in the ParamSet's layout (padding zero).
 */
function flatFrom(
  params: ParamSet,
  tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>,
  file: string,
  prefix = "",
): Float32Array {
  const flat = new Float32Array(params.total);
  const known = new Set(params.entries.map((e) => prefix + e.name));
  for (const [name, t] of tensors) {
    if (!known.has(name)) {
      throw new RangeError(`Checkpoint ${file} has tensor '${name}' [${t.shape}] that the model lacks`);
    }
  }
  for (const e of params.entries) {
    const name = prefix + e.name;
    const t = tensors.get(name);
    if (!t) throw new RangeError(`Checkpoint ${file} lacks tensor '${name}' (the model's is [${e.shape}])`);
    if (t.shape.join() !== e.shape.join()) {
      throw new RangeError(`Tensor '${name}' in ${file} has shape [${t.shape}] but the model's is [${e.shape}]`);
    }
    flat.set(tensorF32(t, name, file), e.offset);
  }
  return flat;
}

/**
 * Loads `dir` into `params` (and the optimizer's moments and step when given), after validating every name, shape
 * and dtype against the ParamSet; returns the saved config and state. Nothing is written to the GPU unless every
 * file is valid.
 */
export async function loadCheckpoint(
  dir: string,
  opts: { params: ParamSet; optimizer?: OptimizerState },
): Promise<{ config: unknown; state: Record<string, unknown> }> {
  const { params, optimizer } = opts;
  const modelFile = join(dir, "model.safetensors");
  const flat = flatFrom(params, (await readTensors(modelFile)).tensors, modelFile);
  let opt: { m: Float32Array; v: Float32Array; t: number } | undefined;
  if (optimizer) {
    const file = join(dir, "optimizer.safetensors");
    const { tensors, metadata } = await readTensors(file);
    const t = Number(metadata.t);
    if (!Number.isInteger(t) || t < 0) {
      throw new RangeError(`Checkpoint ${file}: metadata t must be a step count, got '${metadata.t}'`);
    }
    const m = new Map([...tensors].filter(([k]) => k.startsWith("m.")));
    const v = new Map([...tensors].filter(([k]) => !k.startsWith("m.")));
    opt = { m: flatFrom(params, m, file, "m."), v: flatFrom(params, v, file, "v."), t };
  }
  const config = await readJson(join(dir, "config.json"));
  const state = await readJson<Record<string, unknown>>(join(dir, "state.json"));
  params.params.write(flat);
  if (optimizer && opt) {
    optimizer.m.write(opt.m);
    optimizer.v.write(opt.v);
    optimizer.t = opt.t;
  }
  return { config, state };
}

/**
 * The newest complete checkpoint of a run (`<runDir>/checkpoints/latest` names it), or null when there is none. If
 * a save that replaced a checkpoint of the same name was killed between its two renames, the displaced copy is
 * moved back first.
 */
export async function latestCheckpoint(runDir: string): Promise<string | null> {
  const parent = join(runDir, "checkpoints");
  const pointer = join(parent, "latest");
  if (!(await exists(pointer))) return null;
  const name = (await Deno.readTextFile(pointer)).trim();
  if (!/^[\w.=,-]+$/.test(name) || name.startsWith(".")) {
    throw new RangeError(`Checkpoint pointer ${pointer} names '${name}', not a checkpoint folder`);
  }
  const dir = join(parent, name);
  if (!(await exists(join(dir, "model.safetensors")))) {
    for await (const e of Deno.readDir(parent)) {
      if (e.isDirectory && e.name.startsWith(`.old-${name}-`) && !(await exists(dir))) {
        await Deno.rename(join(parent, e.name), dir);
      }
    }
    if (!(await exists(join(dir, "model.safetensors")))) {
      throw new RangeError(`Checkpoint pointer ${pointer} names '${name}', but ${dir} holds no model.safetensors`);
    }
  }
  return dir;
}
