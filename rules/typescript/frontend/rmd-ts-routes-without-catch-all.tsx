// Semgrep test for rmd-ts-routes-without-catch-all (seed 001, item 5.2).
import React from 'react'
import { BrowserRouter, Route, Routes } from 'react-router-dom'

export default function App() {
  // ruleid: rmd-ts-routes-without-catch-all
  const routes = <Routes>
        <Route path="/login" element={<Login />} />
        <Route element={<Layout />}>
          <Route path="/" element={<Dashboard />} />
          <Route path="/projects/:projectId" element={<ProjectDetail />} />
        </Route>
    </Routes>
  return <BrowserRouter>{routes}</BrowserRouter>
}

// the remediated form: a catch-all inside the layout group and outside it
export function FixedApp() {
  // ok: rmd-ts-routes-without-catch-all
  const routes = <Routes>
        <Route path="/login" element={<Login />} />
        <Route element={<Layout />}>
          <Route path="/" element={<Dashboard />} />
          <Route path="*" element={<NotFound />} />
        </Route>
        <Route path="*" element={<NotFound />} />
    </Routes>
  return <BrowserRouter>{routes}</BrowserRouter>
}

export function SettingsRoutes() {
  return (
    // ok: rmd-ts-routes-without-catch-all
    <Routes>
      <Route path="profile" element={<Profile />} />
      <Route path={'*'} element={<NotFound />} />
    </Routes>
  )
}
