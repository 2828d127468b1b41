// Semgrep test for rmd-ts-fetch-bypasses-auth-wrapper (seed 001, item 5.4).
const BASE = '/api/auth'

export function getAccessToken(): string | null {
  return localStorage.getItem('access_token')
}

export async function apiGetMe(): Promise<unknown> {
  const token = getAccessToken()
  // ruleid: rmd-ts-fetch-bypasses-auth-wrapper
  const resp = await fetch(`${BASE}/me`, { headers: { Authorization: `Bearer ${token}` } })
  if (!resp.ok) throw new Error('Not authenticated')
  return resp.json()
}

export async function authFetch(input: string, init: RequestInit = {}): Promise<Response> {
  // ok: rmd-ts-fetch-bypasses-auth-wrapper
  const resp = await fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${getAccessToken()}` } })
  return resp
}

export async function apiLogout(): Promise<void> {
  // ruleid: rmd-ts-fetch-bypasses-auth-wrapper
  await fetch(`${BASE}/logout`, { method: 'POST', headers: { 'Authorization': `Bearer ${getAccessToken()}` } })
}

export async function apiLogin(email: string, password: string): Promise<Response> {
  // ok: rmd-ts-fetch-bypasses-auth-wrapper
  return fetch(`${BASE}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) })
}

// the remediated form
export async function apiGetMeFixed(): Promise<unknown> {
  // ok: rmd-ts-fetch-bypasses-auth-wrapper
  const resp = await authFetch(`${BASE}/me`)
  return resp.json()
}
