// Semgrep test for rmd-ts-promise-all-in-view (seed 001, item 5.5).
import React, { useCallback, useEffect, useState } from 'react'
import { api } from '../api/client'
import { useFetch } from '../hooks/useFetch'

export default function Dashboard() {
  const [projects, setProjects] = useState([])
  const [usage, setUsage] = useState(null)
  useEffect(() => {
    // ruleid: rmd-ts-promise-all-in-view
    Promise.all([api.listProjects(), api.usageSummary()]).then(([p, u]) => {
      setProjects(p)
      setUsage(u)
    })
  }, [])
  return <div>{projects.length}</div>
}

export const ProjectDetail = ({ projectId }: { projectId: string }) => {
  const [state, setState] = useState<unknown>(null)
  const load = useCallback(async () => {
    // ruleid: rmd-ts-promise-all-in-view
    const [p, t] = await Promise.all([api.getProject(projectId), api.listTasks(projectId)])
    setState({ p, t })
  }, [projectId])
  useEffect(() => { load() }, [load])
  return <pre>{JSON.stringify(state)}</pre>
}

// the remediated forms
export function Usage() {
  const summary = useFetch(() => api.usageSummary())
  const budget = useFetch(() => api.budget())
  return <div>{summary.data && budget.data ? 'ok' : 'loading'}</div>
}

export function TaskDetail({ taskId }: { taskId: string }) {
  useEffect(() => {
    // ok: rmd-ts-promise-all-in-view
    Promise.allSettled([api.getTask(taskId), api.listTasks(taskId)]).then((results) => console.log(results))
  }, [taskId])
  return null
}

// not a view: a data helper whose callers want all-or-nothing
export async function loadAll(ids: string[]) {
  // ok: rmd-ts-promise-all-in-view
  return Promise.all(ids.map((id) => api.getTask(id)))
}
