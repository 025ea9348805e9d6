export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `median [min-max]` with a fixed number of decimals. */
export function spread(values: readonly number[], decimals = 0): string {
  const f = (n: number) => n.toFixed(decimals);
  return `${f(median(values))} [${f(Math.min(...values))}-${f(Math.max(...values))}]`;
}

/** Per-round ratios a/b: pairing within a round cancels most of the machine's drift between rounds. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value / b[i]!);
}

/** Per-round differences a-b, paired like `ratios`. */
export function differences(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value - b[i]!);
}

/** `1.02x [0.97-1.05]`: a median of per-round ratios and their range. */
export function ratioSpread(values: readonly number[], decimals = 2): string {
  const f = (n: number) => n.toFixed(decimals);
  return `${f(median(values))}x [${f(Math.min(...values))}-${f(Math.max(...values))}]`;
}

/** True when every value is a finite number and there is at least one. */
export function allFinite(values: readonly number[]): boolean {
  return values.length > 0 && values.every(Number.isFinite);
}
