import type { CompactMetrics, FamilyLayout } from './metrics-source.js';
import type { FamilySnapshot, SampleValue, WorkerMetrics } from './worker-metrics.js';

/** A layout a worker sent, with what was built from it at the last scrapes. */
interface HeldLayout {
  readonly id: string;
  readonly families: FamilyLayout[];
  /** Per family: the values it had at the last scrape, and the snapshot built from them (reused while they stay). */
  readonly lastValues: Array<SampleValue[] | undefined>;
  readonly lastSnapshots: Array<FamilySnapshot | undefined>;
  /** `per-worker` mode, per family: each series' line up to its value, with the slot label; `null` if the label clashes. */
  prefixes?: Array<string[] | null>;
}

/** Layouts kept per slot: the current one, and the one before for a scrape still in flight when it changed. */
const KEPT_PER_SLOT = 2;

/**
 * The asking side of the compact answers: the layouts the node's workers sent, by slot, and what was built
 * from them. A worker's answer that follows a held layout carries numbers only; a family whose values did not
 * change since the last scrape reuses the snapshot (sample list, or `per-worker` lines) built then.
 */
export class LayoutStore {
  private readonly bySlot = new Map<number, HeldLayout[]>();

  /** `slotLabel`: `per-worker` mode, lines with this label; without, samples to merge (`aggregate` mode). */
  constructor(private readonly slotLabel?: string) {}

  /** The layout held for this slot's worker, to name in the request (the worker then sends values only). */
  held(slot: number): string | null {
    return this.bySlot.get(slot)?.[0]?.id ?? null;
  }

  /** Forgets the layouts of slots no longer in the node. */
  retain(slots: ReadonlySet<number>): void {
    for (const slot of this.bySlot.keys()) if (!slots.has(slot)) this.bySlot.delete(slot);
  }

  /** The answer as the merge takes it; `undefined` if it follows a layout not held (the next scrape asks afresh). */
  expand(slot: number, answer: CompactMetrics): WorkerMetrics | undefined {
    const layout = this.layoutOf(slot, answer);
    if (!layout || count(layout.families) !== answer.values.length) return undefined;
    const families: FamilySnapshot[] = [];
    let offset = 0;
    layout.families.forEach((family, f) => {
      const n = family.series.length / 2;
      const values = answer.values;
      const last = layout.lastValues[f];
      let snapshot = layout.lastSnapshots[f];
      if (!snapshot || !last || !sameValues(last, values, offset, n)) {
        snapshot = this.slotLabel === undefined ? samplesOf(family, values, offset) : this.linesOf(layout, f, slot, values, offset);
        layout.lastValues[f] = values.slice(offset, offset + n);
        layout.lastSnapshots[f] = snapshot;
      }
      families.push(snapshot);
      offset += n;
    });
    return { pid: answer.pid, families };
  }

  private layoutOf(slot: number, answer: CompactMetrics): HeldLayout | undefined {
    const kept = this.bySlot.get(slot) ?? [];
    if (answer.families === undefined) return kept.find((held) => held.id === answer.layout);
    const held: HeldLayout = { id: answer.layout, families: answer.families, lastValues: [], lastSnapshots: [] };
    this.bySlot.set(slot, [held, ...kept.filter((k) => k.id !== answer.layout)].slice(0, KEPT_PER_SLOT));
    return held;
  }

  private linesOf(layout: HeldLayout, f: number, slot: number, values: readonly SampleValue[], offset: number): FamilySnapshot {
    const family = layout.families[f]!;
    const prefixes = (layout.prefixes ??= layout.families.map((each) => prefixesOf(each, this.slotLabel!, slot)))[f]!;
    const base = { ...header(family) };
    if (prefixes === null) return { ...base, lines: '', clash: true };
    let lines = '';
    for (let i = 0; i < prefixes.length; i++) lines += `${prefixes[i]!}${values[offset + i]!}\n`;
    return { ...base, lines };
  }
}

function header({ name, help, type, aggregator, buckets }: FamilyLayout): Omit<FamilySnapshot, 'samples' | 'lines' | 'clash'> {
  return buckets === undefined ? { name, help, type, aggregator } : { name, help, type, aggregator, buckets };
}

function samplesOf(family: FamilyLayout, values: readonly SampleValue[], offset: number): FamilySnapshot {
  const { series } = family;
  const samples: Array<string | SampleValue> = new Array<string | SampleValue>((series.length / 2) * 3);
  for (let i = 0, j = 0; i < series.length; i += 2, j += 3) {
    samples[j] = series[i]!;
    samples[j + 1] = series[i + 1]!;
    samples[j + 2] = values[offset + i / 2]!;
  }
  return { ...header(family), samples };
}

/** Each series' line up to its value (`name_suffix{labels,slot="1"} `), or `null` if one already has the slot label. */
function prefixesOf(family: FamilyLayout, slotLabel: string, slot: number): string[] | null {
  const slotText = `${slotLabel}="${slot}"`;
  const marker = `${slotLabel}="`;
  const prefixes: string[] = [];
  const { name, series } = family;
  for (let i = 0; i < series.length; i += 2) {
    const labels = series[i + 1]!;
    if (labels.startsWith(marker) || labels.includes(`,${marker}`)) return null;
    prefixes.push(`${name}${series[i]!}{${labels === '' ? slotText : `${labels},${slotText}`}} `);
  }
  return prefixes;
}

function count(families: readonly FamilyLayout[]): number {
  let n = 0;
  for (const family of families) n += family.series.length / 2;
  return n;
}

function sameValues(last: readonly SampleValue[], values: readonly SampleValue[], offset: number, n: number): boolean {
  if (last.length !== n) return false;
  for (let i = 0; i < n; i++) if (last[i] !== values[offset + i]) return false;
  return true;
}
