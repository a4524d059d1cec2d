/**
 * Every piece of work the page asks of a worker goes through `TaskLog.run`: past half a second it
 * shows a progress bar with the elapsed time (and the worker's own progress when it reports
 * some); when done, the work's time goes into the activity list and the timings the page keeps.
 */
import type { Progress } from './rpc';
import { h, seconds } from './ui';

/** Below this, work finishes before a progress bar would be worth showing. */
const SHOW_AFTER_MS = 500;
const KEEP = 14;

export interface Timing {
  label: string;
  ms: number;
  at: number;
}

export class TaskLog {
  readonly timings: Timing[] = [];
  /** Tasks still running (the page is idle at 0). */
  busy = 0;

  constructor(
    private readonly running: HTMLElement,
    private readonly done: HTMLElement,
    private readonly onChange: () => void = () => {},
  ) {}

  async run<T>(label: string, work: (progress: (p: Progress) => void) => Promise<T>): Promise<T> {
    const started = performance.now();
    const bar = h('progress', { max: 1 });
    bar.removeAttribute('value'); // indeterminate until the worker reports progress
    const text = h('span', { class: 'task-text' }, label);
    const time = h('span', { class: 'task-time' }, '');
    const row = h('li', { class: 'task' }, text, bar, time);
    let last: Progress | null = null;
    const tick = () => {
      const elapsed = performance.now() - started;
      if (elapsed < SHOW_AFTER_MS) return;
      if (!row.isConnected) this.running.append(row);
      if (last && last.total > 0) {
        bar.max = last.total;
        bar.value = last.done;
        text.textContent = `${label}${last.label ? `: ${last.label}` : ''} (${last.done}/${last.total})`;
      }
      time.textContent = seconds(elapsed);
    };
    const timer = setInterval(tick, 100);
    this.busy++;
    this.onChange();
    try {
      const result = await work((p) => {
        last = p;
      });
      this.finish(label, performance.now() - started, true);
      return result;
    } catch (e) {
      this.finish(label, performance.now() - started, false, e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      clearInterval(timer);
      row.remove();
      this.busy--;
      this.onChange();
    }
  }

  private finish(label: string, ms: number, ok: boolean, error?: string): void {
    if (ok) this.timings.push({ label, ms, at: Date.now() });
    const item = h('li', { class: ok ? 'done' : 'failed' }, h('span', { class: 'task-text' }, ok ? label : `${label} failed: ${error}`), h('span', { class: 'task-time' }, seconds(ms)));
    this.done.prepend(item);
    while (this.done.children.length > KEEP) this.done.lastElementChild?.remove();
  }
}
