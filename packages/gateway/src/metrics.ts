/** A tiny Prometheus text-format registry: counters and gauges with labels, no dependencies. */
type Labels = Record<string, string>;

interface Series {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
}

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}

export class Metrics {
  readonly #series = new Map<string, Series>();
  readonly #collectors: Array<() => void> = [];

  #get(name: string, type: Series["type"], help: string): Series {
    let s = this.#series.get(name);
    if (!s) {
      s = { help, type, values: new Map() };
      this.#series.set(name, s);
    }
    return s;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.#get(name, "counter", help);
    const k = key(labels);
    const v = s.values.get(k);
    if (v) v.value += by;
    else s.values.set(k, { labels, value: by });
  }

  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.#get(name, "gauge", help).values.set(key(labels), { labels, value });
  }

  /** Registers a callback that refreshes gauges right before rendering. */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  value(name: string, labels: Labels = {}): number {
    return this.#series.get(name)?.values.get(key(labels))?.value ?? 0;
  }

  render(): string {
    for (const fn of this.#collectors) fn();
    const lines: string[] = [];
    for (const [name, s] of this.#series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      for (const { labels, value } of s.values.values()) {
        const l = Object.entries(labels)
          .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
          .join(",");
        lines.push(`${name}${l ? `{${l}}` : ""} ${value}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}
