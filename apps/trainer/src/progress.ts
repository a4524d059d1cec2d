/**
 * What a user sees while a long job runs: a progress bar with rate and ETA in a terminal
 * (cli-progress), plain log lines otherwise (CI logs, files), never both.
 */
import cliProgress from 'cli-progress';

export interface ProgressFields {
  [key: string]: string | number;
}

export interface Progress {
  update(done: number, fields?: ProgressFields): void;
  log(line: string): void;
  stop(): void;
}

function fmtEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function fmtFields(fields: ProgressFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(4)) : v}`)
    .join(' | ');
}

/**
 * @param total   number of units (iterations, batches)
 * @param label   what is being done ("train", "features")
 * @param unit    what the rate counts ("img", "it")
 * @param perUnit how many rate units one progress unit holds (images per iteration)
 */
export function createProgress(
  total: number,
  label: string,
  opts: { unit?: string; perUnit?: number; stream?: NodeJS.WriteStream; plainEvery?: number; start?: number } = {},
): Progress {
  const { unit = 'it', perUnit = 1, stream = process.stderr, start = 0 } = opts;
  const t0 = Date.now();
  let last = start;
  const rate = (done: number) => ((done - start) * perUnit) / Math.max((Date.now() - t0) / 1000, 1e-9);
  const eta = (done: number) => ((total - done) * perUnit) / Math.max(rate(done), 1e-9);

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {value}/{total} | {rate} ${unit}/s | ETA {etaText} | {fields}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stream,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { rate: '-', etaText: '?', fields: '' });
    return {
      update(done, fields = {}) {
        last = done;
        bar.update(done, { rate: rate(done).toFixed(1), etaText: fmtEta(eta(done)), fields: fmtFields(fields) });
      },
      log(line) {
        // Print above the bar without tearing it.
        stream.write('\r\x1b[K' + line + '\n');
        bar.render();
      },
      stop() {
        bar.stop();
      },
    };
  }
  const every = opts.plainEvery ?? Math.max(1, Math.round(total / 20));
  return {
    update(done, fields = {}) {
      const due = done === total || Math.floor(done / every) > Math.floor(last / every);
      last = done;
      if (due) {
        stream.write(
          `${label} ${done}/${total} | ${rate(done).toFixed(1)} ${unit}/s | ETA ${fmtEta(eta(done))}${Object.keys(fields).length ? ' | ' + fmtFields(fields) : ''}\n`,
        );
      }
    },
    log(line) {
      stream.write(line + '\n');
    },
    stop() {},
  };
}
