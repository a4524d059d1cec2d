/**
 * A small typed request/response layer over `postMessage`, with progress reports and events.
 *
 * The worker side runs requests one at a time, in arrival order: a request reads the state the
 * previous one left (the model, the current image), so two must never interleave at an `await`.
 * Methods listed as `immediate` (a stop button) bypass the queue.
 */

/** A method's argument and result types, from an API interface of one-argument functions. */
type Fn = (a: never) => unknown;
export type ArgOf<F> = F extends (a: infer A) => unknown ? A : never;
export type ResultOf<F> = F extends (a: never) => infer R ? R : never;

export interface Progress {
  done: number;
  total: number;
  label?: string;
}

type Request = { id: number; method: string; args: unknown };
type Reply =
  | { id: number; type: 'progress'; progress: Progress }
  | { id: number; type: 'result'; value: unknown }
  | { id: number; type: 'error'; message: string };
type EventMessage = { type: 'event'; name: string; data: unknown };

/** What a handler can do besides returning its result. */
export interface HandlerContext {
  progress(done: number, total: number, label?: string): void;
  /** Buffers of the result to move to the page instead of copying (the worker must not reuse them). */
  transfer(...buffers: ArrayBufferLike[]): void;
}

export type Handlers<Api> = { [K in keyof Api]: (args: ArgOf<Api[K]>, ctx: HandlerContext) => Promise<ResultOf<Api[K]>> | ResultOf<Api[K]> };

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent) => void): void;
}

/** Serves `handlers` in a worker; returns `emit` for events the page subscribes to. */
export function serve<Api extends Record<keyof Api, Fn>, Events = Record<string, never>>(
  handlers: Handlers<Api>,
  opts: { immediate?: (keyof Api)[] } = {},
): { emit<E extends keyof Events & string>(name: E, data: Events[E], transfer?: ArrayBufferLike[]): void } {
  const scope = self as unknown as WorkerScope;
  let queue: Promise<void> = Promise.resolve();
  const run = async ({ id, method, args }: Request) => {
    const transfer: ArrayBufferLike[] = [];
    const ctx: HandlerContext = {
      progress: (done, total, label) => scope.postMessage({ id, type: 'progress', progress: { done, total, label } } satisfies Reply),
      transfer: (...buffers) => transfer.push(...buffers),
    };
    try {
      const handler = handlers[method as keyof Api] as (a: unknown, c: HandlerContext) => unknown;
      if (!handler) throw new Error(`unknown method ${method}`);
      const value = await handler(args, ctx);
      scope.postMessage({ id, type: 'result', value } satisfies Reply, transfer as Transferable[]);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      scope.postMessage({ id, type: 'error', message } satisfies Reply);
    }
  };
  scope.addEventListener('message', (e: MessageEvent<Request>) => {
    const req = e.data;
    if (opts.immediate?.includes(req.method as keyof Api)) void run(req);
    else queue = queue.then(() => run(req));
  });
  return {
    emit: (name, data, transfer = []) => scope.postMessage({ type: 'event', name, data } satisfies EventMessage, transfer as Transferable[]),
  };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (p: Progress) => void;
}

/** The page's handle on a worker serving `Api` and emitting `Events`. */
export class WorkerClient<Api extends Record<keyof Api, Fn>, Events = Record<string, never>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, ((data: unknown) => void)[]>();

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<Reply | EventMessage>) => {
      const msg = e.data;
      if (msg.type === 'event') {
        for (const fn of this.listeners.get(msg.name) ?? []) fn(msg.data);
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') p.onProgress?.(msg.progress);
      else {
        this.pending.delete(msg.id);
        if (msg.type === 'result') p.resolve(msg.value);
        else p.reject(new Error(msg.message));
      }
    });
    // A worker that fails to load or crashes fails every call still waiting on it.
    worker.addEventListener('error', (e) => {
      const err = new Error(`worker failed: ${e.message || 'could not start'}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  call<K extends keyof Api & string>(
    method: K,
    args: ArgOf<Api[K]>,
    opts: { onProgress?: (p: Progress) => void; transfer?: Transferable[] } = {},
  ): Promise<ResultOf<Api[K]>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress });
      this.worker.postMessage({ id, method, args } satisfies Request, opts.transfer ?? []);
    });
  }

  on<E extends keyof Events & string>(name: E, fn: (data: Events[E]) => void): void {
    const list = this.listeners.get(name) ?? [];
    list.push(fn as (data: unknown) => void);
    this.listeners.set(name, list);
  }

  terminate(): void {
    this.worker.terminate();
    const err = new Error('worker stopped');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
