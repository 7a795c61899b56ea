import assert from "node:assert/strict";
import { chooseVectorWidth, cpuFlags, cpuVectorBits, type Env } from "./vector_width.ts";

/** A fake environment, so the tests never touch the process's (other test modules create adapters meanwhile). */
function fakeEnv(init: Record<string, string> = {}): Env & { vars: Map<string, string> } {
  const vars = new Map(Object.entries(init));
  return { vars, get: (k) => vars.get(k), set: (k, v) => void vars.set(k, v) };
}

const AVX512 = new Set(["sse2", "avx", "avx2", "avx512f", "avx512bw"]);

Deno.test("vector width: cpuFlags reads the flags line of /proc/cpuinfo", () => {
  const info = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f\nbugs\t: x\n";
  assert.deepEqual(cpuFlags(info), new Set(["fpu", "sse2", "avx2", "avx512f"]));
  assert.equal(cpuFlags("processor : 0\n"), null);
});

Deno.test("vector width: the CPU's widest vectors from its flags", () => {
  assert.equal(cpuVectorBits(AVX512, "x86_64"), 512);
  assert.equal(cpuVectorBits(new Set(["sse2", "avx", "avx2"]), "x86_64"), 256);
  assert.equal(cpuVectorBits(new Set(["sse2"]), "x86_64"), 128);
  assert.equal(cpuVectorBits(AVX512, "aarch64"), null);
  assert.equal(cpuVectorBits(null, "x86_64"), null);
});

Deno.test("vector width: unset, it is left to Mesa with Mesa's cache, and what the CPU has is recorded", () => {
  const env = fakeEnv({ HOME: "/h" });
  const c = chooseVectorWidth(AVX512, "x86_64", env);
  assert.equal(c.bits, null);
  assert.equal(c.cpuBits, 512);
  assert.match(c.why, /left to Mesa's default \(256 bits; 512 is slower/);
  assert.equal(c.shaderCache, null);
  assert.equal(env.vars.size, 1, "nothing is set");
  assert.equal(chooseVectorWidth(new Set(["avx2", "avx"]), "x86_64", fakeEnv()).why, "left to Mesa's default");
});

Deno.test("vector width: a width the user sets is kept, with a shader cache of its own", () => {
  const env = fakeEnv({ HOME: "/home/u", LP_NATIVE_VECTOR_WIDTH: "512" });
  const c = chooseVectorWidth(AVX512, "x86_64", env);
  assert.deepEqual(c, {
    bits: 512,
    cpuBits: 512,
    why: "LP_NATIVE_VECTOR_WIDTH=512 in the environment",
    shaderCache: "/home/u/.cache/mesa_lp512",
  });
  assert.equal(env.vars.get("MESA_SHADER_CACHE_DIR"), "/home/u/.cache/mesa_lp512");
  // XDG_CACHE_HOME wins over HOME; a cache directory the user set is kept.
  const xdg = fakeEnv({ HOME: "/h", XDG_CACHE_HOME: "/x", LP_NATIVE_VECTOR_WIDTH: "256" });
  assert.equal(chooseVectorWidth(AVX512, "x86_64", xdg).shaderCache, "/x/mesa_lp256");
  const own = fakeEnv({ HOME: "/h", MESA_SHADER_CACHE_DIR: "/mine", LP_NATIVE_VECTOR_WIDTH: "256" });
  assert.equal(chooseVectorWidth(AVX512, "x86_64", own).shaderCache, "/mine");
  assert.equal(own.vars.get("MESA_SHADER_CACHE_DIR"), "/mine");
});

Deno.test("vector width: a width Mesa does not take is an error naming the variable", () => {
  assert.throws(
    () => chooseVectorWidth(AVX512, "x86_64", fakeEnv({ LP_NATIVE_VECTOR_WIDTH: "300" })),
    /LP_NATIVE_VECTOR_WIDTH must be 128, 256 or 512 \(bits\); got '300'/,
  );
});
