/**
 * Progress for long commands: one line on stderr, rewritten in place, only when stderr is a terminal (never
 * in piped or redirected output). Throttled to ~10 updates a second.
 */
export interface Progress {
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

export function progress(
  stream: NodeJS.WriteStream = process.stderr,
  enabled: boolean = stream.isTTY === true,
): Progress {
  if (!enabled) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      shown = true;
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
      shown = false;
    },
  };
}

/**
 * For one long query with nothing to count: after `afterMs`, shows `label` and the seconds elapsed on a
 * terminal, until `work` settles.
 */
export async function ticking<T>(
  label: string,
  work: Promise<T>,
  bar: Progress = progress(),
  afterMs = 1000,
): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    const s = Math.floor((Date.now() - started) / 1000);
    if (Date.now() - started >= afterMs) bar.update(`${label} ${s} s`);
  }, 250);
  timer.unref();
  try {
    return await work;
  } finally {
    clearInterval(timer);
    bar.done();
  }
}
