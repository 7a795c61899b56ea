import assert from "node:assert/strict";
import { ConfigError, defaults, opt, resolveConfig } from "./config.ts";

const SCHEMA = {
  seed: opt(1, "seed", { int: true, min: 0 }),
  name: opt("a", "which", { choices: ["a", "b"] }),
  ppo: {
    lr: opt(1e-5, "learning rate", { min: 0 }),
    advNorm: opt(true, "advantage normalisation"),
    sizes: opt([1, 2], "sizes"),
  },
};

Deno.test("config: defaults, presets, YAML and --set apply in order", () => {
  assert.deepEqual(defaults(SCHEMA), { seed: 1, name: "a", ppo: { lr: 1e-5, advNorm: true, sizes: [1, 2] } });
  const cfg = resolveConfig(SCHEMA, {
    presets: [{ name: "tiny", values: { seed: 2, ppo: { lr: 2e-5 } } }],
    yaml: { text: "seed: 3\nppo:\n  advNorm: false\n  sizes: [4, 5]\n", file: "x.yaml" },
    sets: ["ppo.lr=3e-5", "name=b"],
  });
  assert.deepEqual(cfg, { seed: 3, name: "b", ppo: { lr: 3e-5, advNorm: false, sizes: [4, 5] } });
});

Deno.test("config: bad keys and values name the key and the place", () => {
  const err = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e: Error) => e instanceof ConfigError && re.test(e.message));
  err(() => resolveConfig(SCHEMA, { sets: ["ppo.lrr=1"] }), /Unknown config key 'ppo.lrr' \(--set ppo.lrr=1\).*ppo.lr/);
  err(
    () => resolveConfig(SCHEMA, { yaml: { text: "seed: 1\nppo:\n  lr: fast\n", file: "c.yaml" } }),
    /'ppo.lr' must be a number.*c.yaml line 3/,
  );
  err(
    () => resolveConfig(SCHEMA, { yaml: { text: "seed: [1\n", file: "m.yaml" } }),
    /Malformed YAML in m.yaml at line/,
  );
  err(() => resolveConfig(SCHEMA, { sets: ["seed=1.5"] }), /must be an integer/);
  err(() => resolveConfig(SCHEMA, { sets: ["ppo.lr=-1"] }), /must be >= 0/);
  err(() => resolveConfig(SCHEMA, { sets: ["name=c"] }), /must be one of "a", "b"/);
  err(() => resolveConfig(SCHEMA, { sets: ["ppo=1"] }), /is a section/);
  err(() => resolveConfig(SCHEMA, { sets: ["seed"] }), /--set needs key=value/);
});
