import { type NextRequest, NextResponse } from 'next/server';

export const dynamic = 'force-dynamic';

const CUSTOMER_ID = /^[\p{L}\p{N}._@-]{1,64}$/u;

/**
 * Development sign-in: a token from npm start's development issuer (DEV_ISSUER_URL, set only
 * when npm start runs one) for a customer or the operator, asked for as any client of an
 * authorization server would. There is no password: whoever opens this UI may be anyone,
 * which is why it exists only in development mode, beside an issuer on this machine.
 */
export async function POST(request: NextRequest) {
  const issuer = process.env.DEV_ISSUER_URL;
  if (!issuer) return NextResponse.json({ error: 'NOT_FOUND', message: 'sign-in: development sign-in is off (no development issuer)' }, { status: 404 });
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return NextResponse.json({ error: 'MALFORMED_JSON', message: 'body: not valid JSON' }, { status: 400 });
  }
  const role = typeof body === 'object' && body !== null && 'role' in body ? body.role : undefined;
  const customerId = typeof body === 'object' && body !== null && 'customerId' in body && typeof body.customerId === 'string' ? body.customerId.trim() : '';
  if (role !== 'customer' && role !== 'operator') {
    return NextResponse.json({ error: 'VALIDATION_FAILED', message: 'body.role: must be customer or operator' }, { status: 400 });
  }
  if (role === 'customer' && !CUSTOMER_ID.test(customerId)) {
    return NextResponse.json({ error: 'VALIDATION_FAILED', message: 'body.customerId: 1 to 64 letters, digits, . _ @ or -' }, { status: 400 });
  }
  const form = new URLSearchParams({ grant_type: 'client_credentials', role, ...(role === 'customer' ? { subject: customerId } : {}) });
  try {
    const discovery: unknown = await (await fetch(`${issuer}/.well-known/openid-configuration`, { cache: 'no-store' })).json();
    const tokenEndpoint = typeof discovery === 'object' && discovery !== null && 'token_endpoint' in discovery ? String(discovery.token_endpoint) : `${issuer}/token`;
    const response = await fetch(tokenEndpoint, { method: 'POST', body: form, cache: 'no-store' });
    const answer: unknown = await response.json();
    const accessToken = typeof answer === 'object' && answer !== null && 'access_token' in answer ? answer.access_token : undefined;
    if (!response.ok || typeof accessToken !== 'string') {
      return NextResponse.json({ error: 'SIGN_IN_FAILED', message: `sign-in: the issuer refused (${JSON.stringify(answer)})` }, { status: 502 });
    }
    return NextResponse.json({ accessToken }, { headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return NextResponse.json({ error: 'SIGN_IN_FAILED', message: `sign-in: the issuer did not answer (${error instanceof Error ? error.message : String(error)})` }, { status: 502 });
  }
}
