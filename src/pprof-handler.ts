// The pull endpoint, as Go's net/http/pprof has it:
//   GET /debug/pprof/profile?seconds=N   (default 30)
// answers with a gzipped, labelled CPU profile of the next N seconds. It is
// what `go tool pprof http://host:port/debug/pprof/profile?seconds=5`,
// Pyroscope/Grafana Alloy and Parca scrape.
//
// A plain node:http request handler, and Express/Fastify-style middleware
// (it calls next() for paths it does not serve). While a ContinuousProfiler
// runs, it serves a window of that profiler (the periods go on); otherwise
// it runs a profile of its own for the request. A client that goes away
// mid-profile leaves nothing running.
import type { IncomingMessage, ServerResponse } from 'node:http';

import { ContinuousProfiler } from './continuous';
import { invalidType, isPlainObject } from './errors';
import { resolveOptions, type StartOptions } from './options';
import type { Profile } from './profile';
import { samplingOwner, start } from './profiler';

export interface PprofHandlerOptions {
  /** Options for the profile a request runs when no ContinuousProfiler is running. */
  startOptions?: StartOptions;
}

export const DEFAULT_PROFILE_SECONDS = 30;
export const MAX_PROFILE_SECONDS = 3600;

type Next = (err?: unknown) => void;

/** Parses `seconds` as Go does: a positive number; here at most an hour. Returns the value or why not. */
export function parseSeconds(raw: string | null): number | string {
  if (raw === null || raw === '') return DEFAULT_PROFILE_SECONDS;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) return `seconds must be a number of seconds, got ${JSON.stringify(raw)}`;
  const value = Number(raw);
  if (!(value > 0)) return `seconds must be above 0, got ${raw}`;
  if (value > MAX_PROFILE_SECONDS) return `seconds must be at most ${MAX_PROFILE_SECONDS}, got ${raw}`;
  return value;
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(`${message}\n`);
}

function profileFor(seconds: number, signal: AbortSignal, startOptions: StartOptions | undefined): Promise<Profile> {
  const owner = samplingOwner();
  if (owner instanceof ContinuousProfiler) return owner.profile(seconds, { signal });
  const profiler = start(startOptions);
  return new Promise<Profile>((resolve, reject) => {
    const finish = (): void => {
      signal.removeEventListener('abort', abort);
      clearTimeout(timer);
      if (!profiler.running) return;
      profiler.stop().then(resolve, reject);
    };
    const abort = (): void => {
      finish();
      reject(new Error('labelprof: the profile request was aborted'));
    };
    const timer = setTimeout(finish, seconds * 1000);
    signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * A request handler serving GET /debug/pprof/profile?seconds=N. Mount it on
 * a node:http server (`http.createServer(pprofHandler())`) or as middleware
 * (`app.use(pprofHandler())`); other paths get 404, or next() as middleware.
 */
export function pprofHandler(options?: PprofHandlerOptions): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  if (options !== undefined && !isPlainObject(options)) throw invalidType('options', 'an object', options);
  const startOptions = options?.startOptions as StartOptions | undefined;
  if (startOptions !== undefined) resolveOptions(startOptions); // bad options fail here, not per request
  return function labelprofPprofHandler(req: IncomingMessage, res: ServerResponse, next?: Next): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Mounted under /debug/pprof by a framework, the path it sees is /profile.
    const served = url.pathname === '/debug/pprof/profile' || url.pathname === '/profile';
    if (!served) {
      if (typeof next === 'function') next();
      else fail(res, 404, `labelprof serves /debug/pprof/profile, not ${url.pathname}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      fail(res, 405, `${req.method} is not allowed: use GET`);
      return;
    }
    const seconds = parseSeconds(url.searchParams.get('seconds'));
    if (typeof seconds === 'string') {
      fail(res, 400, seconds);
      return;
    }
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    let request: Promise<Profile>;
    try {
      request = profileFor(seconds, abort.signal, startOptions);
    } catch (err) {
      res.off('close', onClose);
      fail(res, 409, `could not profile: ${(err as Error).message}`);
      return;
    }
    request
      .then((profile) => profile.encode())
      .then(
        (bytes) => {
          res.off('close', onClose);
          if (abort.signal.aborted || res.destroyed) return;
          res.writeHead(200, {
            'Content-Type': 'application/octet-stream',
            'Content-Disposition': 'attachment; filename="profile"',
            'X-Content-Type-Options': 'nosniff',
            'Content-Length': bytes.length,
          });
          res.end(req.method === 'HEAD' ? undefined : bytes);
        },
        (err: Error) => {
          res.off('close', onClose);
          if (abort.signal.aborted || res.destroyed) return;
          fail(res, 500, `could not profile: ${err.message}`);
        },
      );
  };
}
