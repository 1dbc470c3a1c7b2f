-- Argo CD health check for migration.aliyun-operator.dev/DataSource.
-- Derived from src/api/data_source.rs: status.phase (DataSourcePhase), the Ready condition and
-- status.observedGeneration. Runs under Argo CD's restricted Lua 5.1 (no string or math
-- library): only comparisons, `..` and base functions.
-- The phase tables below must name every DataSourcePhase exactly once; hack/check-addon.sh
-- compares them with the CRD's enum.

-- Ready condition True -> Healthy (the data source is resolved; rescans keep it Healthy).
local READY_GATED = { Resolving = true, Scanning = true, Ready = true }
-- Name -> id resolution failed, or the service reports an error: a human must act.
local DEGRADED = { NotFound = true, Ambiguous = true, Error = true }
-- migration.aliyun-operator.dev/paused: "true".
local SUSPENDED = { Paused = true }

local hs = {}

local function condition(ctype)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

-- The first argument that is a non-empty string.
local function first(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= "" then
      return v
    end
  end
  return ""
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the DataSource"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- One rule on every kind: Stalled=True means the operator cannot go on until a person acts (a
-- spec or Secret to fix, or the cloud failing for longer than the operator's grace period); the
-- operator sets it, with the reason, so this script needs no clock.
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" and obj.status.phase ~= "Paused" then
  hs.status = "Degraded"
  hs.message = first(stalled.message, stalled.reason, "Stalled")
  return hs
end
-- Synced=False: the last reconcile did not reach the cloud, so live values (lag, a resolved
-- source) may be old. Such a phase is never Healthy on old values.
local synced = condition("Synced")
local syncFailure = nil
if synced ~= nil and synced.status == "False" then
  syncFailure = "Not in sync with the cloud (" .. first(synced.reason, "Synced=False") .. "): "
    .. first(synced.message, "the last reconcile failed")
end

local phase = obj.status.phase
local ready = condition("Ready")
local readyMessage = nil
if ready ~= nil then
  readyMessage = ready.message
end

if SUSPENDED[phase] then
  hs.status = "Suspended"
  hs.message = first(readyMessage, "Reconciliation paused by the annotation migration.aliyun-operator.dev/paused")
  return hs
end

if DEGRADED[phase] then
  hs.status = "Degraded"
  hs.message = first(readyMessage, "Phase " .. phase)
  return hs
end

if READY_GATED[phase] and ready ~= nil and ready.status == "True" then
  if syncFailure ~= nil then
    hs.status = "Progressing"
    hs.message = syncFailure
    return hs
  end
  hs.status = "Healthy"
  hs.message = first(readyMessage, "Data source resolved")
  return hs
end

hs.status = "Progressing"
if phase == nil then
  hs.message = first(readyMessage, "Waiting for the operator to set a phase")
else
  hs.message = first(readyMessage, "Phase " .. phase)
end
return hs
