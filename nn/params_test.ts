import assert from "node:assert/strict";
import { ParamSet } from "./params.ts";
import { Rng } from "../kernels/rng.ts";
import { gpuTest } from "../kernels/testing.ts";

gpuTest("params: aligned size table, views, decay mask and deterministic init", async (gpu) => {
  const ps = new ParamSet(gpu, [
    { name: "w", shape: [3, 5], init: { normal: 0.02 }, decay: true },
    { name: "b", shape: [5], init: "zeros", decay: false },
    { name: "g", shape: [7], init: "ones", decay: false },
  ]);
  assert.deepEqual(ps.entries.map((e) => e.offset), [0, 64, 128]);
  assert.equal(ps.count, 27);
  ps.initialize(new Rng(3).split("init"));
  const flat = await ps.params.read();
  assert.deepEqual([...flat.subarray(64, 69)], [0, 0, 0, 0, 0]);
  assert.deepEqual([...(await ps.get("g").read())], [1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(await ps.get("w").read(), ps.initialValues(new Rng(3).split("init")).subarray(0, 15));
  const mask = await ps.decayMask.read();
  assert.equal(mask.reduce((a, b) => a + b, 0), 15);
  assert.throws(() => ps.get("nope"), /No parameter 'nope'; known: w, b, g/);
});
