/**
 * The one place the package asks whether it runs in Node, and for Node's built-in modules:
 * through `process.getBuiltinModule` (Node >= 20.16), never an import, so the package bundles
 * for browsers unchanged.
 */
interface NodeProcessLike {
  versions?: { node?: string };
  getBuiltinModule?(id: string): unknown;
}

/** Node's `process`, or null outside Node. */
export function nodeProcess(): NodeProcessLike | null {
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  return proc?.versions?.node != null ? proc : null;
}

/** A Node built-in module (`node:v8`, `node:os`, ...), or null outside Node or before 20.16. */
export function nodeBuiltin<T>(id: string): T | null {
  return (nodeProcess()?.getBuiltinModule?.(id) as T | undefined) ?? null;
}
