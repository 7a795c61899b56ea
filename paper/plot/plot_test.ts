import assert from "node:assert/strict";
import { join } from "node:path";
import {
  groupedBars,
  heatmap,
  lineChart,
  panels,
  renderPng,
  saveFigure,
  scatterChart,
  textWidth,
  toSvg,
  wrapText,
} from "./mod.ts";
import { fmtNum, newGroup, serialize } from "./svg.ts";

const rows = ["x1", "x2", "x3"], cols = ["y1", "y2", "y3", "y4"];
const values = rows.map((_, i) => cols.map((_, j) => (i === j ? 0.7 : 0.1 + 0.01 * (i + j))));
const hm = () =>
  heatmap({
    title: "π_DPO",
    rows,
    cols,
    values,
    marked: [{ row: 0, col: 3 }, { row: 2, col: 1, color: "#ff7f0e" }],
    rowTitle: "prompt",
    colTitle: "response",
    caption: "A caption long enough to wrap onto a second line of the figure's footer, because it keeps going.",
    provenance: "made by `deno task synthetic` at commit abc on llvmpipe",
  });

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  const v = new DataView(png.buffer, png.byteOffset);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

Deno.test("heatmap: one cell per value, circles on marked cells, labels, and identical SVG when drawn twice", () => {
  const a = toSvg(hm()), b = toSvg(hm());
  assert.equal(a, b);
  const cells = [...a.matchAll(/<rect class="cell"/g)].length;
  assert.equal(cells, rows.length * cols.length);
  const circles = [...a.matchAll(/<circle class="mark"[^>]*stroke="(#[0-9a-f]+)"/g)].map((m) => m[1]);
  assert.deepEqual(circles, ["#d62728", "#ff7f0e"]);
  assert.match(a, />0\.70</);
  const text = [...a.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(" ");
  assert.match(text, /made by `deno task synthetic` at commit abc on llvmpipe/, "provenance, maybe wrapped");
  assert.doesNotMatch(a, /\bid="/, "no ids: panels must not clash");
  assert.doesNotMatch(a, /\d\.\d{3,}/, "geometry is rounded to 2 decimals");
});

Deno.test("heatmap: bad shapes and marks are RangeErrors that name the operand", () => {
  assert.throws(() => heatmap({ rows, cols, values: values.slice(1) }), /values must be 3 rows of 4; got 2 rows/);
  assert.throws(() => heatmap({ rows, cols, values, marked: [{ row: 3, col: 0 }] }), /marked\[0\] = \(3, 0\)/);
  assert.throws(() => heatmap({ rows, cols, values, domain: [1, 0] }), RangeError);
  assert.throws(() => heatmap({ rows: [], cols, values: [] }), /at least one row/);
});

Deno.test("PNG: valid, the figure's size times the scale, and byte-identical when rendered twice", async () => {
  const fig = hm();
  const [p1, p2] = [await renderPng(fig), await renderPng(fig)];
  assert.deepEqual(p1, p2);
  assert.deepEqual(pngSize(p1), { width: fig.width * 2, height: fig.height * 2 });
  assert.deepEqual(pngSize(await renderPng(fig, { scale: 1 })), { width: fig.width, height: fig.height });
  await assert.rejects(() => renderPng(fig, { scale: 0 }), RangeError);
});

Deno.test("PNG: text is drawn with the embedded font (a figure with text differs from one without)", async () => {
  const svg = (t: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"><text x="2" y="15" font-size="12">${t}</text></svg>`;
  const blank = await renderPng(svg(""), { scale: 1 }), text = await renderPng(svg("π_ref 0.23"), { scale: 1 });
  assert.notDeepEqual(blank, text);
});

Deno.test("lineChart: a band per series with lo/hi, log x, reference lines; bad input throws", () => {
  const x = [64, 128, 256, 512];
  const opts = {
    series: [
      { name: "intro", x, mean: [0.3, 0.33, 0.35, 0.36], lo: [0.28, 0.31, 0.34, 0.35], hi: [0.32, 0.35, 0.36, 0.37] },
      { name: "inter", x, mean: [0.08, NaN, 0.11, 0.115] },
    ],
    logX: true,
    xLabel: "batch size",
    yLabel: "pass@5",
    references: [{ y: 0.364, label: "paper: 36.4%" }],
  };
  const svg = toSvg(lineChart(opts));
  assert.equal(svg, toSvg(lineChart(opts)));
  assert.equal([...svg.matchAll(/class="band"/g)].length, 1, "one band");
  assert.equal([...svg.matchAll(/class="line"/g)].length, 2, "two lines");
  assert.equal([...svg.matchAll(/class="point"/g)].length, 7, "points, skipping the NaN");
  for (const t of ["64", "128", "256", "512", "paper: 36.4%", "intro", "inter"]) {
    assert.match(svg, new RegExp(`>${t}<`));
  }
  assert.throws(() => lineChart({ ...opts, series: [{ name: "s", x: [0, 1], mean: [1, 2] }] }), /every x > 0/);
  assert.throws(() => lineChart({ series: [{ name: "s", x: [1, 2], mean: [1] }] }), /mean has 1 values but x has 2/);
  assert.throws(() => lineChart({ series: [] }), RangeError);
});

Deno.test("scatterChart: a dot per finite point, a mean ring per group of two or more, references; bad input throws", () => {
  const opts = {
    groups: [{ name: "PPO", x: [0.1, 0.2, NaN], y: [0.9, 0.95, 0.97] }, { name: "DPO", x: [-0.3], y: [0.55] }],
    xLabel: "ΔHelp.",
    yLabel: "S.R.",
    references: [{ x: 0, y: 0.9, label: "Beaver" }],
  };
  const svg = toSvg(scatterChart(opts));
  assert.equal(svg, toSvg(scatterChart(opts)));
  assert.equal([...svg.matchAll(/class="point"/g)].length, 3, "three finite points");
  assert.equal([...svg.matchAll(/class="mean"/g)].length, 1, "one ring: DPO has a single point");
  for (const t of ["PPO", "DPO", "Beaver"]) assert.match(svg, new RegExp(`>${t}<`));
  assert.throws(() => scatterChart({ groups: [{ name: "g", x: [1, 2], y: [1] }] }), /x has 2 values but y has 1/);
  assert.throws(() => scatterChart({ groups: [] }), /at least one group/);
});

Deno.test("groupedBars: one bar per finite value, error whiskers, negative bars below zero; bad input throws", () => {
  const o = {
    groups: ["DPO", "PPO"],
    series: ["ours", "paper"],
    values: [[-3, -4.19], [1.2, NaN]],
    errors: [[0.5, 0], [0.3, 0]],
    yLabel: "ΔHelp.",
  };
  const svg = toSvg(groupedBars(o));
  const bars = [
    ...svg.matchAll(/<rect class="bar" fill="#[0-9A-F]+" height="([\d.]+)" width="[\d.]+" x="[\d.]+" y="([\d.]+)"/g),
  ];
  assert.equal(bars.length, 3);
  const [dpoOurs, , ppoOurs] = bars.map((m) => ({ h: Number(m[1]), y: Number(m[2]) }));
  assert.ok(ppoOurs.y + ppoOurs.h <= dpoOurs.y + 0.01, "a positive bar ends where a negative one starts (zero)");
  assert.equal([...svg.matchAll(/class="error"/g)].length, 2, "two error bars (zero-width ones skipped)");
  assert.throws(() => groupedBars({ ...o, errors: [[1, 1]] }), /errors must be 2 groups of 2/);
  assert.throws(() => groupedBars({ ...o, errors: [[-1, 0], [0, 0]] }), /must be >= 0/);
});

Deno.test("panels: figures side by side, total size adds up, one title and caption", () => {
  const a = heatmap({ rows, cols, values, legend: false }), b = heatmap({ rows, cols, values });
  const p = panels({ panels: [a, b], gap: 10, title: "Figure 1", caption: "Two panels." });
  assert.equal(p.width, a.width + b.width + 10 + 28);
  const svg = toSvg(p);
  assert.equal([...svg.matchAll(/<rect class="cell"/g)].length, 2 * rows.length * cols.length);
  assert.equal(toSvg(panels({ panels: [a, b], columns: 1 })).length > 0, true);
  assert.throws(() => panels({ panels: [] }), RangeError);
  assert.throws(() => panels({ panels: [a], columns: 0 }), /columns must be an integer >= 1/);
});

Deno.test("serialiser: attributes sorted by name, numbers rounded, text escaped", () => {
  const g = newGroup();
  g.append("rect").attr("y", 1.23456).attr("x", -0.0001).attr("fill", "#4e79a7");
  g.append("text").attr("x", 1).text("a < b & c");
  assert.equal(serialize(g), '<g><rect fill="#4e79a7" x="0" y="1.23"/><text x="1">a &lt; b &amp; c</text></g>');
  assert.equal(fmtNum(-0.001), "0");
  assert.equal(fmtNum(2.005), "2.01");
});

Deno.test("font: widths come from DejaVu Sans metrics and wrapping respects the width", () => {
  assert.ok(Math.abs(textWidth("x", 10) - 5.92) < 0.01, `x is 0.592 em in DejaVu Sans; got ${textWidth("x", 10)}`);
  assert.ok(textWidth("WWW", 12) > textWidth("iii", 12));
  assert.ok(textWidth("bold", 12, "bold") > textWidth("bold", 12));
  const lines = wrapText("one two three four five six seven eight nine ten", 12, 100);
  assert.ok(lines.length > 1 && lines.every((l) => textWidth(l, 12) <= 100 || !l.includes(" ")));
  assert.equal(lines.join(" "), "one two three four five six seven eight nine ten");
});

Deno.test("saveFigure: writes name.svg and name.png, identical on a second save, and checks the name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await saveFigure(dir, "fig-1", hm());
    assert.deepEqual(out, { svg: join(dir, "fig-1.svg"), png: join(dir, "fig-1.png") });
    const first = [await Deno.readFile(out.svg), await Deno.readFile(out.png)];
    await saveFigure(dir, "fig-1", hm());
    assert.deepEqual([await Deno.readFile(out.svg), await Deno.readFile(out.png)], first);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["fig-1.png", "fig-1.svg"], "no temp files");
    await assert.rejects(() => saveFigure(dir, "../escape", hm()), /Figure name may hold/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
