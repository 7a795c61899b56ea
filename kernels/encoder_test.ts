import assert from "node:assert/strict";
import { kernel } from "./kernel.ts";
import { gpuTest } from "./testing.ts";

const addOne = kernel({
  name: "test_add_one",
  buffers: { x: "read", y: "rw" },
  params: { n: "u32" },
  code: `@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
    if (g.x < p.n) { y[g.x] = x[g.x] + 1.0; }
  }`,
});

gpuTest(
  "encoder: an input sharing a buffer with the output is bound read-write (disjoint views and in place)",
  async (gpu) => {
    const buf = gpu.fromArray(new Float32Array(128).map((_, i) => i), [128]);
    const lo = buf.view(0, [64]), hi = buf.view(64, [64]);
    const enc = gpu.encoder();
    enc.dispatch(addOne, { x: lo, y: hi }, { n: 64 }, 1); // hi = lo + 1
    enc.dispatch(addOne, { x: lo, y: lo }, { n: 64 }, 1); // lo = lo + 1, in place
    const r = enc.read(buf);
    await enc.submit();
    const got = await r;
    assert.deepEqual([...got.subarray(0, 3)], [1, 2, 3]);
    assert.deepEqual([...got.subarray(64, 67)], [1, 2, 3]);
  },
);

gpuTest("encoder: bad bindings, params and grids are errors naming the kernel", (gpu) => {
  const x = gpu.tensor([64]), y = gpu.tensor([64]), u = gpu.tensor([64], "u32");
  const enc = gpu.encoder();
  assert.throws(() => enc.dispatch(addOne, { x, y, z: x }, { n: 1 }, 1), /'test_add_one' has no buffer 'z'/);
  assert.throws(() => enc.dispatch(addOne, { x }, { n: 1 }, 1), /buffer 'y' was not given/);
  assert.throws(() => enc.dispatch(addOne, { x: u, y }, { n: 1 }, 1), /buffer 'x' wants f32/);
  assert.throws(() => enc.dispatch(addOne, { x, y }, { n: -1 }, 1), /param 'n' must be a u32/);
  assert.throws(() => enc.dispatch(addOne, { x, y }, { m: 1, n: 1 }, 1), /has no param 'm'/);
  assert.throws(() => enc.dispatch(addOne, { x, y }, { n: 1 }, 70000), /grid \[70000,1,1\] is outside/);
  assert.throws(() => enc.dispatch(addOne, { x: x.view(1, [8]), y }, { n: 1 }, 1), /not a multiple of \d+/);
  assert.throws(() => gpu.tensor([2 ** 31]), /over this adapter's maxBufferSize/);
});

gpuTest("encoder: profiling records one timing per dispatch", async (gpu) => {
  const x = gpu.tensor([64]), y = gpu.tensor([64]);
  const enc = gpu.encoder("profiled", { profile: true });
  enc.dispatch(addOne, { x, y }, { n: 64 }, 1);
  enc.dispatch(addOne, { x: y, y: x }, { n: 64 }, 1);
  await enc.submit();
  if (gpu.hasTimestamps) {
    assert.equal(enc.timings.length, 2);
    assert.ok(enc.timings.every((t) => t.kernel === "test_add_one" && t.ms >= 0));
  }
});
