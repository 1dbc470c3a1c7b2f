-- Argo CD health check for migration.aliyun-operator.dev/DtsMigration.
-- Derived from src/api/dts_migration.rs: status.phase (DtsMigrationPhase), the Ready condition,
-- status.retry / status.errorMessage and status.observedGeneration. Runs under Argo CD's
-- restricted Lua 5.1 (no string or math library).
-- The phase tables below must name every DtsMigrationPhase exactly once; hack/check-addon.sh
-- compares them with the CRD's enum.

-- Incremental replication: Healthy while Ready is True (lag within spec.lagAlertSeconds),
-- Progressing while it catches up.
local READY_GATED = { Replicating = true }
-- Full-only task finished by itself, or stopped for good (spec.stop or a Cutover).
local HEALTHY = { Completed = true, Stopped = true }
-- Retrying: DTS retries after an error for up to 7 days and may then overwrite the destination;
-- it needs attention now, not in a week.
-- (Retrying is Degraded only after RETRY_GRACE_SECONDS of retries, see below.)
local DEGRADED = { PrecheckFailed = true, Failed = true, Invalid = true, Retrying = true }
local RETRY_GRACE_SECONDS = 600
-- spec.suspend (SuspendDtsJob) or the paused annotation.
local SUSPENDED = { Suspended = true, Paused = true }
local PROGRESSING = {
  Pending = true,
  Creating = true,
  Configuring = true,
  Prechecking = true,
  MigratingSchema = true,
  MigratingFull = true,
  Deleting = true,
}

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
  hs.message = "Waiting for the operator to reconcile the DtsMigration"
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

local status = obj.status
local phase = status.phase
local ready = condition("Ready")
local readyMessage = nil
if ready ~= nil then
  readyMessage = ready.message
end
local lag = ""
if status.lag ~= nil then
  lag = ", lag " .. status.lag
end

if READY_GATED[phase] then
  local lagOk = condition("LagWithinThreshold")
  if syncFailure ~= nil then
    hs.status = "Progressing"
    hs.message = syncFailure
  elseif lagOk ~= nil and lagOk.status ~= "True" then
    -- Above spec.lagAlertSeconds, or no fresh sample: catching up, not healthy.
    hs.status = "Progressing"
    hs.message = first(lagOk.message, readyMessage, "Replicating, lag not within threshold" .. lag)
  elseif ready ~= nil and ready.status == "True" then
    hs.status = "Healthy"
    hs.message = first(readyMessage, "Replicating" .. lag)
  else
    hs.status = "Progressing"
    hs.message = first(readyMessage, "Replicating, catching up" .. lag)
  end
  return hs
end

if HEALTHY[phase] then
  hs.status = "Healthy"
  hs.message = first(readyMessage, "DTS task " .. phase)
  return hs
end

if phase == "Retrying" then
  local retryError = nil
  local attempts = ""
  local elapsed = nil
  if status.retry ~= nil then
    retryError = status.retry.error
    elapsed = status.retry.elapsedSeconds
    if status.retry.count ~= nil and status.retry.maxSeconds ~= nil and status.retry.elapsedSeconds ~= nil then
      attempts = " (attempt " .. tostring(status.retry.count) .. ", retrying for "
        .. tostring(status.retry.elapsedSeconds) .. "s of at most " .. tostring(status.retry.maxSeconds) .. "s)"
    end
  end
  -- DTS often recovers from a network blip or a restarted source within minutes; a multi-wave
  -- sync should not fail on that. After RETRY_GRACE_SECONDS it needs a person.
  if elapsed ~= nil and elapsed < RETRY_GRACE_SECONDS then
    hs.status = "Progressing"
    hs.message = "DTS is retrying after an error" .. attempts .. ": " .. first(retryError, status.errorMessage, readyMessage, "no error reported")
    return hs
  end
  hs.status = "Degraded"
  hs.message = "DTS is retrying after an error" .. attempts .. ": " .. first(retryError, status.errorMessage, readyMessage, "no error reported")
  return hs
end

if DEGRADED[phase] then
  hs.status = "Degraded"
  hs.message = first(readyMessage, status.errorMessage, "Phase " .. phase)
  return hs
end

if SUSPENDED[phase] then
  hs.status = "Suspended"
  if phase == "Paused" then
    hs.message = first(readyMessage, "Reconciliation paused by the annotation migration.aliyun-operator.dev/paused")
  else
    hs.message = first(readyMessage, "DTS task suspended by spec.suspend")
  end
  return hs
end

-- PROGRESSING phases and phases newer than this script.
hs.status = "Progressing"
if phase == nil then
  hs.message = first(readyMessage, "Waiting for the operator to set a phase")
else
  hs.message = first(readyMessage, "Phase " .. phase)
end
return hs
