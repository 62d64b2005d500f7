import type { ServiceName } from './services';
import type { ApiErrorBody } from './types';

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: ApiErrorBody };

const isErrorBody = (value: unknown): value is ApiErrorBody =>
  typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'string';

let accessToken: string | null = null;
/** The signed-in user's token, sent with every call (session.tsx keeps it current). */
export function setAccessToken(token: string | null): void {
  accessToken = token;
}

/** Calls a service through this server's proxy (/api/<service>/...), with the user's token; never throws. */
export async function callService<T>(service: ServiceName, path: string, init: { method?: string; body?: unknown } = {}): Promise<ApiResult<T>> {
  try {
    const response = await fetch(`/api/${service}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      cache: 'no-store',
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    if (response.ok) return { ok: true, status: response.status, body: body as T };
    const error = isErrorBody(body) ? body : { error: `HTTP_${response.status}`, message: typeof body === 'string' && body ? body : response.statusText };
    return { ok: false, status: response.status, error };
  } catch (error) {
    return { ok: false, status: 0, error: { error: 'NETWORK', message: error instanceof Error ? error.message : String(error) } };
  }
}
