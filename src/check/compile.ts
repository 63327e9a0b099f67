// From one key's operations to what the search takes: failed operations and
// reads of unknown outcome are dropped (neither constrains anything: a failed
// operation never took effect, and a read changes nothing), values become
// small integers, and an info operation's return time becomes Infinity.
import { encodeCanonicalJson, type JsonValue } from '../json/canonical.js';
import type { Operation } from './history.js';
import { initialValue, type SearchOperation } from './search.js';

/** A search operation and the history operation it came from. */
export interface CompiledOperation {
  search: SearchOperation;
  source: Operation;
}

/**
 * Compiles one key's operations. Values are compared as the key-value store's
 * cas compares them: by canonical JSON, so "5" and 5 differ, and object key
 * order does not matter. null stands for a missing key.
 */
export function compileKey(operations: readonly Operation[]): CompiledOperation[] {
  const values = new ValueIds();
  const compiled: CompiledOperation[] = [];
  for (const source of operations) {
    if (source.outcome === 'fail') continue;
    if (source.f === 'read' && source.outcome !== 'ok') continue;
    compiled.push({ search: compileOperation(source, values), source });
  }
  return dropUnobservedPending(compiled);
}

/**
 * Drops each pending write or cas whose written value no operation could read
 * or expect after it: nothing returned later than its invocation. Such an
 * operation can never help an order (it only overwrites), and taking it out
 * of a valid order leaves a valid order, so the verdict is the same without
 * it; the search is much smaller, since every pending operation may otherwise
 * be tried at every point of the rest of the history.
 */
function dropUnobservedPending(operations: CompiledOperation[]): CompiledOperation[] {
  const lastObserved = new Map<number, number>();
  for (const { search } of operations) {
    if (search.f === 'write') continue;
    lastObserved.set(search.a, Math.max(lastObserved.get(search.a) ?? -Infinity, search.returnTime));
  }
  return operations.filter(({ search }) => {
    if (search.returnTime !== Infinity || search.f === 'read') return true;
    const written = search.f === 'cas' ? search.b : search.a;
    return (lastObserved.get(written) ?? -Infinity) >= search.callTime;
  });
}

function compileOperation(source: Operation, values: ValueIds): SearchOperation {
  const returnTime = source.outcome === 'ok' && source.completeTime !== null ? source.completeTime : Infinity;
  const timing = { callTime: source.invokeTime, returnTime };
  if (source.f !== 'cas') return { f: source.f, a: values.idOf(source.value), b: initialValue, ...timing };
  const [expected, written] = source.value as [JsonValue, JsonValue];
  return { f: 'cas', a: values.idOf(expected), b: values.idOf(written), ...timing };
}

/** Interns values: equal values (by canonical JSON) get equal ids; null is the initial value. */
class ValueIds {
  private readonly ids = new Map<string, number>([['null', initialValue]]);

  idOf(value: JsonValue): number {
    const text = encodeCanonicalJson(value) ?? 'null';
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(text, id);
    }
    return id;
  }
}
