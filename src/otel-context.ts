// OpenTelemetry spans as profiler labels: the mechanism behind labelprof/otel.
//
// A span's context becomes active in exactly one place: the registered
// context manager's `with(context, fn)` (startActiveSpan, context.with, the
// instrumentations; `bind` goes through it in the SDK's managers; the
// experimental `attach` is wrapped on its own). So the registered manager's
// `with` is wrapped: fn runs under the labels already there (the
// application's included) merged with those of that context's span, as
// withLabels would run it: the previous labels come back when fn returns,
// and every continuation created inside keeps them, as it keeps the context.
//
// The manager may be registered before or after labelprof: the API keeps its
// globals in one object under Symbol.for('opentelemetry.js.api.<major>') on
// globalThis, read on every API call. An accessor in that slot sees the
// registry whoever creates it and wraps whichever manager it holds the next
// time the API reads it, so registration order does not matter and a manager
// registered again after context.disable() is wrapped too.
//
// Cost: while no profile runs, the wrapper is one isProfiling() check, so
// spans cost what the SDK costs. While one runs, the labels of a span are
// built once and cached on the span (WeakMap), with the label set made for
// it (not interned: see uninternedSet) for the labels it was entered under;
// a nested `with` on the span that is already labelled passes straight
// through.
import { currentSet, enterWith, runWithApply } from './label-context';
import { EMPTY, intern, LabelSet, OVERFLOW_ID, uninternedSet, type Labels } from './label-sets';
import { isProfiling } from './profiler';
import { registerLabelRewrite } from './profile-labels';

// Keys the API builds with createContextKey, i.e. Symbol.for(description),
// identical across copies and versions of @opentelemetry/api and core.
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
const RPC_METADATA_KEY = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');

/** The label keys labelprof/otel sets. */
export const SPAN_LABEL_KEYS = Object.freeze(['span_id', 'local_root_span_id', 'trace_id', 'trace_endpoint'] as const);

// Structural views of the OTel objects used here, so that nothing of
// @opentelemetry/api is needed at compile time or in the published types.
interface OtelContext {
  getValue(key: symbol): unknown;
}
interface OtelSpanContext {
  traceId: string;
  spanId: string;
  isRemote?: boolean;
}
interface OtelSpan {
  spanContext(): OtelSpanContext;
  /** SDK spans (ReadableSpan): name, attributes, parent. */
  name?: unknown;
  attributes?: Record<string, unknown>;
  parentSpanContext?: OtelSpanContext; // sdk-trace 2.x
  parentSpanId?: unknown; // sdk-trace 1.x
}
/** What @opentelemetry/core's RPCMetadata holds: instrumentation-http makes it, express fills `route`. */
interface RpcMetadata {
  type?: unknown;
  route?: unknown;
  span?: OtelSpan;
}
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
interface ContextManager {
  with: AnyFunction;
  bind: AnyFunction;
  attach?: AnyFunction;
}

const INVALID_SPAN_ID = '0000000000000000';
const INVALID_TRACE_ID = '00000000000000000000000000000000';

// --- the labels of a span -----------------------------------------------------

interface SpanInfo {
  /** The span's own labels (the four keys). */
  readonly labels: Labels;
  /**
   * Whether trace_endpoint can still change: an HTTP request's endpoint is
   * the method alone until a router (Express) has matched a route.
   */
  readonly provisional: boolean;
  /**
   * The set last made for the span: `labels` over `base`, the labels other
   * than span labels it was entered under (a set without span labels).
   * Entering the span again under the same base (a bound callback, the
   * request's context re-entered from a child's) reuses it.
   */
  base: LabelSet | undefined;
  set: LabelSet | undefined;
}
const infoOfSpan = new WeakMap<object, SpanInfo>();

// Samples of a request taken before its route was known carry the method
// alone. Once a route is known, the profile built afterwards gives those
// samples the full endpoint too (a rewrite at profile time, keyed by local
// root). Bounded: past MAX_PENDING_ROOTS requests still waiting for their
// route, or routes learned, the oldest are forgotten and their early samples
// keep the method alone (cpuByEndpoint still joins them by local root).
const MAX_PENDING_ROOTS = 65536;

/**
 * A string-keyed map that forgets its oldest entries: two generations of
 * `max / 2` entries; a full current generation becomes the old one and the
 * old one is dropped. Evicting one oldest entry per insert from a Map
 * (`map.keys().next()`, then delete) walks over every entry deleted from the
 * front since the table was last rehashed: at 65536 entries that took ~11 µs
 * per traced request (Node 20), against ~1 µs below the cap.
 */
class RecentMap<V> {
  #current = new Map<string, V>();
  #old = new Map<string, V>();
  readonly #generation: number;
  constructor(max: number) {
    this.#generation = max >> 1;
  }
  get(key: string): V | undefined {
    const v = this.#current.get(key);
    return v !== undefined ? v : this.#old.get(key);
  }
  set(key: string, value: V): void {
    this.#current.set(key, value);
    if (this.#current.size >= this.#generation) {
      this.#old = this.#current;
      this.#current = new Map();
    }
  }
  delete(key: string): boolean {
    return this.#current.delete(key) || this.#old.delete(key);
  }
  get size(): number {
    return this.#current.size + this.#old.size;
  }
}

const pendingRoots = new RecentMap<true>(MAX_PENDING_ROOTS); // local roots labelled with a provisional endpoint
const finalEndpoints = new RecentMap<string>(MAX_PENDING_ROOTS); // local root -> endpoint learned later

function notePending(localRoot: string): void {
  if (pendingRoots.get(localRoot) === undefined) pendingRoots.set(localRoot, true);
}

function noteFinal(localRoot: string, endpoint: string): void {
  if (pendingRoots.delete(localRoot)) finalEndpoints.set(localRoot, endpoint);
}

const completedLabels = new WeakMap<Labels, Labels>();
function completeEndpoint(labels: Labels): Labels {
  const root = labels.local_root_span_id;
  if (root === undefined) return labels;
  const endpoint = finalEndpoints.get(root);
  if (endpoint === undefined || endpoint === labels.trace_endpoint) return labels;
  let out = completedLabels.get(labels);
  if (out === undefined) completedLabels.set(labels, (out = Object.freeze({ ...labels, trace_endpoint: endpoint })));
  return out;
}

function asSpan(value: unknown): OtelSpan | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return typeof (value as OtelSpan).spanContext === 'function' ? (value as OtelSpan) : undefined;
}

function validSpanContext(sc: OtelSpanContext | undefined): sc is OtelSpanContext {
  return (
    sc !== undefined &&
    typeof sc.spanId === 'string' &&
    typeof sc.traceId === 'string' &&
    sc.spanId !== INVALID_SPAN_ID &&
    sc.traceId !== INVALID_TRACE_ID &&
    sc.spanId !== '' &&
    sc.traceId !== ''
  );
}

// Two keys rather than a rest parameter: no array per call (several calls per span).
function stringAttribute(span: OtelSpan | undefined, key: string, orKey?: string): string | undefined {
  const attributes = span?.attributes;
  if (attributes === undefined || attributes === null) return undefined;
  const v = attributes[key];
  if (typeof v === 'string' && v !== '') return v;
  if (orKey === undefined) return undefined;
  const w = attributes[orKey];
  return typeof w === 'string' && w !== '' ? w : undefined;
}

// http.request.method is the stable semantic convention, http.method the old one.
const methodOf = (span: OtelSpan | undefined) => stringAttribute(span, 'http.request.method', 'http.method');

/**
 * The endpoint of a local root span: method + route where the route is known
 * (RPCMetadata, which Express fills in when a route matches, or the
 * http.route attribute), else the method alone (provisional), else the name.
 */
function endpointOfRoot(span: OtelSpan, rpc: RpcMetadata | undefined): { endpoint: string; provisional: boolean } {
  const method = methodOf(span);
  const route = rpcRoute(rpc) ?? stringAttribute(span, 'http.route');
  if (method !== undefined && route !== undefined) return { endpoint: `${method} ${route}`, provisional: false };
  if (method !== undefined) return { endpoint: method, provisional: true };
  return { endpoint: typeof span.name === 'string' && span.name !== '' ? span.name : 'unknown', provisional: rpc !== undefined };
}

function rpcRoute(rpc: RpcMetadata | undefined): string | undefined {
  return typeof rpc?.route === 'string' && rpc.route !== '' ? rpc.route : undefined;
}

/**
 * The endpoint once the request's route is known: method and route; the
 * route alone for a span the sampler dropped (a non-recording span has no
 * attributes to take the method from).
 */
function routedEndpoint(rpc: RpcMetadata | undefined, span: OtelSpan): string | undefined {
  const route = rpcRoute(rpc);
  if (route === undefined) return undefined;
  const method = methodOf(asSpan(rpc?.span)) ?? methodOf(span);
  return method !== undefined ? `${method} ${route}` : route;
}

function rpcOf(context: OtelContext): RpcMetadata | undefined {
  const rpc = context.getValue(RPC_METADATA_KEY);
  return rpc !== null && typeof rpc === 'object' ? (rpc as RpcMetadata) : undefined;
}

/** Builds the labels of `span`, entered in `context`, from the labels current now. */
function newSpanInfo(span: OtelSpan, sc: OtelSpanContext, rpc: RpcMetadata | undefined): SpanInfo {
  const parent: OtelSpanContext | undefined =
    span.parentSpanContext ??
    (typeof span.parentSpanId === 'string' && span.parentSpanId !== ''
      ? { spanId: span.parentSpanId, traceId: sc.traceId }
      : undefined);
  const current = currentSet().labels;
  const rpcSpan = asSpan(rpc?.span);
  let localRoot: string;
  let endpoint: string;
  let provisional: boolean;
  if (parent !== undefined && parent.isRemote !== true && current.trace_id === sc.traceId && current.local_root_span_id !== undefined) {
    // A child entered under its trace's labels (the usual case): same local root.
    localRoot = current.local_root_span_id;
    endpoint = current.trace_endpoint ?? 'unknown';
    provisional = rpc !== undefined && rpcRoute(rpc) === undefined;
  } else if (rpcSpan !== undefined && rpcSpan !== span && rpcSpan.spanContext().traceId === sc.traceId) {
    // Entered outside its parent's labels but inside an HTTP request's context:
    // the request's server span is the local root.
    localRoot = rpcSpan.spanContext().spanId;
    ({ endpoint, provisional } = endpointOfRoot(rpcSpan, rpc));
  } else {
    // No parent, a remote parent, or a local parent whose labels are not
    // here (entered before profiling started): this span is the local root.
    localRoot = sc.spanId;
    ({ endpoint, provisional } = endpointOfRoot(span, rpc));
  }
  // A route known from the request beats an inherited provisional endpoint.
  const routed = routedEndpoint(rpc, span);
  if (routed !== undefined) {
    endpoint = routed;
    provisional = false;
  }
  return freezeInfo(sc, localRoot, endpoint, provisional);
}

function freezeInfo(sc: OtelSpanContext, localRoot: string, endpoint: string, provisional: boolean): SpanInfo {
  if (provisional) notePending(localRoot);
  else if (pendingRoots.size > 0) noteFinal(localRoot, endpoint);
  return {
    labels: Object.freeze({
      span_id: sc.spanId,
      local_root_span_id: localRoot,
      trace_id: sc.traceId,
      trace_endpoint: endpoint,
    }),
    provisional,
    base: undefined,
    set: undefined,
  };
}

/** What labelprof/otel knows of the span active in `context`, or undefined when it has no valid span. */
function spanInfoOf(context: unknown): SpanInfo | undefined {
  if (context === null || typeof context !== 'object' || typeof (context as OtelContext).getValue !== 'function') {
    return undefined;
  }
  const span = asSpan((context as OtelContext).getValue(SPAN_KEY));
  if (span === undefined) return undefined;
  let info = infoOfSpan.get(span);
  if (info !== undefined && !info.provisional) return info;
  const rpc = rpcOf(context as OtelContext);
  if (info !== undefined) {
    // Provisional: has the router matched a route since?
    const routed = routedEndpoint(rpc, span);
    if (routed === undefined) return info;
    const l = info.labels;
    info = freezeInfo({ spanId: l.span_id!, traceId: l.trace_id! }, l.local_root_span_id!, routed, false);
  } else {
    const sc = span.spanContext();
    // A remote span (a parent extracted from headers and entered as it is)
    // is no span of this process: its context gets no span labels.
    if (!validSpanContext(sc) || sc.isRemote === true) return undefined;
    info = newSpanInfo(span, sc, rpc);
  }
  infoOfSpan.set(span, info);
  return info;
}

function hasSpanLabels(labels: Labels): boolean {
  return (
    labels.span_id !== undefined ||
    labels.local_root_span_id !== undefined ||
    labels.trace_id !== undefined ||
    labels.trace_endpoint !== undefined
  );
}

// The set of a set's labels other than span labels: for a span set, what the
// span was entered under (recorded when labelprof/otel makes it); worked out
// (and interned) for a set that has span labels from elsewhere (withLabels
// inside a span merges onto the span's set).
const baseOfSet = new WeakMap<LabelSet, LabelSet>();
function baseOf(set: LabelSet): LabelSet {
  if (set.spanBase !== undefined) return set.spanBase;
  if (!hasSpanLabels(set.labels)) return set;
  let base = baseOfSet.get(set);
  if (base !== undefined) return base;
  const rest: Record<string, string> = { ...set.labels };
  for (const k of SPAN_LABEL_KEYS) delete rest[k];
  base = intern(rest);
  baseOfSet.set(set, base);
  return base;
}

/** The set for `info`'s span entered under `base`: made once per (span, base) in a row. */
function spanSet(info: SpanInfo, base: LabelSet): LabelSet {
  if (info.base === base && info.set !== undefined) return info.set;
  // The span's own frozen labels serve as they are when nothing else is set.
  const set = uninternedSet(base === EMPTY ? info.labels : { ...base.labels, ...info.labels }, base);
  if (set.id === OVERFLOW_ID) return set;
  info.base = base;
  info.set = set;
  return set;
}

/**
 * The set to run under when `context` becomes active, from `current`:
 * `context`'s span's labels over the current ones; the current ones minus
 * the span labels when the context has no span (context.with(ROOT_CONTEXT,
 * ...)); `current` itself when re-entering the span already labelled.
 */
function setForContext(context: unknown, current: LabelSet): LabelSet {
  const info = spanInfoOf(context);
  if (info === undefined) return baseOf(current);
  if (current === info.set) return current;
  // Re-entering the span that is already labelled (bind, nested with, with
  // labels of withLabels on top): nothing to change.
  const c = current.labels;
  if (c.span_id === info.labels.span_id && c.trace_endpoint === info.labels.trace_endpoint) return current;
  return spanSet(info, baseOf(current));
}

// --- wrapping the context manager ---------------------------------------------

const ORIGINALS = Symbol('labelprof.otel.originals');
interface Wrapped extends ContextManager {
  [ORIGINALS]?: { with: AnyFunction; bind: AnyFunction; attach: AnyFunction | undefined; own: { with: boolean; bind: boolean; attach: boolean } };
}

function wrapWith(original: AnyFunction): AnyFunction {
  return function with_(this: unknown, context: unknown) {
    if (!isProfiling()) return Reflect.apply(original, this, arguments);
    const current = currentSet();
    const set = setForContext(context, current);
    if (set === current) return Reflect.apply(original, this, arguments);
    return runWithApply(set, original, this, arguments);
  };
}

// For managers whose `bind` does not call their own `with` (the SDK's do,
// and are left alone: see wrapManager). A function bound while no profile
// runs is left as it is, so binding costs nothing then.
function wrapBind(original: AnyFunction): AnyFunction {
  return function bind_(this: unknown, context: unknown, target: unknown) {
    const bound = Reflect.apply(original, this, arguments);
    if (!isProfiling() || typeof target !== 'function' || typeof bound !== 'function') return bound;
    const labelled = function (this: unknown) {
      if (!isProfiling()) return Reflect.apply(bound as AnyFunction, this, arguments);
      const current = currentSet();
      const set = setForContext(context, current);
      if (set === current) return Reflect.apply(bound as AnyFunction, this, arguments);
      return runWithApply(set, bound as AnyFunction, this, arguments);
    };
    Object.defineProperty(labelled, 'length', { configurable: true, value: (bound as AnyFunction).length });
    return labelled;
  };
}

// context.attach(context) (API 1.10, experimental) makes a context current
// imperatively, and the token's dispose() makes the previous one current
// again: the labels follow the same way (as setLabels would, then back).
function wrapAttach(original: AnyFunction): AnyFunction {
  return function attach_(this: unknown, context: unknown) {
    if (!isProfiling()) return Reflect.apply(original, this, arguments);
    const before = currentSet();
    const next = setForContext(context, before);
    const token = Reflect.apply(original, this, arguments) as { dispose(): void } | null | undefined;
    if (next === before || token === null || typeof token !== 'object' || typeof token.dispose !== 'function') return token;
    enterWith(next);
    let restored = false;
    const dispose = () => {
      token.dispose();
      if (restored) return;
      restored = true;
      enterWith(before);
    };
    const labelled = Object.create(token) as { dispose(): void };
    labelled.dispose = dispose;
    const disposeSymbol = (Symbol as { dispose?: symbol }).dispose;
    if (disposeSymbol !== undefined) (labelled as unknown as Record<symbol, () => void>)[disposeSymbol] = dispose;
    return labelled;
  };
}

function isManager(value: unknown): value is ContextManager {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ContextManager).with === 'function' &&
    typeof (value as ContextManager).bind === 'function'
  );
}

function wrapManager(manager: Wrapped): void {
  if (manager[ORIGINALS] !== undefined) return;
  const own = (k: string) => Object.prototype.hasOwnProperty.call(manager, k);
  const attach = typeof manager.attach === 'function' ? manager.attach : undefined;
  const originals = { with: manager.with, bind: manager.bind, attach, own: { with: own('with'), bind: own('bind'), attach: own('attach') } };
  Object.defineProperty(manager, ORIGINALS, { value: originals, configurable: true });
  manager.with = wrapWith(originals.with);
  if (!bindCallsWith(manager, originals)) manager.bind = wrapBind(originals.bind);
  if (attach !== undefined) manager.attach = wrapAttach(attach);
}

// Whether the manager's bind goes through its own `with` (the SDK's
// AbstractAsyncHooksContextManager does): then `with` is the one wrapper
// needed, and bound functions cost nothing more. Found by binding a no-op to
// the active context and calling it, with `with` briefly instrumented.
function bindCallsWith(manager: Wrapped, originals: { with: AnyFunction; bind: AnyFunction }): boolean {
  const wrapped = manager.with;
  let called = false;
  manager.with = function probeWith(this: unknown) {
    called = true;
    return Reflect.apply(originals.with, this, arguments);
  };
  try {
    const active = (manager as unknown as { active?: () => unknown }).active;
    if (typeof active !== 'function') return false;
    const bound = Reflect.apply(originals.bind, manager, [Reflect.apply(active, manager, []), () => undefined]);
    if (typeof bound === 'function') bound();
    return called;
  } catch {
    return false;
  } finally {
    manager.with = wrapped;
  }
}

function unwrapManager(manager: Wrapped): void {
  const originals = manager[ORIGINALS];
  if (originals === undefined) return;
  const restore = (k: 'with' | 'bind' | 'attach', value: AnyFunction | undefined) => {
    if (originals.own[k]) (manager as unknown as Record<string, unknown>)[k] = value;
    else delete (manager as unknown as Record<string, unknown>)[k];
  };
  restore('with', originals.with);
  restore('bind', originals.bind);
  if (originals.attach !== undefined) restore('attach', originals.attach);
  delete manager[ORIGINALS];
}

// --- the API's global registry ------------------------------------------------

interface Registry {
  context?: unknown;
}
let hooked:
  | { key: symbol; registry: Registry | undefined; lastManager: unknown; wrapped: Set<Wrapped> }
  | undefined;

function noteManager(state: NonNullable<typeof hooked>): void {
  const manager = state.registry?.context;
  if (manager === state.lastManager) return;
  state.lastManager = manager;
  if (isManager(manager)) {
    wrapManager(manager);
    state.wrapped.add(manager);
  }
}

/** Wraps the registered context manager now and any registered later. Idempotent. */
export function hookContextManager(apiMajor: string): void {
  if (hooked !== undefined) return;
  const key = Symbol.for(`opentelemetry.js.api.${apiMajor}`);
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  const existing = Object.getOwnPropertyDescriptor(g, key);
  if (existing !== undefined && existing.configurable === false) {
    throw new Error(`labelprof/otel: the OpenTelemetry API registry on globalThis cannot be observed (non-configurable)`);
  }
  registerLabelRewrite(completeEndpoint);
  const state = { key, registry: g[key], lastManager: undefined as unknown, wrapped: new Set<Wrapped>() };
  hooked = state;
  Object.defineProperty(g, key, {
    configurable: true,
    enumerable: existing?.enumerable ?? true,
    get() {
      // Every API call reads this slot: a manager registered since the last
      // read is wrapped before the API uses it.
      if (state.registry !== undefined && state.registry.context !== state.lastManager) noteManager(state);
      return state.registry;
    },
    set(value: Registry | undefined) {
      state.registry = value;
      noteManager(state);
    },
  });
  noteManager(state);
}

/** Undoes hookContextManager: the registry slot becomes a plain property again, managers unwrapped. */
export function unhookContextManager(): void {
  const state = hooked;
  if (state === undefined) return;
  hooked = undefined;
  Object.defineProperty(globalThis, state.key, {
    configurable: true,
    enumerable: true,
    writable: true,
    value: state.registry,
  });
  for (const m of state.wrapped) unwrapManager(m);
}

export function contextManagerHooked(): boolean {
  return hooked !== undefined;
}
