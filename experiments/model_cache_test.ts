import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, gpuTest } from "../kernels/testing.ts";
import { SFT_SCHEMA, trainSft } from "../algorithms/sft.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { resolveConfig } from "../util/config.ts";
import { cachedModel, cacheKey, fingerprint } from "./model_cache.ts";

Deno.env.set("PROGRESS", "0");

gpuTest("model cache: a hit returns the trained bits; another config or data is another entry", async (gpu) => {
  const root = await Deno.makeTempDir();
  Deno.env.set("RUNS_DIR", root);
  try {
    const task = new SanityTask(), rng = new Rng(3);
    const data = {
      tokenizer: task.tokenizer,
      train: SanityTask.many(rng.split("train"), 64, (r) => task.sftExample(r)),
      heldout: [],
    };
    const cfg = resolveConfig(SFT_SCHEMA, { sets: ["ctx=24", "batchSize=8", "steps=4", "layers=1"] });
    let trained = 0;
    const get = async (steps: number, examples = data.train) => {
      const c = { ...cfg, steps, logEvery: 2, evalEvery: 2, checkpointEvery: 2 };
      const key = { kind: "test-sft", parts: [c, await fingerprint(examples)] };
      return await cachedModel(gpu, key, async () => {
        trained++;
        const r = await trainSft(gpu, c, { ...data, train: examples });
        return { model: r.model, extra: { rows: r.rows.map((x) => x["losses/sft"]) } };
      });
    };
    const a = await get(4), b = await get(4);
    assert.equal([a.hit, b.hit, trained].join(), "false,true,1");
    assert.equal(a.key, b.key);
    assert.deepEqual(b.extra, a.extra);
    assert.deepEqual(b.model.config, a.model.config);
    const read = async (m: typeof a.model) => {
      const enc = gpu.encoder("read"), p = enc.read(m.params.params);
      await enc.submit();
      return await p;
    };
    assertBitwiseEqual(await read(b.model), await read(a.model), "cached parameters");
    const c = await get(2), d = await get(4, data.train.slice(1));
    assert.equal([c.hit, d.hit, trained].join(), "false,false,3");
    assert.notEqual(c.key, a.key);
    assert.notEqual(d.key, a.key);
  } finally {
    Deno.env.delete("RUNS_DIR");
  }
});

Deno.test("model cache: the key depends on the kind and on every part", async () => {
  const k = (kind: string, parts: unknown[]) => cacheKey({ kind, parts });
  const base = await k("a", [1, { x: 2 }]);
  assert.equal(await k("a", [1, { x: 2 }]), base);
  assert.notEqual(await k("b", [1, { x: 2 }]), base);
  assert.notEqual(await k("a", [1, { x: 3 }]), base);
});
