/**
 * File writes that a killed process cannot tear: write a temporary file beside the target, then rename it over.
 * @module
 */
import { dirname } from "node:path";

/** Writes `data` to `path` atomically (temporary file + rename), creating the parent directory. */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes `value` as indented JSON (with a final newline) atomically. */
export function atomicWriteJson(path: string, value: unknown): Promise<void> {
  return atomicWrite(path, JSON.stringify(value, null, 2) + "\n");
}

/** Reads and parses a JSON file; the error names the file. */
export async function readJson<T = unknown>(path: string): Promise<T> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new SyntaxError(`Malformed JSON in ${path}: ${(e as Error).message}`);
  }
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
