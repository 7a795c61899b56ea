import assert from "node:assert/strict";
import { ema, emaCpu, emaParams } from "./ema.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

gpuTest("ema: matches the CPU reference over several steps on awkward shapes", async (gpu) => {
  for (const shape of [[1], [7], [63], [65, 129], [3, 7, 65]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const T = randomArray(n, n), S = randomArray(n + 1, n, 2);
    const target = gpu.fromArray(T, shape, "f32"), source = gpu.fromArray(S, shape, "f32");
    const etas = [0.001, 0.5, 0.3];
    const enc = gpu.encoder("ema test");
    for (const eta of etas) ema(enc, target, source, eta);
    const got = enc.read(target);
    await enc.submit();
    const want = T.slice();
    for (const eta of etas) emaCpu(want, S, eta);
    const r = assertClose(await got, want, { atol: 1e-7, rtol: 1e-6, label: `ema [${shape}]` });
    if (n > 1000) console.log(`ema [${shape}]: max |gpu - cpu| ${r.maxAbs.toExponential(2)}`);
  }
});

gpuTest("ema: eta 1 copies, eta 0 keeps, padding stays zero, two runs bitwise equal", async (gpu) => {
  const n = 200;
  const T = randomArray(1, n), S = randomArray(2, n);
  for (let i = 150; i < n; i++) T[i] = S[i] = 0;
  const run = async (eta: number) => {
    const target = gpu.fromArray(T, [n], "f32"), source = gpu.fromArray(S, [n], "f32");
    const enc = gpu.encoder("ema");
    ema(enc, target, source, eta);
    const r = enc.read(target);
    await enc.submit();
    return r;
  };
  assertBitwiseEqual(await run(1), S, "eta 1");
  assertBitwiseEqual(await run(0), T, "eta 0");
  const [a, b] = [await run(0.001), await run(0.001)];
  assertBitwiseEqual(a, b, "determinism");
  assertBitwiseEqual(a.subarray(150), new Float32Array(50), "padding");
});

gpuTest("ema: emaParams checks the size tables; bad eta and sizes throw", (gpu) => {
  const mk = (names: string[]) => ({
    params: gpu.tensor([128]),
    entries: names.map((name, i) => ({ name, shape: [3], offset: 64 * i })),
  });
  const enc = gpu.encoder("bad");
  assert.throws(() => emaParams(enc, mk(["a", "b"]), mk(["a", "c"]), 0.1), /entry 1 differs: target 'b' \[3\] at 64/);
  assert.throws(() => emaParams(enc, mk(["a"]), mk(["a", "b"]), 0.1), /target has 1 parameter entries, source has 2/);
  assert.throws(() => ema(enc, gpu.tensor([4]), gpu.tensor([4]), 1.5), /eta must be in \[0, 1\], got 1.5/);
  assert.throws(() => ema(enc, gpu.tensor([4]), gpu.tensor([5]), 0.1), /differ in size \(4 vs 5\)/);
  const x = gpu.tensor([4]);
  assert.throws(() => ema(enc, x, x, 0.1), /share a buffer/);
  emaParams(enc, mk(["a", "b"]), mk(["a", "b"]), 0.1); // same tables: accepted
});
