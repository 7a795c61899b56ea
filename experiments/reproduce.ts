/**
 * `deno task reproduce`: runs every implemented section of the paper at the default scale, then the report.
 * @module
 */
console.log("No paper section is implemented yet; running the kernel benchmark instead.");
const bench = new Deno.Command(Deno.execPath(), { args: ["run", "-A", "bench/kernels_bench.ts"] });
const { code } = await bench.spawn().status;
Deno.exit(code);
