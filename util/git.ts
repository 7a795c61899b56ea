/**
 * The git commit a run was made from, for run records and figure captions.
 * @module
 */

/** Commit hash and whether the tree had uncommitted changes; "unknown" outside a git checkout. */
export interface GitInfo {
  commit: string;
  dirty: boolean;
}

let cached: Promise<GitInfo> | undefined;

async function git(args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The checkout's HEAD commit and dirty flag (cached per process). */
export function gitInfo(): Promise<GitInfo> {
  cached ??= (async () => {
    const commit = await git(["rev-parse", "--short=12", "HEAD"]);
    if (!commit) return { commit: "unknown", dirty: false };
    const status = await git(["status", "--porcelain", "--untracked-files=no"]);
    return { commit, dirty: (status ?? "") !== "" };
  })();
  return cached;
}
