import assert from "node:assert/strict";
import { join } from "node:path";
import { AdamW } from "./adamw.ts";
import { checkpointDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { ParamSet, type ParamSpec } from "./params.ts";
import { decodeSafetensors } from "./safetensors.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, gpuTest, randomArray } from "../kernels/testing.ts";

const SPECS: ParamSpec[] = [
  { name: "wte", shape: [11, 8], init: { normal: 0.02 }, decay: false },
  { name: "h.0.w", shape: [8, 24], init: { normal: 0.02 }, decay: true },
  { name: "ln_f.b", shape: [8], init: "zeros", decay: false },
];
const FILES = ["model.safetensors", "config.json", "state.json", "optimizer.safetensors"];

/** A ParamSet with random parameters and an AdamW with random moments after 3 recorded steps. */
function model(gpu: Gpu, seed: number, specs = SPECS) {
  const params = new ParamSet(gpu, specs);
  params.initialize(new Rng(seed).split("init"));
  const opt = new AdamW(params);
  // Moments are zero on the padding, as AdamW keeps them; a checkpoint stores only the real entries.
  const [m, v] = [new Float32Array(params.total), new Float32Array(params.total)];
  for (const e of params.entries) {
    m.set(randomArray(seed + e.offset, e.size), e.offset);
    v.set(randomArray(seed + e.offset + 1, e.size).map(Math.abs), e.offset);
  }
  opt.m.write(m);
  opt.v.write(v);
  opt.t = 3;
  return { params, opt };
}

async function readAll(dir: string): Promise<Uint8Array[]> {
  return await Promise.all(FILES.map((f) => Deno.readFile(join(dir, f))));
}

gpuTest(
  "checkpoint: save, load into a fresh model, save again is byte-identical; only real entries written",
  async (gpu) => {
    const root = await Deno.makeTempDir({ prefix: "ckpt-test-" });
    try {
      const a = model(gpu, 1);
      const config = { d: 8, vocab: 11, note: "xs" };
      const dir1 = checkpointDir(root, 3);
      await saveCheckpoint(dir1, { params: a.params, config, optimizer: a.opt, state: { step: 3, cursor: 17 } });
      const b = model(gpu, 99);
      b.opt.t = 0;
      const got = await loadCheckpoint(dir1, { params: b.params, optimizer: b.opt });
      assert.deepEqual(got, { config, state: { step: 3, cursor: 17 } });
      assert.equal(b.opt.t, 3);
      assertBitwiseEqual(await b.params.params.read(), await a.params.params.read(), "params");
      assertBitwiseEqual(await b.opt.m.read(), await a.opt.m.read(), "m");
      assertBitwiseEqual(await b.opt.v.read(), await a.opt.v.read(), "v");
      const dir2 = join(root, "again", "step-000003");
      await saveCheckpoint(dir2, { params: b.params, config: got.config, optimizer: b.opt, state: got.state });
      const [f1, f2] = [await readAll(dir1), await readAll(dir2)];
      FILES.forEach((f, i) => assert.deepEqual(f2[i], f1[i], `${f} differs after save -> load -> save`));
      const { tensors } = decodeSafetensors(f1[0]);
      assert.deepEqual([...tensors].map(([k, t]) => [k, t.shape]), SPECS.map((s) => [s.name, s.shape]));
      assert.equal(f1[0].length - tensors.get("wte")!.bytes.byteOffset + f1[0].byteOffset, (88 + 192 + 8) * 4);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

gpuTest(
  "checkpoint: latest pointer, a killed save keeps the previous checkpoint, overwrite and its recovery",
  async (gpu) => {
    const root = await Deno.makeTempDir({ prefix: "ckpt-test-" });
    try {
      assert.equal(await latestCheckpoint(root), null);
      const a = model(gpu, 1);
      await saveCheckpoint(checkpointDir(root, 1), { params: a.params, config: {}, state: { step: 1 } });
      await saveCheckpoint(checkpointDir(root, 2), { params: a.params, config: {}, state: { step: 2 } });
      assert.equal(await latestCheckpoint(root), checkpointDir(root, 2));
      // A save killed before its rename leaves only a hidden temporary folder; the pointer still names step 2.
      const torn = join(root, "checkpoints", ".tmp-step-000003-1-x");
      await Deno.mkdir(torn);
      await Deno.writeFile(join(torn, "model.safetensors"), new Uint8Array(5));
      assert.equal(await latestCheckpoint(root), checkpointDir(root, 2));
      // Overwriting a checkpoint of the same name replaces it.
      await saveCheckpoint(checkpointDir(root, 2), { params: a.params, config: {}, state: { step: 22 } });
      const b = model(gpu, 5);
      assert.deepEqual((await loadCheckpoint(checkpointDir(root, 2), { params: b.params })).state, { step: 22 });
      // An overwrite killed between moving the old copy aside and renaming the new one in: the old copy comes back.
      await Deno.rename(checkpointDir(root, 2), join(root, "checkpoints", ".old-step-000002-1-y"));
      assert.equal(await latestCheckpoint(root), checkpointDir(root, 2));
      assert.deepEqual((await loadCheckpoint(checkpointDir(root, 2), { params: b.params })).state, { step: 22 });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);

gpuTest("checkpoint: load rejects wrong shapes, names, dtypes and truncated files, and writes nothing", async (gpu) => {
  const root = await Deno.makeTempDir({ prefix: "ckpt-test-" });
  try {
    const a = model(gpu, 1);
    const dir = checkpointDir(root, 1);
    await saveCheckpoint(dir, { params: a.params, config: {}, optimizer: a.opt });
    const file = join(dir, "model.safetensors");
    const b = model(gpu, 7);
    const before = await b.params.params.read();
    const wider = model(gpu, 1, SPECS.map((s) => s.name === "h.0.w" ? { ...s, shape: [8, 32] } : s));
    await assert.rejects(
      () => loadCheckpoint(dir, { params: wider.params }),
      new RegExp(`Tensor 'h.0.w' in ${file} has shape \\[8,24\\] but the model's is \\[8,32\\]`),
    );
    const fewer = model(gpu, 1, SPECS.slice(0, 2));
    await assert.rejects(
      () => loadCheckpoint(dir, { params: fewer.params }),
      /has tensor 'ln_f.b' \[8\] that the model/,
    );
    const more = model(gpu, 1, [...SPECS, { name: "head", shape: [3], init: "zeros", decay: false }]);
    await assert.rejects(
      () => loadCheckpoint(dir, { params: more.params }),
      /lacks tensor 'head' \(the model's is \[3\]\)/,
    );
    await assert.rejects(
      () => loadCheckpoint(dir, { params: more.params, optimizer: more.opt }),
      /lacks tensor 'head'/,
    );
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(() => loadCheckpoint(dir, { params: b.params }), /is truncated|ends at byte/);
    // A header that declares the first tensor F16.
    const h = `{"wte":{"dtype":"F16","shape":[11,8],"data_offsets":[0,176]}}`;
    const hb = new TextEncoder().encode(h.padEnd(Math.ceil(h.length / 8) * 8));
    const fake = new Uint8Array(8 + hb.length + 176);
    new DataView(fake.buffer).setBigUint64(0, BigInt(hb.length), true);
    fake.set(hb, 8);
    await Deno.writeFile(file, fake);
    await assert.rejects(() => loadCheckpoint(dir, { params: b.params }), /'wte' in .* has dtype F16; expected F32/);
    await assert.rejects(() => loadCheckpoint(join(root, "nope"), { params: b.params }), /nope.*does not exist/);
    assertBitwiseEqual(await b.params.params.read(), before, "params untouched by failed loads");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
