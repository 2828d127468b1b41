// Semgrep test for rmd-ts-token-in-url (seed 001, item 1.7).
import { authFetch, getAccessToken } from './auth'

const BASE = '/api'

export function subscribe(projectId: string, onEvent: (e: unknown) => void): () => void {
  const token = getAccessToken()
  // ruleid: rmd-ts-token-in-url
  const source = new EventSource(`${BASE}/events/${projectId}?token=${token}`)
  source.onmessage = (msg) => onEvent(JSON.parse(msg.data))
  return () => source.close()
}

export async function download(projectId: string, name: string): Promise<Blob> {
  // ruleid: rmd-ts-token-in-url
  const resp = await fetch(`${BASE}/projects/${projectId}/artifacts/${name}?access_token=${getAccessToken()}`)
  return resp.blob()
}

export function openSocket(projectId: string, accessToken: string): WebSocket {
  // ruleid: rmd-ts-token-in-url
  return new WebSocket(`wss://example.test/ws/${projectId}?v=2&token=${accessToken}`)
}

export async function legacy(token: string) {
  // ruleid: rmd-ts-token-in-url
  return fetch('/api/export?token=' + token)
}

// the remediated form: a 60-second token scoped to one project
export async function subscribeScoped(projectId: string): Promise<EventSource> {
  const { token: sseToken } = await (await authFetch(`${BASE}/events/${projectId}/token`, { method: 'POST' })).json()
  // ok: rmd-ts-token-in-url
  return new EventSource(`${BASE}/events/${projectId}?token=${sseToken}`)
}

export async function listPage(page: number) {
  // ok: rmd-ts-token-in-url
  return authFetch(`${BASE}/projects?page=${page}&limit=20`)
}

export async function me() {
  // ok: rmd-ts-token-in-url
  return fetch(`${BASE}/auth/me`, { headers: { Authorization: `Bearer ${getAccessToken()}` } })
}
