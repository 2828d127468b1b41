// Semgrep test for rmd-ts-parallel-refresh (seed 001, item 5.3).
const BASE = '/api/auth'

export async function apiRefresh(): Promise<boolean> {
  const refreshToken = localStorage.getItem('refresh_token')
  if (!refreshToken) return false
  // ruleid: rmd-ts-parallel-refresh
  const resp = await fetch(`${BASE}/refresh`, { method: 'POST', body: JSON.stringify({ refresh_token: refreshToken }) })
  return resp.ok
}

export const refreshSession = async () => {
  // ruleid: rmd-ts-parallel-refresh
  const resp = await fetch('/api/auth/refresh', { method: 'POST', credentials: 'include' })
  return resp.ok
}

// the remediated form: every concurrent caller shares the same in-flight promise
let refreshPromise: Promise<boolean> | null = null

export function apiRefreshShared(): Promise<boolean> {
  if (refreshPromise) return refreshPromise
  refreshPromise = _doRefresh().finally(() => {
    refreshPromise = null
  })
  return refreshPromise
}

async function _doRefresh(): Promise<boolean> {
  // ok: rmd-ts-parallel-refresh
  const resp = await fetch(`${BASE}/refresh`, { method: 'POST' })
  return resp.ok
}

export async function loadProjects(): Promise<unknown> {
  // ok: rmd-ts-parallel-refresh
  return (await fetch('/api/projects')).json()
}
