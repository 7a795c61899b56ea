import assert from "node:assert/strict";
import { chooseVectorWidth, cpuFlags, type Env } from "./vector_width.ts";

/** A fake environment, so the tests never touch the process's (other test modules create adapters meanwhile). */
function fakeEnv(init: Record<string, string> = {}): Env & { vars: Map<string, string> } {
  const vars = new Map(Object.entries(init));
  return { vars, get: (k) => vars.get(k), set: (k, v) => void vars.set(k, v) };
}

const AVX512 = new Set(["sse2", "avx2", "avx512f", "avx512bw"]);

Deno.test("vector width: cpuFlags reads the flags line of /proc/cpuinfo", () => {
  const info = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f\nbugs\t: x\n";
  assert.deepEqual(cpuFlags(info), new Set(["fpu", "sse2", "avx2", "avx512f"]));
  assert.equal(cpuFlags("processor : 0\n"), null);
});

Deno.test("vector width: 512 bits and a shader cache of its own on a CPU with AVX-512", () => {
  const env = fakeEnv({ HOME: "/home/u" });
  const c = chooseVectorWidth(AVX512, "x86_64", env);
  assert.deepEqual(c, {
    bits: 512,
    why: "set: the CPU has AVX-512 (avx512f)",
    shaderCache: "/home/u/.cache/mesa_lp512",
  });
  assert.equal(env.vars.get("LP_NATIVE_VECTOR_WIDTH"), "512");
  assert.equal(env.vars.get("MESA_SHADER_CACHE_DIR"), "/home/u/.cache/mesa_lp512");
  // XDG_CACHE_HOME wins over HOME; a cache directory the user set is kept.
  assert.equal(
    chooseVectorWidth(AVX512, "x86_64", fakeEnv({ HOME: "/h", XDG_CACHE_HOME: "/x" })).shaderCache,
    "/x/mesa_lp512",
  );
  const own = fakeEnv({ HOME: "/h", MESA_SHADER_CACHE_DIR: "/mine" });
  assert.equal(chooseVectorWidth(AVX512, "x86_64", own).shaderCache, "/mine");
  assert.equal(own.vars.get("MESA_SHADER_CACHE_DIR"), "/mine");
});

Deno.test("vector width: the user's LP_NATIVE_VECTOR_WIDTH is kept, and a bad one is an error", () => {
  const env = fakeEnv({ HOME: "/h", LP_NATIVE_VECTOR_WIDTH: "256" });
  const c = chooseVectorWidth(AVX512, "x86_64", env);
  assert.equal(c.bits, 256);
  assert.match(c.why, /LP_NATIVE_VECTOR_WIDTH=256 in the environment/);
  assert.equal(env.vars.get("LP_NATIVE_VECTOR_WIDTH"), "256");
  assert.equal(c.shaderCache, "/h/.cache/mesa_lp256");
  assert.throws(
    () => chooseVectorWidth(AVX512, "x86_64", fakeEnv({ LP_NATIVE_VECTOR_WIDTH: "300" })),
    /LP_NATIVE_VECTOR_WIDTH must be 128, 256 or 512 \(bits\); got '300'/,
  );
});

Deno.test("vector width: left to Mesa without AVX-512, on another architecture, or with unknown flags", () => {
  for (const [flags, arch] of [[new Set(["avx2"]), "x86_64"], [AVX512, "aarch64"], [null, "x86_64"]] as const) {
    const env = fakeEnv({ HOME: "/h" });
    const c = chooseVectorWidth(flags, arch, env);
    assert.equal(c.bits, null);
    assert.equal(c.shaderCache, null);
    assert.equal(env.vars.size, 1, "nothing is set");
  }
});
