import { matmulCpu } from "../../kernels/matmul.ts";
import { assertClose, randomArray } from "../../kernels/testing.ts";
import { matmulTs, type PeerProblem } from "./matmul_ts.ts";

Deno.test("matmul TS peer: matches the CPU reference in every form, across block edges, batched", () => {
  const cases: PeerProblem[] = [
    { m: 1, n: 1, k: 1 },
    { m: 7, n: 300, k: 65 }, // N and K cross the 256-column and 64-k blocks
    { m: 33, n: 17, k: 130, transA: true },
    { m: 9, n: 21, k: 70, transB: true },
    { m: 5, n: 6, k: 7, transA: true, transB: true },
    { m: 12, n: 10, k: 8, batch: 3, transB: true },
  ];
  for (const p of cases) {
    const batch = p.batch ?? 1;
    const a = randomArray(1, batch * p.m * p.k), b = randomArray(2, batch * p.k * p.n);
    const got = new Float32Array(batch * p.m * p.n);
    matmulTs(a, b, got, p);
    const s = { batch, m: p.m, n: p.n, k: p.k, strideA: p.m * p.k, strideB: p.k * p.n };
    const want = matmulCpu(a, b, new Float32Array(got.length), s, p);
    assertClose(got, want, { atol: 1e-4, rtol: 1e-4, label: `TS peer ${JSON.stringify(p)}` });
  }
});
