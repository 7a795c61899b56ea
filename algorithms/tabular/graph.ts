/**
 * The two graphs behind the Bradley-Terry maximum-likelihood problem of one prompt (Zermelo 1929, Ford 1957):
 *
 * - the comparison graph (undirected: i - j when some pair compares them). Its connected components are separate
 *   problems, each with its own free additive constant: nothing in the data links them.
 * - the win graph (directed: i -> j when i beat j at least once). Within a connected component the maximum-likelihood
 *   rewards are finite iff the win graph is strongly connected there (Ford's condition: for every split of the
 *   component into two non-empty sets, each side beats the other at least once). Otherwise its strongly connected
 *   components (SCCs) are ordered: every comparison between two SCCs goes the same way, so the likelihood keeps
 *   growing as those gaps grow, and the supremum is only approached as they go to infinity.
 * @module
 */

/** The structure of one prompt's comparisons. */
export interface WinGraph {
  /** Per response, its connected component in the comparison graph, or -1 if no pair compares it. */
  component: number[];
  /** Per response, its SCC of the win graph, or -1 if uncovered. SCC ids are in topological order (winners first). */
  scc: number[];
  /** Per SCC, its member responses. */
  members: number[][];
  /** Per SCC, the SCCs it beats directly (some member beat some member of the other). */
  beats: number[][];
  /** Per SCC, the SCCs that beat it directly. */
  beatenBy: number[][];
  /** Per SCC, the length of the longest chain of SCCs above it (0 for an SCC nobody outside beats). */
  depth: number[];
  /** reach[a][b]: SCC a is above SCC b (a path of wins a -> ... -> b exists), so the gap r(a) - r(b) is +∞. */
  reach: boolean[][];
}

/** Builds the comparison and win graphs from a win-count matrix (`wins[i][j]` = times i beat j). */
export function winGraph(wins: number[][]): WinGraph {
  const n = wins.length;
  const covered = wins.map((row, i) => row.some((c, j) => c > 0 || wins[j][i] > 0));
  // Connected components of the comparison graph, by depth-first search from each uncovered-yet-unlabelled node.
  const component = new Array<number>(n).fill(-1);
  let nc = 0;
  for (let s = 0; s < n; s++) {
    if (!covered[s] || component[s] >= 0) continue;
    const stack = [s];
    component[s] = nc;
    while (stack.length > 0) {
      const i = stack.pop()!;
      for (let j = 0; j < n; j++) {
        if (component[j] < 0 && (wins[i][j] > 0 || wins[j][i] > 0)) {
          component[j] = nc;
          stack.push(j);
        }
      }
    }
    nc++;
  }
  const raw = tarjan(wins, covered);
  // Tarjan emits SCCs in reverse topological order (sinks first); reverse so that id order is topological.
  const members = raw.reverse();
  const scc = new Array<number>(n).fill(-1);
  members.forEach((ms, k) => ms.forEach((i) => (scc[i] = k)));
  const m = members.length;
  const beats = members.map(() => new Set<number>());
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (wins[i][j] > 0 && scc[i] !== scc[j]) beats[scc[i]].add(scc[j]);
  }
  const beatsL = beats.map((s) => [...s].sort((a, b) => a - b));
  const beatenBy = members.map((_, k) => beatsL.flatMap((bs, a) => (bs.includes(k) ? [a] : [])));
  // Longest chain above each SCC; topological order means every predecessor is already done.
  const depth = new Array<number>(m).fill(0);
  for (let k = 0; k < m; k++) for (const a of beatenBy[k]) depth[k] = Math.max(depth[k], depth[a] + 1);
  // Transitive closure, again in topological order (from the last SCC up).
  const reach = members.map(() => new Array<boolean>(m).fill(false));
  for (let a = m - 1; a >= 0; a--) {
    for (const b of beatsL[a]) {
      reach[a][b] = true;
      for (let c = 0; c < m; c++) if (reach[b][c]) reach[a][c] = true;
    }
  }
  return { component, scc, members, beats: beatsL, beatenBy, depth, reach };
}

/** Tarjan's SCC algorithm on the covered nodes (recursive; tables here are small). Reverse topological order. */
function tarjan(wins: number[][], covered: boolean[]): number[][] {
  const n = wins.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  let next = 0;
  const visit = (v: number) => {
    index[v] = low[v] = next++;
    stack.push(v);
    onStack[v] = true;
    for (let w = 0; w < n; w++) {
      if (!(wins[v][w] > 0)) continue;
      if (index[w] < 0) {
        visit(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
    }
    if (low[v] === index[v]) {
      const comp: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        comp.push(w);
      } while (w !== v);
      out.push(comp.sort((a, b) => a - b));
    }
  };
  for (let v = 0; v < n; v++) if (covered[v] && index[v] < 0) visit(v);
  return out;
}
