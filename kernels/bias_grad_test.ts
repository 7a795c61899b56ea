import assert from "node:assert/strict";
import { biasGrad, biasGradCpu } from "./bias_grad.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

gpuTest("bias grad: column sums accumulate into db and match the CPU reference", async (gpu) => {
  for (const [rows, cols] of [[1, 1], [7, 7], [63, 65], [129, 15], [1000, 17], [3, 129]]) {
    const DY = randomArray(rows + cols, rows * cols), DB = randomArray(cols, cols);
    const db = gpu.fromArray(DB);
    const enc = gpu.encoder();
    biasGrad(enc, gpu.fromArray(DY, [rows, cols]), db);
    const r = enc.read(db);
    await enc.submit();
    const rep = assertClose(await r, biasGradCpu(DY, DB), { atol: 1e-5, rtol: 1e-5, label: `[${rows}, ${cols}]` });
    if (rows === 1000) console.log(`[1000, 17]: max diff ${rep.maxAbs.toExponential(2)}`);
  }
});

gpuTest("bias grad: bitwise reproducible; a shape mismatch names both operands", async (gpu) => {
  const dy = gpu.fromArray(randomArray(1, 300 * 33), [300, 33]);
  const [a, b] = [gpu.tensor([33]), gpu.tensor([33])];
  const enc = gpu.encoder();
  biasGrad(enc, dy, a);
  biasGrad(enc, dy, b);
  const r = [enc.read(a), enc.read(b)];
  await enc.submit();
  assertBitwiseEqual(await r[0], await r[1]);
  assert.throws(() => biasGrad(gpu.encoder(), dy, gpu.tensor([32])), {
    name: "RangeError",
    message: /dy \('array'\) is \[300,33\] but db \('tensor'\) has 32 values/,
  });
});
