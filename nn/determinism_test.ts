/**
 * Same seed, same bits, across processes and across llvmpipe's SIMD widths: nn/determinism_probe.ts (training,
 * the scalar head's backward, sampling) run at 256 and at 512 bits gives the same digests. Each width compiles into
 * a shader cache of its own (kernels/vector_width.ts), so the two runs really execute different machine code.
 */
import assert from "node:assert/strict";
import { gpuTest } from "../kernels/testing.ts";

async function probe(bits: number): Promise<Record<string, unknown>> {
  const script = new URL("./determinism_probe.ts", import.meta.url).pathname;
  // As a fresh process gets it: this process's adapter set MESA_SHADER_CACHE_DIR for its own width.
  const env = Deno.env.toObject();
  delete env.MESA_SHADER_CACHE_DIR;
  env.LP_NATIVE_VECTOR_WIDTH = String(bits);
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env,
    clearEnv: true,
    stderr: "inherit",
  });
  const out = await cmd.output();
  assert.equal(out.code, 0, `the probe at ${bits} bits failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

gpuTest("determinism: training and sampling give the same bits at 256 and 512 bits", async (gpu) => {
  const [a, b] = [await probe(256), await probe(512)];
  const { adapter: _a, vectorWidth: wa, ...bitsA } = a, { adapter: _b, vectorWidth: wb, ...bitsB } = b;
  assert.deepEqual(bitsB, bitsA);
  if (gpu.info.description.startsWith("llvmpipe")) {
    assert.match(String(a.adapter), /256 bits/);
    assert.match(String(b.adapter), /512 bits/);
    assert.notEqual((wa as { shaderCache: string }).shaderCache, (wb as { shaderCache: string }).shaderCache);
  }
});
