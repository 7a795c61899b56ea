/**
 * Fingerprints of the source that computes a result: the model store (experiments/model_cache.ts) and the run
 * directories (util/run_dir.ts) key what they hold by it, so a changed kernel, trainer or testbed never lets an old
 * model or run pass for a new one.
 * @module
 */

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 (hex) of a value's JSON. */
export async function fingerprint(value: unknown): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value))));
}

/** The folders whose non-test modules compute models and runs (the report's paper/ is not among them). */
export const COMPUTE_DIRS = ["kernels", "nn", "algorithms", "testbeds", "experiments", "util"] as const;

const cache = new Map<string, Promise<string>>();

/** SHA-256 of every non-test TypeScript module under `dirs` of the repository, by sorted path and content. */
export function sourceFingerprint(dirs: readonly string[] = COMPUTE_DIRS): Promise<string> {
  const key = dirs.join(",");
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const root = new URL("../", import.meta.url), files: string[] = [];
      const walk = async (dir: string) => {
        for await (const e of Deno.readDir(new URL(dir, root))) {
          const path = `${dir}/${e.name}`;
          if (e.isDirectory) await walk(path);
          else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) files.push(path);
        }
      };
      for (const dir of dirs) await walk(dir);
      files.sort();
      const texts = await Promise.all(files.map((f) => Deno.readTextFile(new URL(f, root))));
      return fingerprint(files.map((f, i) => [f, texts[i]]));
    })();
    cache.set(key, p);
  }
  return p;
}
